"""Metrics of the evaluation protocol (DESIGN.md), plain numpy so they can be checked by hand."""

from __future__ import annotations

import math

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) counts; rows = gold, columns = predicted."""
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def classification_report(y_true, y_pred, labels: list[str]) -> dict:
    cm = confusion(y_true, y_pred, len(labels))
    tp = np.diag(cm).astype(float)
    support = cm.sum(1).astype(float)
    predicted = cm.sum(0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = support.sum()
    return {
        "n": int(total),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1.mean()),
        "weighted_f1": float((f1 * support).sum() / total) if total else 0.0,
        "macro_recall": float(recall.mean()),
        "macro_precision": float(precision.mean()),
        "per_class": {
            lab: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion": {"labels": list(labels), "matrix": cm.tolist()},
    }


def contradiction_rate(probs: np.ndarray, pairs: np.ndarray, threshold: float = 0.3) -> float:
    """Share of posts with both sides of some incompatible pair above `threshold`."""
    if len(probs) == 0 or len(pairs) == 0:
        return 0.0
    both = (probs[:, pairs[:, 0]] > threshold) & (probs[:, pairs[:, 1]] > threshold)
    return float(both.any(1).mean())


def valence_agreement(valence: np.ndarray, probs: np.ndarray, points: np.ndarray) -> dict:
    """How well the valence head agrees with the valence implied by the emotion head."""
    implied = probs @ points[:, 0]
    if len(valence) < 2 or np.std(valence) == 0 or np.std(implied) == 0:
        corr = 0.0
    else:
        corr = float(np.corrcoef(valence, implied)[0, 1])
    return {
        "pearson": corr,
        "sign_agreement": float(np.mean(np.sign(valence) == np.sign(implied))) if len(valence) else 0.0,
        "mae": float(np.mean(np.abs(valence - implied))) if len(valence) else 0.0,
    }


def wilson_interval(k: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    """95% (by default) confidence interval of a proportion k/n: the Wilson score interval (Wilson,
    JASA 1927), which keeps its coverage near 0 and 1 and for small n, unlike the normal
    approximation (Brown, Cai & DasGupta, Statistical Science 2001). (nan, nan) when n == 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if k <= 0 else lo, 1.0 if k >= n else hi)  # exact ends, not 1 - 1e-16


def interval_text(ci, digits: int = 3, label: str = "95% interval") -> str:
    """ " (95% interval 0.851-0.947)" for an interval (low, high); "" for None or a NaN one."""
    if not ci or ci[0] != ci[0]:
        return ""
    return f" ({label} {ci[0]:.{digits}f}-{ci[1]:.{digits}f})"


def auc_interval(scores: np.ndarray, positives: np.ndarray, z: float = 1.959964) -> tuple[float, float]:
    """95% (by default) confidence interval of the ROC-AUC of `scores` for boolean `positives`, from
    DeLong's nonparametric variance (DeLong, DeLong & Clarke-Pearson, Biometrics 1988; placement values
    computed from midranks as in Sun & Xu, IEEE SPL 2014). (nan, nan) without both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    P, N = int(positives.sum()), int((~positives).sum())
    if P < 2 or N < 2:
        return (math.nan, math.nan)
    r_all = _midranks(scores)
    v10 = (r_all[positives] - _midranks(scores[positives])) / N  # per positive: share of negatives below
    v01 = (
        1 - (r_all[~positives] - _midranks(scores[~positives])) / P
    )  # per negative: share of positives above
    auc = float(v10.mean())
    se = math.sqrt(v10.var(ddof=1) / P + v01.var(ddof=1) / N)
    return (max(0.0, auc - z * se), min(1.0, auc + z * se))


def binary_rates(scores: np.ndarray, positives: np.ndarray, threshold: float) -> dict:
    """Recall, precision and specificity of `score >= threshold` against boolean `positives`, each
    with its 95% Wilson interval (`recall_ci` ...: [low, high])."""
    pred = scores >= threshold
    tp = int((pred & positives).sum())
    fp = int((pred & ~positives).sum())
    fn = int((~pred & positives).sum())
    tn = int((~pred & ~positives).sum())
    return {
        "threshold": float(threshold),
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "flagged_share": float(pred.mean()) if len(pred) else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "recall_ci": list(wilson_interval(tp, tp + fn)),
        "precision_ci": list(wilson_interval(tp, tp + fp)),
        "specificity_ci": list(wilson_interval(tn, tn + fp)),
    }


def _midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of x, ties sharing their mean rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    s = x[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def roc_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random
    negative, ties counting half (Mann-Whitney U / (P * N); Hanley & McNeil, Radiology 1982).
    NaN when either class is absent."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    P, N = int(positives.sum()), int((~positives).sum())
    if not P or not N:
        return float("nan")
    ranks = _midranks(scores)
    return float((ranks[positives].sum() - P * (P + 1) / 2) / (P * N))
