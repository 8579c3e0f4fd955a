"""Checkpoint folders (DESIGN.md): config.json, model.safetensors, tokenizer files, calibration.json,
metrics.json, README.md, manifest.json (sha256 of every file, verified at load).

Weights are safetensors only: a pickle file (.bin/.pt/.pkl/.ckpt) in a checkpoint is refused, never
unpickled. Storage may be fp16; the model always runs in fp32.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .calibration import Calibration
from .config import ConfigError, ModelConfig
from .data import sha256_file
from .modeling import CMHLModel
from .risk_lexicon import LEXICON_FILE, RiskLexicon

MANIFEST = "manifest.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
REQUIRED = ("config.json", "model.safetensors", "calibration.json")


class CheckpointError(ValueError):
    """The folder is not a usable CMHL checkpoint; the message says why and names the file."""


@dataclass
class LoadedCheckpoint:
    path: Path
    model: CMHLModel
    tokenizer: object
    config: ModelConfig
    calibration: Calibration
    metrics: dict
    sha256: str  # of the manifest: one hash that names this exact checkpoint
    risk_lexicon: object | None = None  # cmhl.risk_lexicon.RiskLexicon when risk_lexicon.json is present

    @property
    def name(self) -> str:
        return self.config.name

    def card(self) -> str:
        p = self.path / "README.md"
        return p.read_text(encoding="utf-8") if p.is_file() else "(this checkpoint has no model card)"


def write_manifest(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"files": {str(p.relative_to(folder)): sha256_file(p) for p in files}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def verify_manifest(folder: Path) -> str:
    """Check every file against manifest.json; return the manifest's own sha256."""
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise CheckpointError(f"{folder}: {MANIFEST} is missing")
    try:
        files = json.loads(mpath.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError):
        raise CheckpointError(f"{mpath}: not a valid manifest") from None
    for rel, digest in files.items():
        p = folder / rel
        if not p.is_file():
            raise CheckpointError(f"{folder}: {rel} is listed in the manifest but missing")
        if sha256_file(p) != digest:
            raise CheckpointError(f"{p}: contents do not match the manifest (modified or corrupted)")
    extra = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - set(files) - {MANIFEST}
    if extra:
        raise CheckpointError(f"{folder}: files not in the manifest: {', '.join(sorted(extra))}")
    return sha256_file(mpath)


def save_checkpoint(
    folder: Path,
    model: CMHLModel,
    tokenizer,
    calibration: Calibration | None = None,
    metrics: dict | None = None,
    card: str | None = None,
    fp16: bool = True,
) -> Path:
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cfg = model.config
    cfg.encoder = model.encoder.config.to_dict()
    cfg.save(folder / "config.json")
    dtype = torch.float16 if fp16 else torch.float32
    state = {
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in model.state_dict().items()
    }
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt", "cmhl_format": "1"})
    tokenizer.save_pretrained(folder)
    (calibration or Calibration()).save(folder / "calibration.json")
    (folder / "metrics.json").write_text(json.dumps(metrics or {}, indent=1), encoding="utf-8")
    if card is not None:
        (folder / "README.md").write_text(card, encoding="utf-8")
    write_manifest(folder)
    return folder


def load_checkpoint(folder: Path, verify: bool = True, device: str = "cpu") -> LoadedCheckpoint:
    """Load a checkpoint folder, refusing pickles, tampered files, and mismatched tokenizers or heads."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a folder")
    pickles = sorted(p.name for p in folder.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise CheckpointError(
            f"{folder}: refusing pickle file(s) {', '.join(pickles)}: only safetensors weights are loaded"
        )
    for name in REQUIRED:
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder}: {name} is missing")
    sha = verify_manifest(folder) if verify else ""
    try:
        config = ModelConfig.load(folder / "config.json")
    except (ConfigError, ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{folder / 'config.json'}: {e}") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as e:  # transformers raises many types; the user needs one clear message
        raise CheckpointError(
            f"{folder}: tokenizer files missing or unreadable ({type(e).__name__})"
        ) from None
    vocab = config.encoder.get("vocab_size")
    if vocab is not None and len(tokenizer) > vocab:
        raise CheckpointError(f"{folder}: tokenizer has {len(tokenizer)} tokens but the encoder only {vocab}")
    model = CMHLModel(config)
    try:
        state = load_file(str(folder / "model.safetensors"))
    except Exception as e:
        raise CheckpointError(
            f"{folder / 'model.safetensors'}: not a readable safetensors file ({e})"
        ) from None
    expected = model.state_dict()
    for k, v in state.items():
        if k in expected and tuple(expected[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"{folder}: weight {k} has shape {tuple(v.shape)}, config expects {tuple(expected[k].shape)} "
                "(label count or encoder size does not match config.json)"
            )
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise CheckpointError(
            f"{folder}: weights do not match config.json (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.to(device).eval()
    calibration = Calibration.load(folder / "calibration.json")
    for r in calibration.rules:
        if r.cls not in config.distress_labels:
            raise CheckpointError(f"{folder}: flag rule {r.name} names unknown class {r.cls!r}")
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    lexicon = None
    if (folder / LEXICON_FILE).is_file():
        try:
            lexicon = RiskLexicon.load(folder / LEXICON_FILE)
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"{folder / LEXICON_FILE}: not a compiled risk lexicon ({e})") from None
    return LoadedCheckpoint(folder, model, tokenizer, config, calibration, metrics, sha, lexicon)
