"""Smoke test of the built folder (`make installer-test`, after `make installer`).

    python installer/smoke_test.py [--dist DIR] [--keep] [--no-netns] [--timeout S]

1. Copies installer/dist/cmhl-desktop to a NEW temporary folder (with a space in its path): the
   folder must work wherever it is copied.
2. Runs the frozen GUI's `cmhl-desktop --smoke-test OUT.png` offscreen in a clean environment —
   only PATH=/usr/bin:/bin, HOME=<empty temp dir>, QT_QPA_PLATFORM=offscreen and LANG; no venv,
   PYTHONPATH/PYTHONHOME unset — and, on Linux, inside a new network namespace (`unshare -rn`: only
   a loopback interface, no route out), so any network attempt fails. Checks exit 0 and a PNG.
3. Runs the frozen `cmhl score <bundled sample> -o out.xlsx` the same way and checks the workbook has
   one row per input post. (While `cmhl score` is not in the build yet, says so and checks
   `cmhl explain --input <sample> --row 1 --json` instead.)
4. Runs the frozen `cmhl explain --model <tiny RoBERTa checkpoint> --text ... --json`: the RoBERTa
   code paths of transformers are in the bundle too (the checkpoint is written by the build venv).

Prints the timings: cold start to the window shown (first output of Qt's offscreen window, see
`window_shown_s` below), to the model loaded, to the posts scored, to the screenshot (the PNG on
disk), and the total of each run. The build venv's Python is used only to drive the test and to
read the output workbook (openpyxl).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = "cmhl-desktop"
EXE = ".exe" if os.name == "nt" else ""
# Qt's offscreen platform prints this when the main window is first created and shown (w.show());
# it is the earliest outside sign of a visible window. See `window_shown_s`.
WINDOW_SHOWN_MARK = "propagateSizeHints"


class Failed(Exception):
    pass


def clean_env(home: Path) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": os.environ.get("CMHL_TEST_LANG", "C.UTF-8"),
        "TMPDIR": str(home / "tmp"),
        "XDG_RUNTIME_DIR": str(home / "run"),
    }
    if os.name == "nt":  # Windows needs its system folders to start any program
        env["PATH"] = os.environ.get("SystemRoot", r"C:\Windows") + r"\System32"
        env["SystemRoot"] = os.environ.get("SystemRoot", r"C:\Windows")
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    return env


def netns_prefix(use_netns: bool) -> list[str]:
    """`unshare -rn` on Linux: a user + network namespace with only loopback (down); no way out."""
    if not use_netns:
        print("network: NOT isolated (--no-netns)")
        return []
    if not sys.platform.startswith("linux"):
        print(f"network: not isolated ({platform.system()} has no unshare; run it with the network off)")
        return []
    unshare = shutil.which("unshare", path="/usr/bin:/bin")
    if not unshare:
        raise Failed("`unshare` (util-linux) is missing: install it or pass --no-netns")
    probe = subprocess.run([unshare, "-rn", "cat", "/proc/net/route"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise Failed(f"`unshare -rn` does not work here ({probe.stderr.strip()}); pass --no-netns to skip")
    routes = [ln for ln in probe.stdout.splitlines()[1:] if ln.strip()]
    if routes:
        raise Failed(f"`unshare -rn` left {len(routes)} route(s) in the namespace")
    print("network: isolated (unshare -rn: new network namespace, loopback only, no routes)")
    return [unshare, "-rn"]


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float, watch: Path | None = None) -> dict:
    """Run a frozen command; time stamp its stderr lines as they come and the moment `watch` appears."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    err_lines: list[tuple[float, str]] = []
    out_chunks: list[str] = []

    def read_err() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            err_lines.append((time.perf_counter() - t0, line.rstrip("\n")))

    def read_out() -> None:
        out_chunks.append(proc.stdout.read())  # type: ignore[union-attr]

    threads = [threading.Thread(target=read_err, daemon=True), threading.Thread(target=read_out, daemon=True)]
    for t in threads:
        t.start()
    seen_at = None
    deadline = t0 + timeout
    while proc.poll() is None:
        if watch is not None and seen_at is None and watch.exists():
            seen_at = time.perf_counter() - t0
        if time.perf_counter() > deadline:
            proc.kill()
            proc.wait()
            raise Failed(f"timeout after {timeout:.0f} s: {' '.join(cmd)}")
        time.sleep(0.02)
    total = time.perf_counter() - t0
    for t in threads:
        t.join(timeout=10)
    if watch is not None and seen_at is None and watch.exists():
        seen_at = total
    return {
        "rc": proc.returncode,
        "stdout": "".join(out_chunks),
        "stderr": err_lines,
        "total_s": total,
        "file_at_s": seen_at,
    }


def show_failure(name: str, res: dict) -> None:
    print(f"--- {name}: exit {res['rc']}; stdout:\n{res['stdout'][-3000:]}")
    print("--- stderr (last 40 lines):")
    for t, line in res["stderr"][-40:]:
        print(f"  [{t:6.1f}s] {line}")


def count_rows(xlsx: Path) -> tuple[str, int]:
    """(first sheet's name, its non-empty rows after the header)."""
    from openpyxl import load_workbook

    wb = load_workbook(xlsx, read_only=True)
    ws = wb.worksheets[0]
    n = sum(1 for row in ws.iter_rows(min_row=2, values_only=True) if any(v not in (None, "") for v in row))
    name = ws.title
    wb.close()
    return name, n


def gui_check(folder: Path, work: Path, env: dict, prefix: list[str], timeout: float) -> dict:
    png = work / "out" / "smoke screenshot.png"
    cmd = [*prefix, str(folder / (APP + EXE)), "--smoke-test", str(png), "--timeout", str(int(timeout - 30))]
    res = run(cmd, env, work, timeout, watch=png)
    if res["rc"] != 0:
        show_failure("cmhl-desktop --smoke-test", res)
        raise Failed(f"the frozen GUI's smoke test exited {res['rc']}")
    if not png.is_file() or png.stat().st_size == 0:
        raise Failed(f"no screenshot at {png}")
    with png.open("rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            raise Failed(f"{png} is not a PNG")
    msg = res["stdout"].strip().splitlines()[-1] if res["stdout"].strip() else ""
    shown = next((t for t, line in res["stderr"] if WINDOW_SHOWN_MARK in line), None)
    m = re.search(r"loaded in ([\d.]+) s, (\d+) posts scored by ([\d.]+) s, (\d+) flagged", msg)
    return {
        "message": msg,
        "png": png,
        "png_bytes": png.stat().st_size,
        "window_shown_s": shown,
        "screenshot_s": res["file_at_s"],
        "total_s": res["total_s"],
        # the smoke test's own clock starts when the QApplication exists (after Python, Qt and the UI import)
        "model_after_app_s": float(m.group(1)) if m else None,
        "scored_after_app_s": float(m.group(3)) if m else None,
        "rows": int(m.group(2)) if m else None,
        "flagged": int(m.group(4)) if m else None,
    }


def cli_check(folder: Path, work: Path, env: dict, prefix: list[str], timeout: float) -> dict:
    cli = [*prefix, str(folder / ("cmhl" + EXE))]
    sample = folder / "_internal" / "resources" / "samples" / "forum_posts.xlsx"
    if not sample.is_file():
        raise Failed(f"the bundled sample is missing: {sample}")
    _, expected = count_rows(sample)
    helpres = run([*cli, "--help"], env, work, timeout)
    if helpres["rc"] != 0:
        show_failure("cmhl --help", helpres)
        raise Failed(f"the frozen `cmhl --help` exited {helpres['rc']}")
    has_score = re.search(r"\{[^}]*\bscore\b", helpres["stdout"]) is not None
    out = {"help_s": helpres["total_s"], "expected_rows": expected, "has_score": has_score}
    if has_score:
        xlsx = work / "out" / "scored sample.xlsx"
        res = run([*cli, "score", str(sample), "-o", str(xlsx)], env, work, timeout)
        if res["rc"] != 0:
            show_failure("cmhl score", res)
            raise Failed(f"the frozen `cmhl score` exited {res['rc']}")
        if not xlsx.is_file() or xlsx.stat().st_size == 0:
            raise Failed(f"`cmhl score` wrote no workbook at {xlsx}")
        sheet, rows = count_rows(xlsx)
        if rows != expected:
            raise Failed(f"{xlsx} sheet {sheet!r} has {rows} rows, expected {expected} (one per input post)")
        out.update(command="score", total_s=res["total_s"], rows=rows, sheet=sheet, output=xlsx)
    else:
        res = run([*cli, "explain", "--input", str(sample), "--row", "1", "--json"], env, work, timeout)
        if res["rc"] != 0:
            show_failure("cmhl explain", res)
            raise Failed(f"the frozen `cmhl explain` exited {res['rc']}")
        try:
            data = json.loads(res["stdout"])
        except ValueError:
            raise Failed(f"`cmhl explain --json` printed no JSON: {res['stdout'][:300]!r}") from None
        out.update(command="explain", total_s=res["total_s"], keys=sorted(data)[:8])
    return out


def roberta_check(folder: Path, work: Path, env: dict, prefix: list[str], timeout: float) -> dict:
    ckpt = work / "tiny-roberta"
    made = subprocess.run(
        [sys.executable, str(HERE / "tiny_roberta.py"), str(ckpt)], capture_output=True, text=True
    )
    if made.returncode != 0:
        raise Failed(f"could not write the tiny RoBERTa checkpoint: {made.stderr[-1500:]}")
    cmd = [
        *prefix, str(folder / ("cmhl" + EXE)), "explain", "--model", str(ckpt), "--text",
        "I can't sleep and nothing feels worth it any more.", "--json",
    ]  # fmt: skip
    res = run(cmd, env, work, timeout)
    if res["rc"] != 0:
        show_failure("cmhl explain --model <tiny RoBERTa>", res)
        raise Failed(f"the frozen CLI could not run a RoBERTa checkpoint (exit {res['rc']})")
    json.loads(res["stdout"])
    return {"total_s": res["total_s"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", type=Path, default=HERE / "dist" / APP, help="the built folder")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy and outputs")
    ap.add_argument("--no-netns", action="store_true", help="do not isolate the network (not Linux)")
    ap.add_argument("--no-roberta", action="store_true", help="skip the tiny RoBERTa checkpoint check")
    ap.add_argument("--timeout", type=float, default=600.0, help="per frozen run, seconds (default 600)")
    args = ap.parse_args(argv)

    src = args.dist.resolve()
    if not (src / (APP + EXE)).is_file() or not (src / ("cmhl" + EXE)).is_file():
        print(f"no build at {src}: run `make installer` first", file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="cmhl-installer-test-"))
    ok = False
    try:
        folder = root / "moved here" / APP  # a new place, with a space in the path
        t = time.perf_counter()
        shutil.copytree(src, folder, symlinks=True)
        print(f"copied {src} -> {folder} ({time.perf_counter() - t:.1f} s)")
        home = root / "home"
        env = clean_env(home)
        work = root / "work"
        (work / "out").mkdir(parents=True)
        prefix = netns_prefix(not args.no_netns)
        print(f"environment: {json.dumps(env)}")

        print("\n[1/3] cmhl-desktop --smoke-test (offscreen)")
        gui = gui_check(folder, work, env, prefix, args.timeout)
        print(f"  {gui['message']}")
        keep_png = HERE / "build" / "smoke-screenshot.png"
        keep_png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gui["png"], keep_png)
        print(f"  screenshot: {gui['png_bytes']:,} bytes (copy: {keep_png})")

        print("\n[2/3] cmhl on the bundled sample")
        cli = cli_check(folder, work, env, prefix, args.timeout)
        if cli["command"] == "score":
            print(
                f"  cmhl score: {cli['rows']} rows in sheet {cli['sheet']!r} (expected {cli['expected_rows']})"
            )
        else:
            print(
                "  NOTE: this build's `cmhl` has no `score` command yet (cmhl_desktop/commands/score.py is "
                "not in the checkout); checked `cmhl explain --input <sample> --row 1 --json` instead"
            )

        rob = None
        if not args.no_roberta:
            print("\n[3/3] cmhl explain on a tiny RoBERTa checkpoint")
            rob = roberta_check(folder, work, env, prefix, args.timeout)
            print("  ok")

        def s(x: float | None) -> str:
            return "n/a" if x is None else f"{x:6.1f} s"

        print("\n== timings (frozen, clean environment" + (", no network)" if prefix else ")"))
        print(f"  GUI cold start -> window shown            {s(gui['window_shown_s'])}")
        if gui["model_after_app_s"] is not None:
            print(
                f"  (the app's own clock, from its QApplication: model loaded {s(gui['model_after_app_s'])}, "
                f"{gui['rows']} posts scored {s(gui['scored_after_app_s'])})"
            )
        print(f"  GUI cold start -> screenshot on disk      {s(gui['screenshot_s'])}")
        print(f"  GUI smoke test total (to exit)            {s(gui['total_s'])}")
        print(f"  cmhl --help                               {s(cli['help_s'])}")
        print(f"  cmhl {cli['command']} (sample, total)               {s(cli['total_s'])}")
        if rob:
            print(f"  cmhl explain (tiny RoBERTa, total)        {s(rob['total_s'])}")
        print(f"  installer test total                      {s(time.perf_counter() - t_all)}")
        if args.keep:
            print(f"\nkept: {root} (screenshot: {gui['png']})")
        print("\ninstaller test: OK")
        ok = True
        return 0
    except Failed as e:
        print(f"\ninstaller test FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if not (args.keep or not ok and os.environ.get("CMHL_KEEP_FAILED")):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
