"""Calibration: temperature scaling per head, and flag rules whose thresholds meet a target recall on
validation. The validation precision-recall points are stored so the target can move without data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .inference import softmax
from .metrics import wilson_interval


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the NLL of softmax(logits / T) (Guo et al., 2017)."""
    z = torch.tensor(logits, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.long)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    p = softmax(logits, temperature)
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1)).mean())


@dataclass
class FlagRule:
    """A flag: `score >= threshold`, where score is P(cls) ("class") or 1 - P(cls) ("not_class").

    With `segments`, score = max(P(cls) of the post, P(cls) of its most concerning segment), so one
    crisis sentence is not averaged away by the text around it (`cmhl.segments`). Where the rule was
    calibrated on several validation sources (`pr_sources`), a target recall picks the highest
    threshold that meets it on every source; `pr` pools them (for expected precision/specificity).
    """

    name: str
    kind: str  # "class" | "not_class"
    cls: str
    target_recall: float
    threshold: float = 0.5
    # validation operating points, thresholds descending: recall/precision/specificity at score >= t
    pr: dict[str, list[float]] = field(default_factory=dict)
    segments: bool = False
    pr_sources: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("class", "not_class"):
            raise ValueError(f"flag rule {self.name}: unknown kind {self.kind!r}")
        if not 0 < self.target_recall <= 1:
            raise ValueError(f"flag rule {self.name}: target_recall must be in (0, 1]")

    def scores(
        self, probs: np.ndarray, labels: list[str], segment_max: np.ndarray | None = None
    ) -> np.ndarray:
        """(N,) rule scores from calibrated post probabilities (N, K) and, for a segment rule, the
        per-class maximum over each post's segments (N, K; NaN where a post has none)."""
        c = labels.index(self.cls)
        p = probs[:, c]
        if self.segments and segment_max is not None and self.kind == "class":
            p = np.fmax(p, segment_max[:, c])
        return 1.0 - p if self.kind == "not_class" else p

    def positives(self, y: np.ndarray, labels: list[str]) -> np.ndarray:
        hit = np.asarray(y) == labels.index(self.cls)
        return ~hit if self.kind == "not_class" else hit

    def threshold_for(self, target_recall: float) -> float:
        if self.pr_sources:
            return min(pick_threshold(pr, target_recall) for pr in self.pr_sources.values())
        return pick_threshold(self.pr, target_recall)

    def expected_at(self, threshold: float) -> dict[str, float]:
        """Validation recall/precision/specificity at a threshold (the nearest stored point at or
        below); with the stored counts (calibrations from 2026-11-30 on) also `recall_ci` and
        `precision_ci`, their 95% Wilson intervals (`cmhl.metrics.wilson_interval`)."""
        ts = np.asarray(self.pr["thresholds"])
        ok = np.nonzero(ts <= threshold)[0]
        i = int(ok[0]) if len(ok) else len(ts) - 1
        out = {k: float(self.pr[k][i]) for k in ("recall", "precision", "specificity")}
        P, N = self.pr.get("positives"), self.pr.get("negatives")
        if P and N is not None:
            tp = round(out["recall"] * P)
            fp = round((1 - out["specificity"]) * N)
            out["recall_ci"] = wilson_interval(tp, P)
            out["precision_ci"] = wilson_interval(tp, tp + fp)
        return out


def pr_points(scores: np.ndarray, positives: np.ndarray, max_points: int = 400) -> dict[str, list[float]]:
    """Operating points at every distinct score (thinned to max_points), thresholds descending, and
    the counts they come from (`positives`, `negatives`: for confidence intervals)."""
    order = np.argsort(-scores, kind="stable")
    s, pos = scores[order], positives[order]
    tp = np.cumsum(pos)
    fp = np.cumsum(~pos)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct score
    if len(last) > max_points:  # keep the end points and an even spread, always the 1.0-recall point
        keep = np.unique(np.r_[np.linspace(0, len(last) - 1, max_points).round().astype(int), len(last) - 1])
        last = last[keep]
    P, N = max(int(pos.sum()), 1), max(int((~pos).sum()), 1)
    tp_, fp_ = tp[last], fp[last]
    return {
        "thresholds": [float(x) for x in s[last]],
        "recall": [float(x) for x in tp_ / P],
        "precision": [float(x) for x in tp_ / np.maximum(tp_ + fp_, 1)],
        "specificity": [float(x) for x in 1 - fp_ / N],
        "positives": int(pos.sum()),
        "negatives": int((~pos).sum()),
    }


def pick_threshold(pr: dict[str, list[float]], target_recall: float) -> float:
    """The highest threshold whose recall meets the target (thresholds are stored descending)."""
    for t, r in zip(pr["thresholds"], pr["recall"], strict=True):
        if r >= target_recall - 1e-12:
            return float(t)
    return float(pr["thresholds"][-1]) if pr["thresholds"] else 0.0


def default_rules(distress_labels: list[str]) -> list[FlagRule]:
    """any-distress = 1 - P(control) at recall >= 0.95; suicidewatch at recall >= 0.90 (when present)."""
    rules = []
    if "control" in distress_labels:
        rules.append(FlagRule("any_distress", "not_class", "control", 0.95))
    if "suicidewatch" in distress_labels:
        rules.append(FlagRule("suicidewatch", "class", "suicidewatch", 0.90))
    return rules


@dataclass
class Calibration:
    temperatures: dict[str, float] = field(default_factory=lambda: {"emotion": 1.0, "distress": 1.0})
    rules: list[FlagRule] = field(default_factory=list)
    split: str = "val"

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(d["temperatures"], [FlagRule(**r) for r in d.get("rules", [])], d.get("split", "val"))

    @property
    def segment_rules(self) -> bool:
        """True when some rule reads the segments (the scorer must then score them)."""
        return any(r.segments for r in self.rules)

    def rule(self, name: str) -> FlagRule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


def calibrate(
    emotion_logits,
    emotion_y,
    distress_logits,
    distress_y,
    distress_labels,
    rules=None,
    segment_logits: list | None = None,
    extra: dict | None = None,
) -> Calibration:
    """Fit temperatures on validation, then set each rule's threshold from validation PR points.

    segment_logits: per validation post, its segments' distress logits (S_p, K): when given, the
        suicidewatch rule reads segments (`FlagRule.segments`).
    extra: more validation sources for the segment rules, {name: (distress_logits (N, K),
        segment_logits, y)} with y in distress-class indices (e.g. stb: label 1 -> suicidewatch,
        label 0 -> control). A segment rule's threshold must meet its target on every source.
    """
    from .inference import Predictions, segment_max_probs

    temps = {}
    if emotion_logits is not None:
        temps["emotion"] = fit_temperature(emotion_logits, emotion_y)
    temps["distress"] = fit_temperature(distress_logits, distress_y)
    T = temps["distress"]

    def source(logits, seg, y):
        probs = softmax(logits, T)
        smax = None
        if seg is not None:
            n = len(logits)
            z = np.zeros(n)
            fake = Predictions(logits, logits, z, z, z.astype(int), z.astype(bool), seg)
            smax = segment_max_probs(fake, T)[0]
        return probs, smax, np.asarray(y)

    sources = {"distress": source(distress_logits, segment_logits, distress_y)}
    for name, (lg, seg, y) in (extra or {}).items():
        sources[name] = source(np.asarray(lg), seg, y)
    rules = rules if rules is not None else default_rules(distress_labels)
    for r in rules:
        if segment_logits is not None and r.kind == "class" and r.cls == "suicidewatch":
            r.segments = True
        used = sources if r.segments else {"distress": sources["distress"]}
        per = {
            k: (r.scores(p, distress_labels, sm), r.positives(y, distress_labels))
            for k, (p, sm, y) in used.items()
        }
        r.pr = pr_points(
            np.concatenate([v[0] for v in per.values()]), np.concatenate([v[1] for v in per.values()])
        )
        r.pr_sources = {k: pr_points(*v) for k, v in per.items()} if len(per) > 1 else {}
        r.threshold = r.threshold_for(r.target_recall)
    return Calibration(temps, rules)
