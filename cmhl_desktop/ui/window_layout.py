"""The window's layout: its actions, menus, toolbar and plain-key shortcuts (what the F1 list
describes), the splitter between the results panel and the post, and the status bar.

`build(window)` makes every action an attribute of the window (`act_open`, `act_export`, …,
`status_actions` for the review keys 1-4), connected to the window's method of the same job; it
expects the window's parts (`results`, `detail`, `jobs`, `explanations`) to exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QSplitter, QToolBar

from cmhl_desktop.core import paths
from cmhl_desktop.core.results import REVIEW_STATUSES


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
    w.resize(1360, 860)
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
    for a in (w.act_next, w.act_prev, w.act_search, w.act_cancel):
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
    w.splitter.setSizes([870, 530])
    w.splitter.setChildrenCollapsible(False)
    w.setCentralWidget(w.splitter)

    w.model_label = QLabel("Model: loading…")
    w.model_label.setObjectName("modelLabel")
    w.offline_label = QLabel("● Offline — nothing leaves this computer")
    w.offline_label.setObjectName("offline")
    w.offline_label.setToolTip(
        "CMHL Desktop has no network code: files, scores and reviews stay on this computer."
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
