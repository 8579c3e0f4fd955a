"""Run-time set-up shared by the two frozen entry scripts (entry_gui.py, entry_cli.py)."""

import hashlib
import os
import sys
from pathlib import Path


def _user_cache_dir() -> Path:
    if sys.platform.startswith("win"):
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def persistent_matplotlib_cache() -> None:
    """captum.attr imports matplotlib, whose font list is built on first import. PyInstaller's
    matplotlib runtime hook points MPLCONFIGDIR at a fresh temporary folder on every start (meant for
    onefile builds), so the list would be rebuilt each time the model loads (~0.5-2 s, more with many
    fonts). A one-folder build has stable paths: keep the cache per user, keyed by the bundle's
    location (a moved folder gets a new cache). Falls back to the temporary folder if not writable."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return
    key = hashlib.sha256(str(bundle).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    folder = _user_cache_dir() / "cmhl-desktop" / f"matplotlib-{key}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".writable"
        probe.touch()
        probe.unlink()
    except OSError:
        return
    os.environ["MPLCONFIGDIR"] = str(folder)
