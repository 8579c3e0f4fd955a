"""GUI fixtures: offscreen Qt, temporary settings and data folder, sockets disabled, the tiny model,
and a check that no worker thread outlives a test."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QThreadPool  # noqa: E402

from cmhl_desktop.ui import workers  # noqa: E402

# Fictional posts written for these tests (no real data). Some are clearly distressed, some not.
POSTS = [
    "I can't sleep again and everything feels pointless lately.",
    "Had a great time hiking with my sister this weekend!",
    "My heart races before every exam and I can't breathe properly.",
    "Does anyone know a good recipe for banana bread?",
    "Some days I feel on top of the world and then I crash for weeks.",
    "I keep thinking everyone would be better off without me.",
    "The new library opening hours are really convenient.",
    "Worried all the time about things that probably won't happen.",
    "Finally finished the puzzle, 2000 pieces!",
    "I haven't left my room in days and I don't see the point in trying.",
    '=HYPERLINK("x") looks like a formula but it is just a post',
    "",
]


def write_posts(path: Path, n: int | None = None, posts: list[str] | None = None) -> Path:
    """A csv with an id, a date and the post text (the text column must be guessed)."""
    posts = posts or POSTS
    n = n or len(posts)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "date", "post"])
        for i in range(n):
            w.writerow([f"u{i:05d}", f"2025-01-0{1 + i % 9}", posts[i % len(posts)]])
    return path


@pytest.fixture(autouse=True)
def _gui_env(no_network, tmp_path, monkeypatch):
    """Every GUI test: no network, a temporary data folder (reviews), no user settings touched."""
    monkeypatch.setenv("CMHL_DATA_DIR", str(tmp_path / "appdata"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    yield


@pytest.fixture(scope="session", autouse=True)
def _refcount_guard(qapp):
    """The app's guard against PySide6 6.12's lost references on Python < 3.12 (ui/qt_compat.py)."""
    from cmhl_desktop.ui.qt_compat import install_refcount_guard

    install_refcount_guard(qapp)
    yield


@pytest.fixture(autouse=True)
def no_threads_left(qapp):
    """Fail a test that leaves a worker thread running (a thread that is just quitting after its
    last signal gets a moment to stop; one that is still working fails the test)."""
    yield
    deadline = time.monotonic() + 10
    while workers.running_tasks() and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    leftover = workers.running_tasks()
    if leftover:
        names = [t.name for t in leftover]
        workers.cancel_all_and_wait(30_000)
        pytest.fail(f"worker threads still running after the test: {names}")
    assert QThreadPool.globalInstance().waitForDone(5000)
    assert QThreadPool.globalInstance().activeThreadCount() == 0


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def posts_csv(tmp_path) -> Path:
    return write_posts(tmp_path / "posts.csv")


@pytest.fixture
def make_window(qtbot, tiny_checkpoint_dir, settings, tmp_path):
    """Build a MainWindow on the tiny model; waits until the model is loaded. Shuts it down after."""
    from cmhl_desktop.ui.app import apply_style
    from cmhl_desktop.ui.main_window import MainWindow

    made = []

    def make(wait_model: bool = True, **kw):
        kw.setdefault("model_dir", tiny_checkpoint_dir)
        kw.setdefault("settings", settings)
        kw.setdefault("data_dir", tmp_path / "appdata")
        apply_style(qtbot_app())
        w = MainWindow(**kw)
        qtbot.addWidget(w)
        made.append(w)
        if wait_model:
            with qtbot.waitSignal(w.model_ready, timeout=120_000):
                w.show()
        else:
            w.show()
        return w

    def qtbot_app():
        from PySide6.QtWidgets import QApplication

        return QApplication.instance()

    yield make
    for w in made:
        try:
            w.shutdown()
        except RuntimeError:  # already deleted (the crash test)
            pass


def open_and_score(qtbot, w, path: Path, timeout: int = 60_000) -> None:
    """Open without the dialog and wait for scoring to finish."""
    with qtbot.waitSignal(w.scoring_done, timeout=timeout):
        w.open_path(path, ask=False)
