"""House rules (DESIGN.md): Qt only under cmhl_desktop/ui/; the model package never imports the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "cmhl_desktop"
MODEL = ROOT / "model" / "cmhl"
QT_PACKAGES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "shiboken2", "sip", "qtpy", "pyqtgraph")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an `import`/`from ... import` names, with absolute names for relative imports of
    the package the file lives in, and string arguments of importlib.import_module / __import__."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _package_of(path)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
            found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _package_of(path: Path) -> str:
    base = MODEL.parent if path.is_relative_to(MODEL) else ROOT
    if not path.is_relative_to(base):
        return ""
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts if path.name == "__init__.py" else parts[:-1]).removesuffix(".__init__")


def _top(mod: str) -> str:
    return mod.split(".")[0]


def qt_free_files() -> list[Path]:
    ui = APP / "ui"
    app = [p for p in APP.rglob("*.py") if not p.is_relative_to(ui)]
    return sorted(app + list(MODEL.rglob("*.py")))


def test_there_is_something_to_check():
    files = qt_free_files()
    assert any(p.name == "results.py" for p in files)
    assert any(p.name == "checkpoint.py" for p in files)


@pytest.mark.parametrize("path", qt_free_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_qt_outside_ui(path):
    bad = [(n, m) for n, m in imported_modules(path) if _top(m) in QT_PACKAGES]
    assert not bad, f"{path.relative_to(ROOT)} imports Qt outside cmhl_desktop/ui/: {bad}"


@pytest.mark.parametrize("path", sorted(MODEL.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_model_never_imports_app(path):
    bad = [(n, m) for n, m in imported_modules(path) if _top(m) == "cmhl_desktop"]
    assert not bad, f"{path.relative_to(ROOT)} imports the app: {bad}"


def test_the_checker_catches_violations(tmp_path):
    """The walker must see every import form, or the rules above prove nothing."""
    src = (
        "import os\n"
        "def f():\n"
        "    from PySide6 import QtWidgets\n"
        "    import shiboken6\n"
        "    import importlib\n"
        "    importlib.import_module('PyQt6.QtCore')\n"
        "    from cmhl_desktop.core import results\n"
    )
    p = tmp_path / "mod.py"
    p.write_text(src, encoding="utf-8")
    tops = {_top(m) for _, m in imported_modules(p)}
    assert {"PySide6", "shiboken6", "PyQt6", "cmhl_desktop"} <= tops


def test_qt_free_core_imports_without_qt():
    """Importing the core in a fresh interpreter must not load Qt (catches indirect imports)."""
    import subprocess
    import sys

    mods = [
        f"cmhl_desktop.core.{p.stem}" for p in sorted((APP / "core").glob("*.py")) if p.stem != "__init__"
    ]
    code = (
        "import sys, importlib\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
