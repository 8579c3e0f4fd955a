"""The window fits a laptop (issue 14, point 1): a minimum size hint well under 1280×720, and at
1280×720 and 1536×864 (1920×1080 at 125%) every visible widget lies inside its parent and no two
overlap; the window starts within the available screen; the scope line is always on screen.

Set CMHL_SCREENS=<folder> to save a screenshot of each size there (run once with QT_SCALE_FACTOR=1.25
for the 125% pictures)."""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path

import pytest
from conftest import POSTS, open_and_score, write_posts
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLayout, QWidget

from cmhl_desktop.core.export import SCOPE
from cmhl_desktop.ui.window_layout import MIN_SIZE, fit_rect

pytestmark = pytest.mark.gui

SIZES = [QSize(1280, 720), QSize(1536, 864)]
LONG = " ".join(["We walked the dog and then went shopping for groceries in the rain."] * 12)
CRISIS = "I have a plan to end my life this weekend."
SCREEN_POSTS = [LONG + " " + CRISIS + " " + LONG, *POSTS, "[deleted]"]


def _layout_widgets(layout: QLayout) -> list[QWidget]:
    out = []
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is not None:
            out.append(item.widget())
        elif item.layout() is not None:
            out += _layout_widgets(item.layout())
    return out


def overlaps(root: QWidget) -> list[str]:
    """Pairs of visible widgets placed by the same layout that overlap, and widgets that stick out
    of their parent (outside scroll areas, whose contents may be larger by design)."""
    problems = []
    for parent in [root, *root.findChildren(QWidget)]:
        if not parent.isVisible() or parent.layout() is None:
            continue
        if (
            isinstance(parent.parentWidget(), QAbstractScrollArea)
            or parent.objectName() == "qt_scrollarea_viewport"
        ):
            continue
        kids = [
            w for w in _layout_widgets(parent.layout()) if w.isVisible() and w.width() > 0 and w.height() > 0
        ]
        inner = parent.rect()
        for w in kids:
            if not inner.contains(w.geometry()):
                problems.append(f"{_name(w)} {w.geometry()} sticks out of {_name(parent)} {inner}")
        for a, b in combinations(kids, 2):
            if a.geometry().intersects(b.geometry()):
                problems.append(f"{_name(a)} {a.geometry()} overlaps {_name(b)} {b.geometry()}")
    return problems


def _name(w: QWidget) -> str:
    return f"{type(w).__name__}({w.objectName() or getattr(w, 'text', lambda: '')()!s:.30})"


def _inside(w: QWidget, win: QWidget) -> bool:
    top_left = w.mapTo(win, w.rect().topLeft())
    return win.rect().contains(QRect(top_left, w.size()))


def test_minimum_size_hint_fits_a_laptop(make_window):
    w = make_window()
    hint = w.minimumSizeHint().expandedTo(w.minimumSize())
    assert hint.width() <= 1000 and hint.height() <= 600, f"minimum {hint} is too large for 1280×720"
    # a running job's progress text never widens the window
    w.jobs.progress_row.begin("Scoring… 123,456 / 654,321 posts · 1,234 posts/s and a long tail", False)
    assert w.minimumSizeHint().width() <= 1000
    w.jobs.progress_row.hide()
    assert MIN_SIZE.width() <= 1280 and MIN_SIZE.height() <= 720


@pytest.mark.parametrize(
    "avail",
    [
        QRect(0, 0, 1280, 720 - 40),
        QRect(0, 0, 1536, 864 - 48),
        QRect(1920, 0, 2560, 1400),
        QRect(0, 0, 700, 500),
    ],
)
def test_the_window_starts_within_the_available_screen(avail):
    r = fit_rect(avail)
    assert r.width() >= min(MIN_SIZE.width(), avail.width())
    if avail.width() >= MIN_SIZE.width() and avail.height() >= MIN_SIZE.height():
        assert avail.contains(r), f"{r} is not within {avail}"
    else:  # a screen smaller than the minimum: at least the top-left corner (title bar) is on it
        assert avail.contains(r.topLeft())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s.width()}x{s.height()}")
def test_no_widget_overlaps_at_laptop_sizes(qtbot, make_window, tmp_path, size):
    w = make_window()
    w.resize(size)
    open_and_score(qtbot, w, write_posts(tmp_path / "posts.csv", posts=SCREEN_POSTS))
    w.results.goto_flagged(+1)
    assert w.size() == size
    qtbot.wait(300)  # layouts settle through posted events
    QApplication.processEvents()
    problems = overlaps(w)
    assert not problems, "\n".join(problems)
    # the parts that went off-screen at 1280×720 before: all inside the window now
    for part in (w.scope_label, w.results.count_label, w.statusBar(), w.detail.browser, w.detail.review):
        assert part.isVisible() and _inside(part, w), _name(part)
    assert w.detail.review.reviewer_edit.isVisible() and w.detail.review.note_edit.isVisible()
    assert SCOPE in w.scope_label.text()
    assert w.view.height() >= 150, "room for several rows of the table"
    # the busiest state: urgent with the local protocol, the reviewer prompt, the crash-recovery bar
    w.detail.review.set_protocol(
        "Call the duty clinician on 0123 456 789; record the time and who you spoke to."
    )
    w.set_review_status("urgent")
    w.recovery_bar.offer({"path": str(tmp_path / "posts.csv")})
    qtbot.wait(300)
    assert w.detail.review.prompt.isVisible() and w.detail.review.protocol_label.isVisible()
    assert w.recovery_bar.isVisible()
    assert not overlaps(w), "\n".join(overlaps(w))
    for part in (w.scope_label, w.results.count_label, w.statusBar(), w.detail.browser, w.recovery_bar):
        assert part.isVisible() and _inside(part, w), _name(part)
    # while a job runs its progress row joins the panel: still nothing overlaps or falls off
    w.jobs.progress_row.begin("Scoring… 1,234 / 6,000 posts · 321 posts/s", False)
    qtbot.wait(200)
    assert not overlaps(w), "\n".join(overlaps(w))
    assert _inside(w.results.count_label, w) and _inside(w.jobs.progress_row, w)
    w.jobs.progress_row.hide()
    qtbot.wait(100)
    folder = os.environ.get("CMHL_SCREENS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        scale = os.environ.get("QT_SCALE_FACTOR", "1")
        w.grab().save(str(Path(folder) / f"window-{size.width()}x{size.height()}-scale{scale}.png"))


def test_a_window_starts_within_its_screen_even_after_a_larger_one_was_saved(make_window, settings):
    """A fresh window fits the screen's available area; a saved geometry larger than the screen (a
    bigger monitor last time) is fitted again."""
    from PySide6.QtCore import QByteArray

    w = make_window()
    avail = w.screen().availableGeometry()
    assert avail.contains(w.frameGeometry()) or avail.width() < MIN_SIZE.width()
    w.resize(avail.width() + 900, avail.height() + 700)
    settings.setValue("window/geometry", w.saveGeometry())
    w.close()
    w2 = make_window()
    assert isinstance(w2.saveGeometry(), QByteArray)
    g = w2.frameGeometry()
    assert g.width() <= max(avail.width(), MIN_SIZE.width()) and g.height() <= max(
        avail.height(), MIN_SIZE.height()
    )
    assert avail.contains(g.topLeft())
