"""`cmhl evaluate`: the metrics of DESIGN's evaluation protocol on a named split, as JSON."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .calibration import Calibration
from .config import ModelConfig
from .data import Example, distress_path, emotion_path, load_task, sha256_file
from .inference import Predictions, predict_texts, segment_max_probs, softmax
from .losses import pair_index
from .metrics import (
    auc_interval,
    binary_rates,
    classification_report,
    contradiction_rate,
    roc_auc,
    valence_agreement,
    wilson_interval,
)
from .triage_data import read_stb, stb_path


def task_report(
    task: str, preds: Predictions, y: np.ndarray, cfg: ModelConfig, calib: Calibration, sources=None
) -> dict:
    if task == "emotion":
        probs = softmax(preds.emotion_logits, calib.temperatures.get("emotion", 1.0))
        rep = classification_report(y, probs.argmax(1), cfg.emotion_labels)
        rep["contradiction_rate"] = contradiction_rate(probs, pair_index(cfg.emotion_labels).numpy())
        points = np.array([cfg.circumplex[e] for e in cfg.emotion_labels])
        rep["valence_agreement"] = valence_agreement(preds.valence, probs, points)
        return rep
    T = calib.temperatures.get("distress", 1.0)
    probs = softmax(preds.distress_logits, T)
    smax = segment_max_probs(preds, T)[0]
    if task == "stb":  # y: 1 = suicidal thoughts or behaviours; every rule should stay off label 0
        return stb_report(probs, smax, y.astype(bool), cfg, calib, sources)
    rep = classification_report(y, probs.argmax(1), cfg.distress_labels)
    rep["flags"] = {
        r.name: {
            **binary_rates(
                r.scores(probs, cfg.distress_labels, smax), r.positives(y, cfg.distress_labels), r.threshold
            ),
            "target_recall": r.target_recall,
            "segments": r.segments,
        }
        for r in calib.rules
    }
    rep["truncated_share"] = float(preds.truncated.mean()) if len(preds) else 0.0
    return rep


def stb_report(
    probs, segment_max, crisis: np.ndarray, cfg: ModelConfig, calib: Calibration, sources=None
) -> dict:
    """Flags on everyday forum text (../shared/data/stb, Low et al.): each rule's flagged share of
    label-1 posts (its recall there) and of label-0 posts, the share of label-0 posts flagged by any
    rule, and the ROC-AUC of the suicidewatch score; each with its 95% interval (`..._ci`: Wilson for
    shares, DeLong for the AUC). With `sources` (the stb `source` of each post): the same shares per
    source (`by_source`), so that false flags on general chatter and on threads about suicide are
    told apart."""
    labels = cfg.distress_labels
    rep: dict = {"n": int(len(crisis)), "n_crisis": int(crisis.sum()), "n_other": int((~crisis).sum())}
    fired = np.zeros(len(crisis), dtype=bool)

    def ci(hit: np.ndarray, on: np.ndarray) -> list[float]:
        return list(wilson_interval(int(hit[on].sum()), int(on.sum())))

    rep["flags"] = {}
    for r in calib.rules:
        sc = r.scores(probs, labels, segment_max)
        hit = sc >= r.threshold
        fired |= hit
        rep["flags"][r.name] = {
            "threshold": float(r.threshold),
            "flagged_crisis": float(hit[crisis].mean()) if crisis.any() else 0.0,
            "flagged_other": float(hit[~crisis].mean()) if (~crisis).any() else 0.0,
            "flagged_crisis_ci": ci(hit, crisis),
            "flagged_other_ci": ci(hit, ~crisis),
            "segments": r.segments,
        }
        if r.kind == "class" and r.cls == "suicidewatch":
            rep["suicidewatch_recall"] = rep["flags"][r.name]["flagged_crisis"]
            rep["suicidewatch_recall_ci"] = rep["flags"][r.name]["flagged_crisis_ci"]
            rep["suicidewatch_auc"] = roc_auc(sc, crisis)
            rep["suicidewatch_auc_ci"] = list(auc_interval(sc, crisis))
    rep["any_rule_flagged_other"] = float(fired[~crisis].mean()) if (~crisis).any() else 0.0
    rep["any_rule_flagged_crisis"] = float(fired[crisis].mean()) if crisis.any() else 0.0
    rep["any_rule_flagged_other_ci"] = ci(fired, ~crisis)
    rep["any_rule_flagged_crisis_ci"] = ci(fired, crisis)
    if sources is not None:
        src = np.asarray(sources)
        rep["by_source"] = {}
        for name in sorted(set(src.tolist())):
            on = src == name
            rep["by_source"][name] = {
                "n_crisis": int((on & crisis).sum()),
                "n_other": int((on & ~crisis).sum()),
                "any_rule_flagged_crisis": float(fired[on & crisis].mean()) if (on & crisis).any() else None,
                "any_rule_flagged_other": float(fired[on & ~crisis].mean()) if (on & ~crisis).any() else None,
                "any_rule_flagged_other_ci": ci(fired, on & ~crisis),
            }
    return rep


def evaluate(
    ckpt, task: str, data_dir: Path, split: str = "test", bf16: bool = False, limit: int = 0, progress=None
) -> dict:
    """Evaluate a LoadedCheckpoint on one task and split; the data file's sha256 is recorded."""
    cfg: ModelConfig = ckpt.config
    data_dir = Path(data_dir)
    sources = None
    if task == "stb":
        rows = read_stb(stb_path(data_dir), split)
        examples = [Example(r.text, r.label) for r in rows]
        sources = [r.source for r in rows]
    else:
        examples = load_task(data_dir, task, split, cfg.emotion_labels, cfg.distress_labels)
    if limit:
        examples = examples[:limit]
        sources = sources[:limit] if sources is not None else None
    t0 = time.time()
    preds = predict_texts(
        ckpt.model, ckpt.tokenizer, [e.text for e in examples], bf16=bf16, progress=progress
    )
    rep = task_report(task, preds, np.array([e.label for e in examples]), cfg, ckpt.calibration, sources)
    src = {"emotion": emotion_path(data_dir, split), "distress": distress_path(data_dir)}.get(
        task, stb_path(data_dir)
    )
    rep.update(
        {
            "task": task,
            "split": split,
            "data_file": f"{src.parent.name}/{src.name}",
            "data_sha256": sha256_file(src),
            "model_sha256": ckpt.sha256,
            "bf16": bf16,
            "seconds": round(time.time() - t0, 1),
        }
    )
    return rep
