"""Flag policy: which scored posts are flagged, at which thresholds (Qt-free).

A checkpoint's `calibration.json` holds flag rules (e.g. any-distress = 1 - P(control), suicidewatch =
P(suicidewatch)), each with a threshold picked on validation for a target recall, and the validation
precision-recall points. `FlagPolicy` starts from those stored thresholds; moving a target recall
picks a new threshold from the stored points (no data, no re-scoring), and `reflag` re-applies the
policy to already scored results in one vectorised pass (the GUI's target-recall control).

A post is flagged when any rule fires: `score >= threshold`. This module is the one owner of the
flag decisions (docs/ARCHITECTURE.md, "One owner per decision"): which rules fire (`fires`, `apply`,
`reflag`) and which class a post is explained for (`explain_class`). Scoring, attribution, the
session and the views ask here; the order "by concern" is `triage.concern_key`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from cmhl.calibration import Calibration, FlagRule
from cmhl.metrics import interval_text

from .results import PostResult


class PolicyError(ValueError):
    """A target recall or threshold is not usable (unknown rule, value out of range)."""


@dataclass
class RuleState:
    """A rule's current operating point (the stored rule itself is never changed)."""

    threshold: float
    target_recall: float | None  # None when the threshold was set by hand
    source: str  # "stored" | "target" | "manual"


class FlagPolicy:
    """Current thresholds of a checkpoint's flag rules.

    >>> policy = FlagPolicy.from_checkpoint(ckpt)
    >>> policy.set_target_recall("any_distress", 0.90)   # new threshold from the stored PR points
    >>> policy.expected("any_distress")                  # validation recall/precision/specificity
    >>> policy.reflag(results)                            # update flags in place, no re-scoring
    """

    def __init__(self, calibration: Calibration, distress_labels: Sequence[str]) -> None:
        self.labels = list(distress_labels)
        # A deep copy: the caller's Calibration (e.g. a LoadedCheckpoint's) is never mutated.
        self.rules: list[FlagRule] = [copy.deepcopy(r) for r in calibration.rules]
        for r in self.rules:
            if r.cls not in self.labels:
                raise PolicyError(f"flag rule {r.name} names unknown class {r.cls!r}")
        self._state: dict[str, RuleState] = {
            r.name: RuleState(float(r.threshold), float(r.target_recall), "stored") for r in self.rules
        }
        self._col = np.array([self.labels.index(r.cls) for r in self.rules], dtype=np.intp)
        self._not = np.array([r.kind == "not_class" for r in self.rules], dtype=bool)
        self._seg = np.array([r.segments and r.kind == "class" for r in self.rules], dtype=bool)

    @classmethod
    def from_checkpoint(cls, ckpt) -> FlagPolicy:
        """From a `cmhl.checkpoint.LoadedCheckpoint`."""
        return cls(ckpt.calibration, ckpt.config.distress_labels)

    # ------------------------------------------------------------------ rules and thresholds

    @property
    def rule_names(self) -> list[str]:
        return [r.name for r in self.rules]

    def rule(self, name: str) -> FlagRule:
        for r in self.rules:
            if r.name == name:
                return r
        known = ", ".join(self.rule_names) or "none"
        raise PolicyError(f"no flag rule {name!r}; this checkpoint's rules: {known}")

    def threshold(self, name: str) -> float:
        self.rule(name)
        return self._state[name].threshold

    def target_recall(self, name: str) -> float | None:
        """The target the current threshold was picked for (None after `set_threshold`)."""
        self.rule(name)
        return self._state[name].target_recall

    @property
    def thresholds(self) -> dict[str, float]:
        return {n: s.threshold for n, s in self._state.items()}

    def set_target_recall(self, name: str, recall: float) -> float:
        """Pick the highest threshold whose validation recall meets `recall`; return it."""
        rule = self.rule(name)
        recall = float(recall)
        if not (0.0 < recall <= 1.0) or math.isnan(recall):
            raise PolicyError(f"target recall for {name} must be in (0, 1], got {recall}")
        if not rule.pr.get("thresholds"):
            raise PolicyError(
                f"flag rule {name}: the checkpoint stores no validation PR points, so the target "
                "recall cannot move (re-run `cmhl calibrate`)"
            )
        t = rule.threshold_for(recall)
        self._state[name] = RuleState(float(t), recall, "target")
        return float(t)

    def set_target_recalls(self, target: float | Mapping[str, float] | None) -> None:
        """A float moves every rule to that target; a mapping moves the rules it names; None: nothing."""
        if target is None:
            return
        if isinstance(target, Mapping):
            for name, r in target.items():
                self.set_target_recall(name, r)
        else:
            for name in self.rule_names:
                self.set_target_recall(name, float(target))

    def set_threshold(self, name: str, threshold: float) -> None:
        """Set a threshold by hand (the target recall becomes unknown: None)."""
        self.rule(name)
        threshold = float(threshold)
        if not (0.0 <= threshold <= 1.0):
            raise PolicyError(f"threshold for {name} must be in [0, 1], got {threshold}")
        self._state[name] = RuleState(threshold, None, "manual")

    def reset(self, name: str | None = None) -> None:
        """Back to the checkpoint's stored threshold(s)."""
        for r in self.rules if name is None else [self.rule(name)]:
            self._state[r.name] = RuleState(float(r.threshold), float(r.target_recall), "stored")

    def expected(self, name: str) -> dict[str, float]:
        """Validation recall / precision / specificity at the current threshold (from the stored
        PR points: the nearest point at or below the threshold). NaN when no points are stored."""
        rule = self.rule(name)
        if not rule.pr.get("thresholds"):
            return {"recall": math.nan, "precision": math.nan, "specificity": math.nan}
        return rule.expected_at(self._state[name].threshold)

    # ------------------------------------------------------------------ applying

    def _thresholds_array(self) -> np.ndarray:
        return np.array([self._state[r.name].threshold for r in self.rules], dtype=np.float64)

    def rule_scores(self, probs: np.ndarray, segment_max: np.ndarray | None = None) -> np.ndarray:
        """(N, R) each rule's score: P(cls), 1 - P(cls), or for a segment rule the max of the post's
        P(cls) and its most concerning segment's (`segment_max`: (N, K), NaN where none)."""
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim == 1:
            probs = probs[None, :]
        p = probs[:, self._col]  # (N, R)
        if segment_max is not None and self._seg.any():
            seg = np.asarray(segment_max, dtype=np.float64).reshape(len(probs), -1)[:, self._col]
            with np.errstate(invalid="ignore"):
                p = np.where(self._seg & ~np.isnan(p), np.fmax(p, seg), p)
        return np.where(self._not, 1.0 - p, p)

    def fires(self, probs: np.ndarray, segment_max: np.ndarray | None = None) -> np.ndarray:
        """(N, R) bool: which rule fires for each row of calibrated distress probabilities (N, K)
        (and segment maxima, see `rule_scores`). Rows containing NaN (not scored) never fire."""
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim == 1:
            probs = probs[None, :]
        if not self.rules:
            return np.zeros((len(probs), 0), dtype=bool)
        with np.errstate(invalid="ignore"):
            return self.rule_scores(probs, segment_max) >= self._thresholds_array()  # NaN >= t: False

    def apply(
        self, row: PostResult | np.ndarray | Sequence[float] | Mapping[str, float]
    ) -> tuple[bool, list[str]]:
        """(flagged, names of the rules that fired) for one post: a PostResult, a probability vector
        in label order, or a {label: probability} mapping. A post that was not scored is never flagged."""
        seg = None
        if isinstance(row, PostResult):
            if not row.scored or not row.distress_probs:
                return False, []
            seg = [row.segment_max.get(lab, math.nan) for lab in self.labels] if row.segment_max else None
            row = row.distress_probs
        if isinstance(row, Mapping):
            row = [row.get(lab, math.nan) for lab in self.labels]
        hit = self.fires(np.asarray(row, dtype=np.float64), None if seg is None else np.asarray([seg]))[0]
        names = [r.name for r, h in zip(self.rules, hit, strict=True) if h]
        return bool(names), names

    def explain_class(self, row: PostResult | np.ndarray | Mapping[str, float]) -> tuple[str, str]:
        """(class, reason) a post's distress words are explained for, at the current thresholds:
        when a "class" rule fires (e.g. suicidewatch), its class (the most probable one if several
        fire); when only a "not_class" rule fires (any-distress = 1 - P(control)), the most probable
        class that no not_class rule excludes; otherwise the top class. reason: "flag:<rule>" or
        "top". `row`: a PostResult, a probability vector in label order or a {label: p} mapping.
        Raises PolicyError for a post without probabilities (not scored). A PostResult's segment
        maxima count as in `apply`: a post flagged by one crisis sentence is explained for that class."""
        seg = None
        if isinstance(row, PostResult):
            if row.segment_max:
                seg = np.asarray([[row.segment_max.get(lab, math.nan) for lab in self.labels]])
            row = row.distress_probs
        if isinstance(row, Mapping):
            row = [row.get(lab, math.nan) for lab in self.labels]
        probs = np.asarray(row, dtype=np.float64)
        if probs.shape != (len(self.labels),) or not np.isfinite(probs).any():
            raise PolicyError("this post has no distress probabilities (it was not scored)")
        p = np.where(np.isfinite(probs), probs, -1.0)  # a missing probability never wins
        fired = [r for r, hit in zip(self.rules, self.fires(probs, seg)[0], strict=True) if hit]
        named = [r for r in fired if r.kind == "class"]
        if named:
            best = max(named, key=lambda r: p[self.labels.index(r.cls)])
            return best.cls, f"flag:{best.name}"
        if fired:
            excluded = {r.cls for r in self.rules if r.kind == "not_class"}
            others = [i for i, lab in enumerate(self.labels) if lab not in excluded] or range(len(p))
            return self.labels[max(others, key=lambda i: p[i])], f"flag:{fired[0].name}"
        return self.labels[int(np.argmax(p))], "top"

    def probs_matrix(self, results: Sequence[PostResult]) -> np.ndarray:
        """(N, 2K): the distress probabilities of results and their segment maxima side by side
        (NaN rows for posts that were not scored; NaN segment columns where a post has none).
        `reflag` and `fires_matrix` take it as it is."""
        K = len(self.labels)
        out = np.full((len(results), 2 * K), np.nan)
        labels = self.labels
        for i, r in enumerate(results):
            d = r.distress_probs
            if d and r.status in ("ok", "truncated"):
                out[i, :K] = [d.get(lab, math.nan) for lab in labels]
                if r.segment_max:
                    out[i, K:] = [r.segment_max.get(lab, math.nan) for lab in labels]
        return out

    def fires_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """`fires` on a `probs_matrix`: (N, R) bool."""
        K = len(self.labels)
        return self.fires(matrix[:, :K], matrix[:, K:])

    def reflag(self, results: Sequence[PostResult], probs: np.ndarray | None = None) -> int:
        """Update `flagged`, `flag_rules` and `segment_rules` of every result in place; return how
        many are flagged.

        `probs` (from `probs_matrix`) may be passed in to skip rebuilding it when the same results are
        re-flagged often (a slider). Posts that were not scored are set to not flagged."""
        if probs is None:
            probs = self.probs_matrix(results)
        if len(probs) != len(results):
            raise ValueError("probs has a different number of rows than results")
        hits = self.fires_matrix(probs) if len(results) else np.zeros((0, len(self.rules)), bool)
        seg_only = self.segment_only(probs, hits)
        names = self.rule_names
        # One list object per distinct combination of fired rules (at most 2**R), copied per row so
        # rows never share a mutable list; the same for the rules that fired through a segment only.
        bits = 1 << np.arange(len(names), dtype=np.int64)
        codes = hits.astype(np.int64) @ bits if names else np.zeros(len(results), np.int64)
        seg_codes = seg_only.astype(np.int64) @ bits if names else np.zeros(len(results), np.int64)
        combos = {
            int(c): [n for j, n in enumerate(names) if int(c) >> j & 1]
            for c in np.unique(np.concatenate([codes, seg_codes]))
        }
        flagged = codes > 0
        for r, c, f, sc in zip(results, codes.tolist(), flagged.tolist(), seg_codes.tolist(), strict=True):
            r.flagged = f
            r.flag_rules = list(combos[c]) if f else []
            r.segment_rules = list(combos[sc]) if f and sc else []
        return int(flagged.sum())

    def segment_only(self, probs: np.ndarray, hits: np.ndarray | None = None) -> np.ndarray:
        """(N, R) bool: the rules that fire on a `probs_matrix` only through the post's most
        concerning segment, while the post as a whole stays under the threshold ("one sentence reads
        as a crisis" rather than "the whole post")."""
        if hits is None:
            hits = self.fires_matrix(probs)
        if not len(probs) or not self.rules:
            return np.zeros_like(hits, dtype=bool)
        whole = self.fires(probs[:, : len(self.labels)])
        return hits & ~whole

    # ------------------------------------------------------------------ ordering

    @property
    def crisis_rules(self) -> frozenset[str]:
        """The rules that flag crisis (a class rule on suicidewatch, or any segment rule): their
        posts come first in the order by concern (`triage.concern_key`)."""
        return frozenset(
            r.name for r in self.rules if r.kind == "class" and (r.segments or r.cls == "suicidewatch")
        )

    # ------------------------------------------------------------------ describing

    def flagged_by_rule(self, results: Sequence[PostResult | None]) -> dict[str, int]:
        """How many results each rule flags (as stored on them by `reflag`/scoring), every rule listed."""
        counts = dict.fromkeys(self.rule_names, 0)
        for r in results:
            if r is not None and r.flagged:
                for name in r.flag_rules:
                    counts[name] = counts.get(name, 0) + 1
        return counts

    def summary(self) -> dict[str, dict]:
        """Per rule: what it scores, the current threshold, the target it was picked for, and the
        validation rates expected there (for the run sheet and `--json`)."""
        out = {}
        for r in self.rules:
            s = self._state[r.name]
            score = f"1 - P({r.cls})" if r.kind == "not_class" else f"P({r.cls})"
            if r.segments and r.kind == "class":
                score = f"max(P({r.cls}) of the post, of its most concerning segment)"
            out[r.name] = {
                "score": score,
                "threshold": s.threshold,
                "target_recall": s.target_recall,
                "source": s.source,
                "stored_threshold": float(r.threshold),
                "stored_target_recall": float(r.target_recall),
                **{f"expected_{k}": v for k, v in self.expected(r.name).items()},
            }
        return out

    def summary_lines(self) -> list[tuple[str, str]]:
        """(key, value) rows for a run sheet, e.g. ("flag any_distress", "1 - P(control) >= 0.8123 …")."""
        rows = []
        for name, d in self.summary().items():
            target = (
                "manual threshold"
                if d["target_recall"] is None
                else f"target recall {d['target_recall']:.2f}"
            )
            exp = ", ".join(
                f"{k} {d['expected_' + k]:.3f}" + interval_text(d.get(f"expected_{k}_ci"))
                for k in ("recall", "precision", "specificity")
                if not math.isnan(d["expected_" + k])
            )
            rows.append(
                (
                    f"flag {name}",
                    f"{d['score']} >= {d['threshold']:.4f} ({target}; {d['source']}"
                    + (f"; expected on validation: {exp})" if exp else ")"),
                )
            )
        return rows
