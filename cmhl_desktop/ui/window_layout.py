"""The window's layout: its actions, menus, toolbar and plain-key shortcuts (what the F1 list
describes), the splitter between the results panel and the post, and the status bar.

`build(window)` makes every action an attribute of the window (`act_open`, `act_export`, …,
`status_actions` for the review keys 1-4), connected to the window's method of the same job; it
expects the window's parts (`results`, `detail`, `jobs`, `explanations`) to exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QSplitter, QToolBar, QVBoxLayout, QWidget

from cmhl_desktop.core import paths
from cmhl_desktop.core.export import SCOPE
from cmhl_desktop.core.results import REVIEW_STATUSES

DEFAULT_SIZE = QSize(1360, 860)  # on screens that have room; otherwise the available area
FRAME = QSize(16, 40)  # room kept for a window frame and title bar (unknown before the first show)
MIN_SIZE = QSize(760, 520)  # usable on 1280x720 (and 1536x864, 1920x1080 at 125%) with room to spare


def icon(name: str) -> QIcon:
    p = paths.resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(p)) if p.is_file() else QIcon()


def _action(w: QMainWindow, text: str, slot: Callable, shortcut=None, tip: str | None = None) -> QAction:
    a = QAction(text, w)
    if shortcut:
        a.setShortcut(QKeySequence(shortcut))
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(tip)
    a.triggered.connect(slot)
    return a


def build(w) -> None:
    """Actions, menus, toolbar, shortcuts, central splitter and status bar of a `MainWindow`."""
    w.setWindowTitle(w.APP)
    w.setWindowIcon(icon("app"))
    w.setAcceptDrops(True)
    w.setMinimumSize(MIN_SIZE)
    fit_to_screen(w)
    std = QKeySequence.StandardKey
    w.act_open = _action(
        w,
        "&Open…",
        w.open_file_dialog,
        std.Open,
        "Open a spreadsheet, csv, txt or jsonl file (or an exported workbook)",
    )
    w.act_open_folder = _action(
        w,
        "Open &folder of .txt files…",
        w.open_folder_dialog,
        None,
        "Open a folder with one post per .txt file",
    )
    w.act_export = _action(
        w, "&Export…", w.export_dialog, "Ctrl+E", "Export results and review to .xlsx or .csv"
    )
    w.act_rescore = _action(
        w,
        "&Re-score with the current model",
        w.rescore,
        None,
        "Score the open file again (e.g. after choosing another model)",
    )
    w.act_quit = _action(w, "&Quit", w.close, std.Quit)
    w.act_cancel = _action(w, "&Cancel running task", w.jobs.cancel_current, "Esc")
    w.act_reviewer = _action(
        w,
        "Re&viewer name",
        w.focus_reviewer,
        "Ctrl+Shift+R",
        "Type the reviewer's name saved with each review",
    )
    w.act_protocol = _action(
        w,
        "Crisis &protocol…",
        w.reviews.edit_protocol,
        None,
        "Who to call and what to do when a post is urgent",
    )
    w.act_storage = _action(
        w, "Where are reviews &kept?", w.reviews.show_storage, None, "The folder of the review journals"
    )
    w.act_explain_all = _action(
        w,
        "Explain all &flagged",
        w.explanations.explain_all_flagged,
        "Ctrl+Shift+X",
        "Compute word highlights for every flagged post",
    )
    w.act_model = _action(
        w, "&Choose checkpoint folder…", w.choose_model_dialog, None, "Load another CMHL checkpoint folder"
    )
    w.act_model_default = _action(w, "Use the &default checkpoint", w.load_default_model)
    w.act_card = _action(w, "Model &card", w.show_model_card, None, "The checkpoint's model card")
    w.act_shortcuts = _action(w, "&Keyboard shortcuts", w.show_shortcuts, "F1")
    w.act_about = _action(w, "&About CMHL Desktop", w.show_about)
    w.act_next = _action(w, "Next flagged post", lambda: w.goto_flagged(+1), "Ctrl+Down")
    w.act_prev = _action(w, "Previous flagged post", lambda: w.goto_flagged(-1), "Ctrl+Up")
    w.act_search = _action(w, "Search text", w.results.focus_search, std.Find)
    for a in (w.act_next, w.act_prev, w.act_search, w.act_cancel, w.act_reviewer):
        w.addAction(a)
    w.status_actions = []
    for k, s in enumerate(REVIEW_STATUSES, start=1):
        a = _action(w, f"Mark as “{s}”", lambda _=False, st=s: w.set_review_status(st), str(k))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        w.addAction(a)
        w.status_actions.append(a)

    mb = w.menuBar()
    m = mb.addMenu("&File")
    m.addActions([w.act_open, w.act_open_folder])
    w.recent_menu = m.addMenu("Open &recent")
    m.addSeparator()
    m.addActions([w.act_export, w.act_rescore])
    m.addSeparator()
    m.addAction(w.act_quit)
    r = mb.addMenu("&Review")
    r.addActions([w.act_next, w.act_prev])
    r.addSeparator()
    r.addActions(w.status_actions)
    r.addSeparator()
    r.addActions([w.act_reviewer, w.act_protocol, w.act_storage])
    r.addSeparator()
    r.addActions([w.act_explain_all, w.act_search, w.act_cancel])
    mm = mb.addMenu("&Model")
    mm.addActions([w.act_model, w.act_model_default, w.act_card])
    h = mb.addMenu("&Help")
    h.addActions([w.act_shortcuts, w.act_about])

    tb = QToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    tb.addActions([w.act_open, w.act_export])
    tb.addSeparator()
    tb.addAction(w.act_explain_all)
    tb.addSeparator()
    tb.addAction(w.act_card)
    w.addToolBar(tb)

    # J/K as plain keys: window-wide, but text fields take their own letters (ShortcutOverride)
    w.sc_next = QShortcut(QKeySequence("J"), w, activated=lambda: w.goto_flagged(+1))
    w.sc_prev = QShortcut(QKeySequence("K"), w, activated=lambda: w.goto_flagged(-1))
    w.sc_note = QShortcut(QKeySequence("N"), w, activated=w.focus_note)

    w.splitter = QSplitter(Qt.Orientation.Horizontal)
    w.splitter.setObjectName("mainSplitter")
    w.splitter.addWidget(w.results)
    w.splitter.addWidget(w.detail)
    w.splitter.setStretchFactor(0, 3)
    w.splitter.setStretchFactor(1, 2)
    w.splitter.setSizes([700, 540])
    w.splitter.setChildrenCollapsible(False)
    w.scope_label = QLabel("⚠ " + SCOPE)
    w.scope_label.setObjectName("scope")
    w.scope_label.setWordWrap(True)
    w.scope_label.setToolTip(
        "CMHL Desktop orders posts for a person to read. It does not diagnose. Every flag must be read "
        "and judged by a qualified person, and posts that are not flagged can still need attention."
    )
    central = QWidget()
    lay = QVBoxLayout(central)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(0)
    lay.addWidget(w.scope_label)
    lay.addWidget(w.recovery_bar)
    lay.addWidget(w.splitter, 1)
    w.setCentralWidget(central)

    w.model_label = QLabel("Model: loading…")
    w.model_label.setObjectName("modelLabel")
    w.offline_label = QLabel("● Offline")
    w.offline_label.setObjectName("offline")
    w.offline_label.setToolTip(
        "Offline — nothing leaves this computer. CMHL Desktop has no network code: files, scores and "
        "reviews stay on this computer."
    )
    w.statusBar().addPermanentWidget(w.model_label)
    w.statusBar().addPermanentWidget(w.offline_label)


def fill_recent(menu: QMenu, files: list[str], open_path: Callable[[str], None]) -> None:
    """The File → Open recent menu: one entry per file (greyed out when it is gone)."""
    menu.clear()
    for f in files:
        a = menu.addAction(Path(f).name)
        a.setToolTip(f)
        a.setStatusTip(f)
        a.setEnabled(Path(f).exists())
        a.triggered.connect(lambda _=False, p=f: open_path(p))
    if not files:
        menu.addAction("(none)").setEnabled(False)


def fit_rect(avail: QRect) -> QRect:
    """Where a new window goes in a screen's available area: DEFAULT_SIZE where it fits, else the
    area less a margin (never under MIN_SIZE), centred, its top-left corner always on the screen."""
    width = min(DEFAULT_SIZE.width(), max(MIN_SIZE.width(), avail.width() - 40))
    height = min(DEFAULT_SIZE.height(), max(MIN_SIZE.height(), avail.height() - 60))
    frame = QRect(0, 0, width, height)
    frame.moveCenter(avail.center())
    frame.moveTopLeft(QPoint(max(avail.left(), frame.left()), max(avail.top(), frame.top())))
    return frame


def fit_to_screen(w: QMainWindow) -> None:
    """Start within the available area of the window's screen (`fit_rect`; a restored geometry is
    checked again by `keep_on_screen`)."""
    screen = w.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        w.resize(DEFAULT_SIZE)
        return
    r = fit_rect(screen.availableGeometry())
    w.resize(r.size())
    w.move(r.topLeft())


def keep_on_screen(w: QMainWindow) -> None:
    """After a geometry was restored: a window larger than the screen (with room for its frame,
    unknown before it is shown), or off it, is fitted again."""
    screen = w.screen() or QGuiApplication.primaryScreen()
    if screen is None or w.isMaximized():
        return
    avail = screen.availableGeometry()
    g = w.frameGeometry()
    too_big = g.width() > avail.width() - FRAME.width() or g.height() > avail.height() - FRAME.height()
    if too_big or not avail.contains(g.topLeft()):
        fit_to_screen(w)
