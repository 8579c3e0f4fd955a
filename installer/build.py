"""Build the self-contained desktop folder with PyInstaller (`make installer`).

    python installer/build.py [--clean] [--log FILE]

Runs PyInstaller on installer/cmhl_desktop.spec (work files in installer/build, the folder in
installer/dist/cmhl-desktop), then prints the build time and the folder's size broken down by its
biggest contributors (torch, Qt, the checkpoint, ...). The same figures go to
installer/dist/build-report.json for the smoke test and for release notes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "cmhl_desktop.spec"
WORK = HERE / "build"
DIST = HERE / "dist"
APP = "cmhl-desktop"
SIZE_GOAL_MB = 700

# (label, path prefix inside the folder's _internal/) in match order: first match wins.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("checkpoint (model/checkpoints)", ("model/checkpoints/",)),
    ("torch: libtorch_cpu", ("torch/lib/libtorch_cpu", "torch/lib/torch_cpu")),
    ("torch: other native libs", ("torch/lib/",)),
    ("torch: python + data", ("torch/", "torchgen/", "functorch/")),
    ("Qt: libraries", ("PySide6/Qt/lib/", "PySide6/Qt6", "PySide6/Qt/bin/", "PySide6/lib")),
    ("Qt: plugins", ("PySide6/Qt/plugins/",)),
    ("Qt: translations", ("PySide6/Qt/translations/",)),
    ("Qt: PySide6/shiboken6 bindings", ("PySide6/", "shiboken6/")),
    ("numpy (+ bundled OpenBLAS)", ("numpy/", "numpy.libs/")),
    ("transformers", ("transformers/",)),
    ("tokenizers", ("tokenizers/",)),
    ("sympy + mpmath (torch.fx needs them)", ("sympy/", "mpmath/")),
    ("matplotlib (captum.attr imports it)", ("matplotlib/", "mpl_toolkits/", "fontTools/", "kiwisolver")),
    ("PIL (matplotlib needs it)", ("PIL/", "pillow.libs/")),
    ("lxml + openpyxl", ("lxml/", "openpyxl/")),
    ("resources", ("resources/",)),
    (
        "Python runtime (libpython, stdlib extensions)",
        ("libpython", "python3", "lib-dynload/", "base_library.zip"),
    ),
]


def human(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def folder_report(folder: Path) -> dict:
    """Sizes of the built folder: total, per group, and the largest single files."""
    internal = folder / "_internal"
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    groups: dict[str, int] = {}
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:12]
    for p in files:
        size = p.stat().st_size
        rel = p.relative_to(internal).as_posix() if internal in p.parents else "/" + p.name
        label = "other"
        if rel.startswith("/"):
            label = "executables (cmhl-desktop, cmhl)"
        else:
            for name, prefixes in GROUPS:
                if rel.startswith(prefixes):
                    label = name
                    break
        groups[label] = groups.get(label, 0) + size
    return {
        "total_bytes": total,
        "files": len(files),
        "groups": dict(sorted(groups.items(), key=lambda kv: -kv[1])),
        "biggest": [(p.relative_to(folder).as_posix(), p.stat().st_size) for p in biggest],
    }


def print_report(seconds: float, rep: dict, folder: Path) -> None:
    total = rep["total_bytes"]
    print()
    print(f"== CMHL Desktop build: {folder}")
    print(f"build time   {seconds / 60:.1f} min ({seconds:.0f} s)")
    verdict = "within" if total <= SIZE_GOAL_MB * 1e6 else "OVER"
    print(f"folder size  {human(total)} in {rep['files']:,} files ({verdict} the {SIZE_GOAL_MB} MB goal)")
    print("by contributor:")
    for label, size in rep["groups"].items():
        print(f"  {human(size):>11}  {100 * size / total:5.1f}%  {label}")
    print("largest files:")
    for rel, size in rep["biggest"]:
        print(f"  {human(size):>11}  {rel}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clean", action="store_true", help="remove PyInstaller's cache and work files first")
    ap.add_argument("--log", type=Path, default=WORK / "pyinstaller.log", help="PyInstaller's full log")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    # The build imports transformers (hooks, the import probe): never let it reach the network.
    env.update(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false"
    )
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    WORK.mkdir(parents=True, exist_ok=True)
    DIST.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "INFO",
        "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC),
    ]  # fmt: skip
    if args.clean:
        cmd.insert(3, "--clean")
    print("building:", " ".join(cmd), flush=True)
    print(f"(PyInstaller's log: {args.log}; this takes several minutes)", flush=True)
    t0 = time.perf_counter()
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = args.log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        print(
            f"PyInstaller failed (exit {proc.returncode}) after {seconds:.0f} s; log: {args.log}",
            file=sys.stderr,
        )
        return proc.returncode
    folder = DIST / APP
    for exe in (APP, "cmhl"):
        if not any((folder / (exe + ext)).is_file() for ext in ("", ".exe")):
            print(f"build failed: {folder / exe} is missing", file=sys.stderr)
            return 1
    rep = folder_report(folder)
    rep["build_seconds"] = round(seconds, 1)
    (DIST / "build-report.json").write_text(json.dumps(rep, indent=1), encoding="utf-8")
    print_report(seconds, rep, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
