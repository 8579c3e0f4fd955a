"""Seed and ablation sweeps: train each (recipe, seed), evaluate on val and test, write one JSON each.

    python -m cmhl.sweep --plan ablation --out runs/sweep --jobs 6 [--encoder DIR] [--data DIR]

Jobs run as parallel subprocesses (a GPU has room for several of these small models). Selection of
the shipped seed is by validation only; test figures are reported, never used to choose.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1] / "recipes"

PLANS = {
    "ablation": [("ce", s) for s in (0, 1, 2)]
    + [("default", s) for s in (0, 1, 2)]
    + [("heads", 0), ("circumplex", 0), ("contradiction", 0), ("distress_ce", 0)],
    "quick": [("ce", 0), ("default", 0)],
    "smoke": [("smoke", 0), ("smoke", 1)],
}


def recipe_path(name: str) -> Path:
    top = RECIPES / f"{name}.toml"
    return top if top.is_file() else RECIPES / "ablation" / f"{name}.toml"


def run_one(
    name: str, seed: int, out: Path, encoder: str | None, data: str | None, epochs: int | None
) -> dict:
    import numpy as np

    from .checkpoint import load_checkpoint
    from .config import TrainConfig
    from .evaluation import evaluate
    from .inference import predict_texts
    from .training import train

    cfg = TrainConfig.from_toml(recipe_path(name))
    cfg.seed = seed
    cfg.output_dir = str(out / f"{name}_s{seed}")
    if encoder:
        cfg.encoder = encoder
    if data:
        cfg.data_dir = data
    if epochs:
        cfg.epochs = epochs
    t0 = time.time()
    result = train(cfg, show_progress=False, return_model=True)
    ckpt = load_checkpoint(result.path, device=result.device)
    rec = {
        "name": name,
        "seed": seed,
        "train_seconds": round(time.time() - t0, 1),
        "path": str(result.path),
        "history": result.history,
    }
    for task in cfg.tasks:
        for split in ("val", "test"):
            rep = evaluate(ckpt, task, cfg.data_dir, split)
            rep.pop("confusion", None) if split == "val" else None
            rec[f"{task}_{split}"] = rep
    if "emotion" in cfg.tasks:  # fp16 storage vs the fp32 model it came from
        from .data import emotion_path, read_emotion_file

        texts = [
            e.text for e in read_emotion_file(emotion_path(cfg.data_dir, "test"), ckpt.config.emotion_labels)
        ]
        a = predict_texts(
            result.model.to(result.device).float(), ckpt.tokenizer, texts
        ).emotion_logits.argmax(1)
        b = predict_texts(ckpt.model, ckpt.tokenizer, texts).emotion_logits.argmax(1)
        rec["fp16_vs_fp32_emotion_test_agreement"] = float(np.mean(a == b))
    (out / f"{name}_s{seed}.json").write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", choices=sorted(PLANS), default="ablation")
    ap.add_argument("--one", nargs=2, metavar=("RECIPE", "SEED"), help="run one job in this process")
    ap.add_argument("--out", type=Path, default=Path("runs/sweep"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--encoder")
    ap.add_argument("--data")
    ap.add_argument("--epochs", type=int)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.one:
        run_one(a.one[0], int(a.one[1]), a.out, a.encoder, a.data, a.epochs)
        return 0
    extra = [f"--{k}={v}" for k in ("encoder", "data", "epochs") if (v := getattr(a, k))]

    def launch(job):
        name, seed = job
        log = open(a.out / f"{name}_s{seed}.log", "w")
        cmd = [sys.executable, "-m", "cmhl.sweep", "--one", name, str(seed), "--out", str(a.out), *extra]
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
        print(f"{name} seed {seed}: exit {rc}", flush=True)
        return rc

    with ThreadPoolExecutor(a.jobs) as pool:
        codes = list(pool.map(launch, PLANS[a.plan]))
    return int(any(codes))


if __name__ == "__main__":
    sys.exit(main())
