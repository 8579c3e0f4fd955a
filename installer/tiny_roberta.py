"""Write a tiny, randomly initialised RoBERTa CMHL checkpoint (build-venv helper, not shipped).

    python installer/tiny_roberta.py OUT_DIR

The shipped checkpoint is BERT (MiniLM); the design says a RoBERTa folder must work unchanged. This
checkpoint lets the build probe and the frozen smoke test exercise the RoBERTa code paths of
transformers (config, model, byte-level BPE tokenizer) without any download: the tokenizer is
trained on the bundled fictional sample posts, the encoder has 2 layers of width 32, the heads and
flag rules are copied from the shipped checkpoint's config and calibration. Its scores mean nothing.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sample_texts() -> list[str]:
    path = ROOT / "resources" / "samples" / "forum_posts.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    # the longest column of each row is the post text; enough for a tokenizer of a few hundred tokens
    return [max(r, key=len) for r in rows[1:] if r]


def make(out: Path) -> Path:
    sys.path.insert(0, str(ROOT / "model"))
    from cmhl.calibration import Calibration
    from cmhl.checkpoint import save_checkpoint
    from cmhl.config import ModelConfig
    from cmhl.modeling import CMHLModel, tiny_roberta

    shipped = ROOT / "model" / "checkpoints" / "cmhl-minilm-v2"
    encoder, tokenizer = tiny_roberta(sample_texts() * 4, vocab_size=600)
    cfg = ModelConfig.load(shipped / "config.json")
    cfg.name = "tiny-roberta-probe"
    cfg.max_length = 64
    model = CMHLModel(cfg, encoder=encoder)
    calibration = Calibration.load(shipped / "calibration.json")
    return save_checkpoint(out, model, tokenizer, calibration=calibration, metrics={}, card=None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(make(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
