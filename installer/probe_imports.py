"""Which `transformers` modules does the app import at run time? (build-venv helper, not shipped)

    python installer/probe_imports.py OUT.json

transformers imports lazily (`_LazyModule`, `importlib.import_module` on model-type names), so
PyInstaller's static analysis cannot see what the auto classes load. This script runs the app's own
code paths in the build venv — load the shipped (BERT) checkpoint, score posts, explain one; then the
same for a tiny RoBERTa checkpoint (installer/tiny_roberta.py) — and writes, as JSON, the sorted
lists of `transformers.*`, `torch.*` and `sympy.*` modules that were imported. The spec makes the
transformers ones hidden imports and excludes every other `transformers.models.<x>` package, so the
bundle carries BERT, RoBERTa and the auto classes instead of all ~500 model families; it also leaves
out the parts of torch's compiler (torch._inductor), torch's test helpers and sympy that nothing
imported.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def exercise(folder: Path) -> None:
    from cmhl.checkpoint import load_checkpoint

    from cmhl_desktop.core.attribution import Explainer
    from cmhl_desktop.core.scoring import Scorer, ScoringOptions

    ckpt = load_checkpoint(folder)
    texts = ["I can't sleep and everything feels pointless.", "", "Booked a table for Friday!"]
    # both precisions, whatever this CPU supports: the clinic's CPU may take the other path
    for bf16 in (False, True):
        Scorer(ckpt, ScoringOptions(bf16=bf16)).score(texts)
        Explainer(ckpt, segments=2, n_steps=4, max_steps=4, bf16=bf16).explain([texts[0]], "distress", None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.path[:0] = [str(ROOT), str(ROOT / "model"), str(ROOT / "installer")]
    from cmhl_desktop.core.offline import go_offline

    go_offline()
    import tiny_roberta

    exercise(ROOT / "model" / "checkpoints" / "cmhl-minilm-v2")
    with tempfile.TemporaryDirectory(prefix="cmhl-probe-") as tmp:
        exercise(tiny_roberta.make(Path(tmp) / "tiny-roberta"))
    # the auto-class entry points the app names (cmhl.modeling, cmhl.checkpoint)
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig  # noqa: F401
    from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

    for name in ("BertTokenizer", "RobertaTokenizer"):
        tokenizer_class_from_name(name)

    def loaded(top: str) -> list[str]:
        return sorted(
            name
            for name, mod in list(sys.modules.items())
            if (name == top or name.startswith(top + "."))
            # real modules only: transformers also registers aliases (e.g. tokenization_bert_fast)
            and getattr(getattr(mod, "__spec__", None), "name", None) == name
        )

    text = json.dumps({top: loaded(top) for top in ("transformers", "torch", "sympy")}, indent=0)
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
