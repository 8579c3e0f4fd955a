"""Where the app finds its bundled files, from a source checkout or a frozen (PyInstaller) build."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_CHECKPOINT_NAME = "cmhl-minilm-v2"


def app_root() -> Path:
    """The project root in a checkout; the bundle folder in a frozen build."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parents[2]


def checkpoints_dir() -> Path:
    return app_root() / "model" / "checkpoints"


def default_checkpoint() -> Path:
    """The shipped checkpoint (falls back to the only folder present, e.g. a smoke build)."""
    preferred = checkpoints_dir() / DEFAULT_CHECKPOINT_NAME
    if preferred.is_dir():
        return preferred
    found = sorted(p for p in checkpoints_dir().glob("*") if (p / "config.json").is_file())
    return found[0] if found else preferred


def resources_dir() -> Path:
    return app_root() / "resources"


def data_dir() -> Path:
    """../shared/data beside the checkout (training and evaluation only; never shipped)."""
    return app_root().parent / "shared" / "data"
