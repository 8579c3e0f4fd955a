"""A loaded model for a scoring session (Qt-free): the checkpoint, its scorer and, built on first use,
its explainer, with the lock that lets one piece of work use the model at a time. Loading imports
torch and transformers, so this module imports them only inside `load` / `from_checkpoint`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .attribution import Explainer
    from .scoring import Scorer, ScoringOptions


@dataclass(eq=False)
class LoadedModel:
    """A loaded checkpoint with its scorer and, built on first use, its explainer."""

    ckpt: Any  # cmhl.checkpoint.LoadedCheckpoint
    scorer: Scorer
    # Scoring and attribution share the model (Captum hooks its embedding layer): one at a time.
    # Scoring takes it per chunk, so an explanation asked for during a long run waits one chunk.
    lock: threading.Lock = field(default_factory=threading.Lock)
    explainer_options: dict[str, Any] = field(default_factory=dict)  # `Explainer` keyword arguments
    _explainer: Explainer | None = None

    @classmethod
    def load(
        cls,
        path: str | Path,
        options: ScoringOptions | None = None,
        explainer_options: dict[str, Any] | None = None,
    ) -> LoadedModel:
        """Load a checkpoint folder (checked against its manifest). Raises CheckpointError."""
        from cmhl.checkpoint import load_checkpoint

        return cls.from_checkpoint(load_checkpoint(Path(path)), options, explainer_options)

    @classmethod
    def from_checkpoint(
        cls, ckpt, options: ScoringOptions | None = None, explainer_options: dict[str, Any] | None = None
    ) -> LoadedModel:
        from .scoring import Scorer

        return cls(ckpt, Scorer(ckpt, options), explainer_options=dict(explainer_options or {}))

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
        """The checkpoint's flag rules (`cmhl.calibration.FlagRule`) at their stored thresholds."""
        return list(self.ckpt.calibration.rules)

    def explainer(self) -> Explainer:
        """The attribution engine (imports Captum on first use); call it holding `lock`."""
        if self._explainer is None:
            from .attribution import Explainer

            self._explainer = Explainer(self.ckpt, **self.explainer_options)
        return self._explainer
