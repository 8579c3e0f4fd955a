"""CMHL: a single encoder with multi-task heads (emotion, valence, intensity, distress), circumplex
supervision and a contrastive contradiction loss (after Elgabry, Hamdi & Shaban, arXiv:2603.14078)."""

from .config import DISTRESS, EMOTIONS, ConfigError, ModelConfig, TrainConfig

__all__ = ["DISTRESS", "EMOTIONS", "ConfigError", "ModelConfig", "TrainConfig"]
