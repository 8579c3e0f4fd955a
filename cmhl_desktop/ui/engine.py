"""The model side of the window: a loaded checkpoint with its scorer, flag policy and (lazily) its
explainer. Everything here that touches torch/transformers/captum is imported inside functions that
run on worker threads, so the window can appear before any of it is loaded."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmhl_desktop.core.results import PostResult


@dataclass
class Engine:
    ckpt: Any  # cmhl.checkpoint.LoadedCheckpoint
    scorer: Any  # cmhl_desktop.core.scoring.Scorer
    policy: Any  # cmhl_desktop.core.flags.FlagPolicy
    _explainer: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.ckpt.name

    @property
    def path(self) -> Path:
        return Path(self.ckpt.path)

    @property
    def sha256(self) -> str:
        return self.ckpt.sha256

    @property
    def distress_labels(self) -> list[str]:
        return list(self.ckpt.config.distress_labels)

    @property
    def emotion_labels(self) -> list[str]:
        return list(self.ckpt.config.emotion_labels)

    @property
    def circumplex(self) -> dict[str, list[float]]:
        return dict(self.ckpt.config.circumplex)

    @property
    def rules(self) -> list:
        return list(self.ckpt.calibration.rules)

    def explainer(self):
        """The attribution engine, built on first use (call from a worker: imports Captum)."""
        with self._lock:
            if self._explainer is None:
                from cmhl_desktop.core.attribution import Explainer

                self._explainer = Explainer(self.ckpt)
            return self._explainer

    # ------------------------------------------------------------------ flag policy helpers

    def set_target_recall(self, rule: str, recall: float) -> None:
        self.policy.set_target_recall(rule, recall)

    def threshold(self, rule: str) -> float:
        return float(policy_threshold(self.policy, rule))

    def target_recall(self, rule: str) -> float:
        f = getattr(self.policy, "target_recall", None)
        if callable(f):
            v = f(rule)
        else:
            r = _policy_rule(self.policy, rule)
            v = getattr(r, "target_recall", None)
        return float(v) if v is not None else float("nan")

    def expected(self, rule: str) -> dict[str, float]:
        e = self.policy.expected(rule)
        if isinstance(e, dict):
            return {k: float(v) for k, v in e.items()}
        return {k: float(getattr(e, k)) for k in ("recall", "precision") if hasattr(e, k)}

    def thresholds(self) -> dict[str, float]:
        return {r.name: self.threshold(r.name) for r in self.rules}

    def target_recalls(self) -> dict[str, float]:
        return {r.name: self.target_recall(r.name) for r in self.rules}

    def reflag(self, results: list[PostResult | None], probs_cache: dict | None = None, key=None) -> int:
        """Re-apply the policy to scored results in place (no re-scoring). `probs_cache` keeps the
        probability matrix between calls (a spin box moved again and again over the same results); `key` names those results."""
        present = [r for r in results if r is not None]
        probs = None
        matrix = getattr(self.policy, "probs_matrix", None)
        if probs_cache is not None and key is not None and callable(matrix):
            key = (key, len(present))
            if probs_cache.get("key") != key:
                probs_cache.clear()
                probs_cache.update(key=key, probs=matrix(present))
            probs = probs_cache["probs"]
        out = self.policy.reflag(present, probs) if probs is not None else self.policy.reflag(present)
        if isinstance(out, list) and out is not present and len(out) == len(present):
            for old, new in zip(present, out, strict=False):  # a policy that returns new records
                if isinstance(new, PostResult):
                    old.flagged, old.flag_rules = new.flagged, list(new.flag_rules)
        return sum(1 for r in present if r.flagged)


def _policy_rule(policy, name: str):
    for attr in ("rule",):
        f = getattr(policy, attr, None)
        if callable(f):
            try:
                return f(name)
            except (KeyError, StopIteration, ValueError):
                return None
    for r in getattr(policy, "rules", []):
        if getattr(r, "name", None) == name:
            return r
    return None


def policy_threshold(policy, name: str) -> float:
    """The policy's current threshold for a rule (whichever way the policy exposes it)."""
    f = getattr(policy, "threshold", None)
    if callable(f):
        return float(f(name))
    th = getattr(policy, "thresholds", None)
    if isinstance(th, dict):
        return float(th[name])
    if callable(th):
        return float(th()[name])
    r = _policy_rule(policy, name)
    if r is None:
        raise KeyError(name)
    return float(r.threshold)


def load_engine(path: str | Path, targets: dict[str, float] | None = None) -> Engine:
    """Load a checkpoint folder and build its scorer and policy (runs on a worker thread).
    `targets` restores saved target recalls (rule name -> recall) for rules the model has."""
    from cmhl.checkpoint import load_checkpoint

    from cmhl_desktop.core.flags import FlagPolicy
    from cmhl_desktop.core.scoring import Scorer, ScoringOptions

    ckpt = load_checkpoint(Path(path))
    policy = FlagPolicy(ckpt.calibration, list(ckpt.config.distress_labels))
    for rule in ckpt.calibration.rules:
        t = (targets or {}).get(rule.name)
        if t is not None and 0 < t <= 1:
            policy.set_target_recall(rule.name, float(t))
    engine = Engine(ckpt, Scorer(ckpt, gui_scoring_options(ScoringOptions)), policy)
    warm_up_attribution()
    return engine


def warm_up_attribution() -> None:
    """Import Captum (and the matplotlib/scipy it pulls in) now, on the loading thread: imported later,
    on the first explanation, its module initialisation holds the GIL long enough to stall the window
    in the middle of a scoring run."""
    try:
        import captum.attr  # noqa: F401

        import cmhl_desktop.core.attribution  # noqa: F401
    except Exception:  # attribution is optional for loading; its errors show when it is used
        pass


GUI_CHUNK = 256  # posts per streamed chunk: results appear often, an explanation waits one chunk at most


def gui_scoring_options(options_cls):
    """Scoring options for the window: smaller chunks than the CLI (results stream sooner, the model
    lock is released more often) and one core left to the GUI thread, so the window never stalls
    behind torch's busy threads. CMHL_SCORING_THREADS overrides the thread count."""
    env = os.environ.get("CMHL_SCORING_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        threads = int(env)
    else:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        threads = max(1, cores - 1)
    kw = {}
    fields = getattr(options_cls, "__dataclass_fields__", {})
    if "chunk" in fields:
        kw["chunk"] = GUI_CHUNK
    if "threads" in fields:
        kw["threads"] = threads
    return options_cls(**kw)
