"""`cmhl evaluate`: the metrics of DESIGN's evaluation protocol on a named split, as JSON."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .calibration import Calibration
from .config import ModelConfig
from .data import distress_path, emotion_path, load_task, sha256_file
from .inference import Predictions, predict_texts, softmax
from .losses import pair_index
from .metrics import binary_rates, classification_report, contradiction_rate, valence_agreement


def task_report(task: str, preds: Predictions, y: np.ndarray, cfg: ModelConfig, calib: Calibration) -> dict:
    if task == "emotion":
        probs = softmax(preds.emotion_logits, calib.temperatures.get("emotion", 1.0))
        rep = classification_report(y, probs.argmax(1), cfg.emotion_labels)
        rep["contradiction_rate"] = contradiction_rate(probs, pair_index(cfg.emotion_labels).numpy())
        points = np.array([cfg.circumplex[e] for e in cfg.emotion_labels])
        rep["valence_agreement"] = valence_agreement(preds.valence, probs, points)
        return rep
    probs = softmax(preds.distress_logits, calib.temperatures.get("distress", 1.0))
    rep = classification_report(y, probs.argmax(1), cfg.distress_labels)
    rep["flags"] = {
        r.name: {
            **binary_rates(
                r.scores(probs, cfg.distress_labels), r.positives(y, cfg.distress_labels), r.threshold
            ),
            "target_recall": r.target_recall,
        }
        for r in calib.rules
    }
    rep["truncated_share"] = float(preds.truncated.mean()) if len(preds) else 0.0
    return rep


def evaluate(
    ckpt, task: str, data_dir: Path, split: str = "test", bf16: bool = False, limit: int = 0, progress=None
) -> dict:
    """Evaluate a LoadedCheckpoint on one task and split; the data file's sha256 is recorded."""
    cfg: ModelConfig = ckpt.config
    data_dir = Path(data_dir)
    examples = load_task(data_dir, task, split, cfg.emotion_labels, cfg.distress_labels)
    if limit:
        examples = examples[:limit]
    t0 = time.time()
    preds = predict_texts(
        ckpt.model, ckpt.tokenizer, [e.text for e in examples], bf16=bf16, progress=progress
    )
    rep = task_report(task, preds, np.array([e.label for e in examples]), cfg, ckpt.calibration)
    src = emotion_path(data_dir, split) if task == "emotion" else distress_path(data_dir)
    rep.update(
        {
            "task": task,
            "split": split,
            "data_file": src.name if task == "distress" else f"emotion/{src.name}",
            "data_sha256": sha256_file(src),
            "model_sha256": ckpt.sha256,
            "bf16": bf16,
            "seconds": round(time.time() - t0, 1),
        }
    )
    return rep
