"""House rules (docs/ARCHITECTURE.md, "Rules of the house"): Qt only under cmhl_desktop/ui/; the model
package never imports the app; no import cycles anywhere in the project."""

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
    return _walk(tree, _package_of(path))


def _walk(tree: ast.AST, package: str) -> list[tuple[int, str]]:
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


def runtime_imports(path: Path) -> list[str]:
    """Modules a file imports when it runs (at module level or inside a function), leaving out
    `if TYPE_CHECKING:` blocks, which only type checkers read."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    class Strip(ast.NodeTransformer):
        def visit_If(self, node: ast.If):  # noqa: N802
            t = node.test
            name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                return node.orelse or None
            return self.generic_visit(node)

    return [m for _, m in _walk(Strip().visit(tree), _package_of(path))]


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


# --------------------------------------------------------------------------- no import cycles

# Edges left out of the cycle check, each with the reason it still exists. Keep this list empty.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()  # an allowed exception goes here, with its reason


def module_name(path: Path) -> str:
    base = MODEL.parent if path.is_relative_to(MODEL) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: project modules it imports at run time}, over cmhl_desktop and cmhl. An imported name
    counts as its module (`from .export import RunInfo` -> cmhl_desktop.core.export)."""
    files = sorted(APP.rglob("*.py")) + sorted(MODEL.rglob("*.py"))
    modules = {module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for imported in runtime_imports(path):
            parts = imported.split(".")
            target = next(
                (".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in modules),
                None,
            )
            if target is not None and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_import_cycles():
    graph = import_graph()
    assert "cmhl_desktop.core.session" in graph and "cmhl.checkpoint" in graph
    for a, b in KNOWN_CYCLE_EDGES:
        graph[a].discard(b)
    cycles = find_cycles(graph)
    assert not cycles, f"import cycles (data walks one way: reader -> session -> export/view): {cycles}"


def test_known_cycle_edges_still_exist():
    """An exception that no longer applies must go from KNOWN_CYCLE_EDGES, so the list never rots."""
    graph = import_graph()
    gone = [(a, b) for a, b in KNOWN_CYCLE_EDGES if b not in graph.get(a, set())]
    assert not gone, f"these edges are gone: delete them from KNOWN_CYCLE_EDGES: {gone}"


def test_the_cycle_check_finds_cycles(tmp_path):
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    src = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from cmhl_desktop.core.readers import InputTable\n"
        "def f():\n"
        "    from cmhl_desktop.core import export\n"
    )
    p = tmp_path / "mod.py"
    p.write_text(src, encoding="utf-8")
    found = runtime_imports(p)
    assert "cmhl_desktop.core.export" in found, "imports inside functions count"
    assert not any("readers" in m for m in found), "type-checking imports do not"


def test_architecture_names_every_core_module():
    """docs/ARCHITECTURE.md's layer list names every module of cmhl_desktop/core (found by the
    new-user test: the readers' modules and reopen.py were missing after the splits, and the doc
    still described reopening as an allowed import cycle)."""
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    modules = sorted(p.name for p in (APP / "core").glob("*.py") if p.name != "__init__.py")
    assert [m for m in modules if m not in doc] == []
    assert "export.reopen_scored" not in doc, "reopen_scored lives in core/reopen.py"
