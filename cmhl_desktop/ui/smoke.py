"""`cmhl-desktop --smoke-test OUT.png`: the real window, offscreen, end to end.

Loads the model, opens the bundled fictional sample, scores it, selects the top flagged post,
waits for its word highlights, saves a screenshot of the whole window and exits 0. Any failure
exits non-zero with one line on stderr; a watchdog makes sure it never hangs. Settings and review
files go to a temporary folder, never the user's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from cmhl_desktop.core import paths


def sample_input() -> Path | None:
    for name in ("forum_posts.xlsx", "forum_posts.csv"):
        p = paths.resources_dir() / "samples" / name
        if p.is_file():
            return p
    return None


def run_smoke(
    out_png: str | Path, model: str | None = None, input_path: str | None = None, timeout_s: float = 300.0
) -> int:
    from PySide6.QtCore import QSettings, QTimer

    from cmhl_desktop.ui.app import make_app, setup_logging
    from cmhl_desktop.ui.main_window import MainWindow

    setup_logging()
    out_png = Path(out_png)
    src = Path(input_path) if input_path else sample_input()
    if src is None or not src.exists():
        print(
            "smoke test failed: no input (resources/samples/forum_posts.xlsx|.csv is missing)",
            file=sys.stderr,
        )
        return 2
    model_dir = Path(model) if model else paths.default_checkpoint()
    if not model_dir.is_dir():
        print(f"smoke test failed: no checkpoint folder at {model_dir}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    app = make_app()
    tmp = tempfile.TemporaryDirectory(prefix="cmhl-smoke-")
    os.environ.setdefault("CMHL_DATA_DIR", str(Path(tmp.name) / "data"))
    settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(
        model_dir=model_dir, settings=settings, data_dir=Path(tmp.name) / "data", interactive=False
    )
    w.resize(1400, 900)
    w.show()
    outcome: dict[str, object] = {"rc": None, "msg": ""}
    info: dict[str, object] = {}

    def finish(rc: int, msg: str) -> None:
        if outcome["rc"] is not None:
            return
        outcome["rc"], outcome["msg"] = rc, msg
        QTimer.singleShot(0, app.quit)

    def on_model(name: str) -> None:
        info["model"] = name
        info["t_model"] = time.perf_counter() - t0
        w.open_path(src, ask=False)

    def on_scored(n: int) -> None:
        info["rows"] = n
        info["t_scored"] = time.perf_counter() - t0
        flagged = sum(1 for r in w.model.results if r is not None and r.flagged)
        info["flagged"] = flagged
        w.select_proxy_row(0)  # flagged first: the top row is the top flagged post
        if w.detail.row is None:
            finish(1, "smoke test failed: no post could be selected")

    def on_explained(row: int, head: str, cls: str) -> None:
        if row != w.detail.row or "target" in info:
            return
        info["target"] = f"{head}:{cls}"
        QTimer.singleShot(300, shoot)

    def shoot() -> None:
        try:
            out_png.parent.mkdir(parents=True, exist_ok=True)
            if not w.grab().save(str(out_png)):
                finish(1, f"smoke test failed: could not write {out_png}")
                return
        except Exception as e:  # one line, no text
            finish(1, f"smoke test failed: screenshot ({type(e).__name__})")
            return
        finish(
            0,
            (
                f"smoke test ok: model {info.get('model')} loaded in {info.get('t_model', 0):.1f} s, "
                f"{info.get('rows')} posts scored by {info.get('t_scored', 0):.1f} s, {info.get('flagged')} flagged, "
                f"highlights for {info.get('target')}, screenshot {out_png}"
            ),
        )

    w.model_ready.connect(on_model)
    w.model_failed.connect(
        lambda msg: finish(1, f"smoke test failed: model: {msg.splitlines()[0] if msg else ''}")
    )
    w.error_shown.connect(lambda title, msg: finish(1, f"smoke test failed: {title}: {msg.splitlines()[0]}"))
    w.scoring_done.connect(on_scored)
    w.scoring_cancelled.connect(lambda n: finish(1, "smoke test failed: scoring was cancelled"))
    w.explanation_ready.connect(on_explained)
    watchdog = QTimer(singleShot=True, interval=int(timeout_s * 1000))
    watchdog.timeout.connect(lambda: finish(3, f"smoke test failed: timeout after {timeout_s:.0f} s"))
    watchdog.start()

    app.exec()
    w.shutdown()
    w.close()
    tmp.cleanup()
    rc = int(outcome["rc"] if outcome["rc"] is not None else 1)
    print(
        outcome["msg"] or "smoke test failed: the event loop stopped early",
        file=sys.stdout if rc == 0 else sys.stderr,
    )
    return rc
