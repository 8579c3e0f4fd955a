"""The main window: open → score (worker) → triage table → detail with highlights → review → export.

Threading: every piece of long work is a core function run by `workers.Task` on its own QThread;
results come back to this (GUI) thread through queued signals. The model is used by one task at a
time (`workers.MODEL_LOCK`). Nothing here logs or shows post text outside the post views.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import os
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop import __version__
from cmhl_desktop.core import paths
from cmhl_desktop.core.results import REVIEW_STATUSES, PostResult
from cmhl_desktop.core.review_store import ReviewStore
from cmhl_desktop.ui import workers
from cmhl_desktop.ui.detail_view import DetailView, default_target
from cmhl_desktop.ui.dialogs import AboutDialog, model_card_dialog, shortcuts_dialog
from cmhl_desktop.ui.flag_controls import FlagRulesPanel
from cmhl_desktop.ui.results_model import (
    COL_CATEGORY,
    COL_DISTRESS,
    COL_EMOTION,
    COL_FLAG,
    COL_INTENSITY,
    COL_REVIEW,
    COL_ROW,
    COL_VALENCE,
    COLUMNS,
    RESULT_ROLE,
    ROW_ROLE,
    ResultsModel,
    ResultsProxy,
)

log = logging.getLogger(__name__)

ORG, APP = "CMHL", "CMHL Desktop"
MAX_RECENT = 8
FLUSH_MS = 150  # scoring chunks are put into the table at most this often
MODEL_NICE = 5  # model work runs at a lower OS priority than the window (Linux)
EXPLAIN_BATCH = 8  # posts per batched attribution call in "Explain all flagged"
OPEN_FILTER = "Posts (*.xlsx *.xlsm *.csv *.tsv *.txt *.jsonl);;All files (*)"


def icon(name: str) -> QIcon:
    p = paths.resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(p)) if p.is_file() else QIcon()


def describe_error(e: BaseException) -> str:
    """A message for the user that cannot contain post text: our own errors carry file names and
    row numbers only; anything unexpected is reported by type alone."""
    try:
        from cmhl_desktop.core.readers import InputError
    except ImportError:  # pragma: no cover
        InputError = ()  # type: ignore[assignment]  # noqa: N806
    try:
        from cmhl_desktop.core.export import ExportError
    except ImportError:  # pragma: no cover
        ExportError = ()  # type: ignore[assignment]  # noqa: N806
    safe: tuple = (InputError, ExportError, FileNotFoundError, PermissionError, IsADirectoryError)
    try:
        from cmhl.checkpoint import CheckpointError

        safe += (CheckpointError,)
    except Exception:  # torch not importable yet: fine, it was not the error then
        pass
    if isinstance(e, safe) and str(e):
        return str(e)
    if isinstance(e, MemoryError):
        return "Out of memory."
    return f"An unexpected error occurred ({type(e).__name__}). Details without post text are in the log."


def log_exception(context: str, e: BaseException) -> None:
    """Log the type and the code location only: exception messages may quote post text."""
    frames = "".join(traceback.format_tb(e.__traceback__)[-6:])
    log.error("%s failed: %s\n%s", context, type(e).__name__, frames)


class MainWindow(QMainWindow):
    model_ready = Signal(str)
    model_failed = Signal(str)
    table_ready = Signal(int)
    scoring_progress = Signal(int, int)
    scoring_done = Signal(int)
    scoring_cancelled = Signal(int)
    explanation_ready = Signal(int, str, str)
    explain_all_done = Signal(int)
    export_done = Signal(str)
    error_shown = Signal(str, str)

    def __init__(
        self,
        model_dir: str | Path | None = None,
        settings: QSettings | None = None,
        data_dir: str | Path | None = None,
        interactive: bool = True,
        autoload: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings(ORG, APP)
        self.data_dir = (
            Path(data_dir)
            if data_dir
            else Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or ".")
        )
        self.interactive = interactive
        self.engine = None  # ui.engine.Engine once loaded
        self.table = None  # core.readers.InputTable
        self.store: ReviewStore | None = None
        self._stored_reviews: dict = {}
        self._generation = 0  # bumps with every new table: late results of an old one are dropped
        self._explain_cache: dict[tuple[int, str, str, bool], tuple[str, str]] = {}
        self._explain_wanted: tuple[int, str, str, bool] | None = None
        self._explain_task: workers.Task | None = None
        self._score_task: workers.Task | None = None
        self._load_task: workers.Task | None = None
        self._read_task: workers.Task | None = None
        self._export_task: workers.Task | None = None
        self._explain_all_task: workers.Task | None = None
        self._pending_chunks: list[tuple[int, list[PostResult]]] = []
        self._probs_cache: dict = {}
        self._deferred: dict[str, list] = {}
        self._closing = False  # set by shutdown(): no new work starts
        self._auto_selecting = False
        self._user_picked = False  # the user chose a row in this table (then it is never moved)
        self._score_pending = False  # a table waits for the model
        self._progress_task: workers.Task | None = None
        self._progress_started = 0.0
        self.open_dialog = None
        self.error_boxes: list[QMessageBox] = []
        self.last_error: tuple[str, str] | None = None
        self.show_tokens = False

        self.setWindowTitle(APP)
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.resize(1360, 860)
        self._build_actions()
        self._build_menus()
        self._build_central()
        self._build_statusbar()
        self._build_shortcuts()
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush_chunks)
        self._restore_settings()
        self._update_actions()

        self._model_dir = Path(model_dir) if model_dir else None
        if autoload:
            QTimer.singleShot(0, self._autoload_model)

    # ================================================================== building

    def _build_actions(self) -> None:
        def act(text, slot, shortcut=None, tip=None, icon_name=None) -> QAction:
            a = QAction(text, self)
            if icon_name:
                a.setIcon(icon(icon_name))
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setStatusTip(tip)
                a.setToolTip(tip)
            a.triggered.connect(slot)
            return a

        self.act_open = act(
            "&Open…",
            self.open_file_dialog,
            QKeySequence.StandardKey.Open,
            "Open a spreadsheet, csv, txt or jsonl file (or an exported workbook)",
        )
        self.act_open_folder = act(
            "Open &folder of .txt files…",
            self.open_folder_dialog,
            None,
            "Open a folder with one post per .txt file",
        )
        self.act_export = act(
            "&Export…", self.export_dialog, "Ctrl+E", "Export results and review to .xlsx or .csv"
        )
        self.act_rescore = act(
            "&Re-score with the current model",
            self.rescore,
            None,
            "Score the open file again (e.g. after choosing another model)",
        )
        self.act_quit = act("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_cancel = act("&Cancel running task", self.cancel_current, "Esc")
        self.act_explain_all = act(
            "Explain all &flagged",
            self.explain_all_flagged,
            "Ctrl+Shift+X",
            "Compute word highlights for every flagged post",
        )
        self.act_model = act(
            "&Choose checkpoint folder…",
            self.choose_model_dialog,
            None,
            "Load another CMHL checkpoint folder",
        )
        self.act_model_default = act("Use the &default checkpoint", self.load_default_model)
        self.act_card = act("Model &card", self.show_model_card, None, "The checkpoint's model card")
        self.act_shortcuts = act("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = act("&About CMHL Desktop", self.show_about)
        self.act_next = act("Next flagged post", lambda: self.goto_flagged(+1), "Ctrl+Down")
        self.act_prev = act("Previous flagged post", lambda: self.goto_flagged(-1), "Ctrl+Up")
        self.act_search = act("Search text", self._focus_search, QKeySequence.StandardKey.Find)
        for a in (self.act_next, self.act_prev, self.act_search, self.act_cancel):
            self.addAction(a)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        m.addAction(self.act_open_folder)
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        m.addAction(self.act_export)
        m.addAction(self.act_rescore)
        m.addSeparator()
        m.addAction(self.act_quit)
        r = mb.addMenu("&Review")
        r.addAction(self.act_next)
        r.addAction(self.act_prev)
        r.addSeparator()
        self.status_actions = []
        for k, s in enumerate(REVIEW_STATUSES, start=1):
            a = QAction(f"Mark as “{s}”", self)
            a.setShortcut(QKeySequence(str(k)))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(lambda _=False, st=s: self.set_review_status(st))
            r.addAction(a)
            self.addAction(a)
            self.status_actions.append(a)
        r.addSeparator()
        r.addAction(self.act_explain_all)
        r.addAction(self.act_search)
        r.addAction(self.act_cancel)
        mm = mb.addMenu("&Model")
        mm.addAction(self.act_model)
        mm.addAction(self.act_model_default)
        mm.addAction(self.act_card)
        h = mb.addMenu("&Help")
        h.addAction(self.act_shortcuts)
        h.addAction(self.act_about)
        self._rebuild_recent_menu()

        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.addAction(self.act_open)
        tb.addAction(self.act_export)
        tb.addSeparator()
        tb.addAction(self.act_explain_all)
        tb.addSeparator()
        tb.addAction(self.act_card)
        self.addToolBar(tb)

    def _build_central(self) -> None:
        # ---- left: flag rules, filters, progress, table
        self.flag_panel = FlagRulesPanel()
        self.flag_panel.target_changed.connect(self.on_target_changed)

        self.category_filter = QComboBox()
        self.category_filter.addItem("All categories", "")
        self.flag_filter = QComboBox()
        self.flag_filter.addItem("Flagged and not", "")
        self.flag_filter.addItem("⚑ Flagged only", "flagged")
        self.flag_filter.addItem("Not flagged only", "not flagged")
        self.review_filter = QComboBox()
        self.review_filter.addItem("Any review status", "")
        for s in REVIEW_STATUSES:
            self.review_filter.addItem(s, s)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search post text (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._apply_filters)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        for c in (self.category_filter, self.flag_filter, self.review_filter):
            c.currentIndexChanged.connect(self._apply_filters)
        filters = QHBoxLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.category_filter)
        filters.addWidget(self.flag_filter)
        filters.addWidget(self.review_filter)
        filters.addWidget(self.search_edit, 1)

        self.progress = QProgressBar()
        self.progress.setMinimumWidth(240)
        self.progress_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.clicked.connect(self.cancel_current)
        self.progress_row = QWidget()
        pr = QHBoxLayout(self.progress_row)
        pr.setContentsMargins(0, 0, 0, 0)
        pr.addWidget(self.progress, 1)
        pr.addWidget(self.progress_label)
        pr.addWidget(self.cancel_button)
        self.progress_row.hide()

        self.model = ResultsModel(self)
        self.model.flag_icon = icon("flag")
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setObjectName("resultsTable")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(COL_FLAG, Qt.SortOrder.AscendingOrder)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setHighlightSections(False)
        hfm = self.view.horizontalHeader().fontMetrics()
        for col, w in (
            (COL_ROW, 44),
            (COL_FLAG, 112),
            (COL_CATEGORY, 100),
            (COL_DISTRESS, 64),
            (COL_EMOTION, 70),
            (COL_VALENCE, 58),
            (COL_INTENSITY, 64),
            (COL_REVIEW, 112),
        ):
            # room for the bold header and the sort arrow, so no header is cut
            self.view.setColumnWidth(col, max(w, hfm.horizontalAdvance(COLUMNS[col]) + 34))
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.view.setToolTip("")

        self.placeholder = QLabel(
            "<p style='font-size:13pt'><b>Open a file to start</b></p>"
            "<p>File → Open (Ctrl+O), or drop a spreadsheet, csv, txt, jsonl file or a folder of "
            ".txt files here.<br>An exported CMHL workbook reopens with its review.</p>"
            "<p>Posts are scored on this computer; flagged posts come first.</p>"
        )
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)

        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(6, 6, 0, 6)
        ll.addWidget(self.flag_panel)
        ll.addLayout(filters)
        ll.addWidget(self.progress_row)
        ll.addWidget(self.stack, 1)
        ll.addWidget(self.count_label)

        # ---- right: the detail view
        self.detail = DetailView()
        self.detail.explain_requested.connect(self.request_explanation)
        self.detail.review_changed.connect(self.on_review_changed)
        self.detail.tokens_toggled.connect(self._tokens_toggled)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([870, 530])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel("Model: loading…")
        self.model_label.setObjectName("modelLabel")
        self.offline_label = QLabel("● Offline — nothing leaves this computer")
        self.offline_label.setObjectName("offline")
        self.offline_label.setToolTip(
            "CMHL Desktop has no network code: files, scores and reviews stay on this computer."
        )
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.offline_label)

    def _build_shortcuts(self) -> None:
        # J/K as plain keys: window-wide, but text fields take their own letters (ShortcutOverride)
        self.sc_next = QShortcut(QKeySequence("J"), self, activated=lambda: self.goto_flagged(+1))
        self.sc_prev = QShortcut(QKeySequence("K"), self, activated=lambda: self.goto_flagged(-1))
        self.sc_note = QShortcut(QKeySequence("N"), self, activated=self._focus_note)

    # ================================================================== settings

    def _restore_settings(self) -> None:
        s = self.settings
        g = s.value("window/geometry")
        if isinstance(g, QByteArray) and not g.isEmpty():
            self.restoreGeometry(g)
        st = s.value("window/state")
        if isinstance(st, QByteArray) and not st.isEmpty():
            self.restoreState(st)
        sp = s.value("window/splitter")
        if isinstance(sp, QByteArray) and not sp.isEmpty():
            self.splitter.restoreState(sp)
        dsp = s.value("window/detail_splitter")
        if isinstance(dsp, QByteArray) and not dsp.isEmpty():
            self.detail.splitter.restoreState(dsp)
        self.detail.reviewer_edit.setText(str(s.value("review/reviewer", "") or ""))

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/detail_splitter", self.detail.splitter.saveState())
        s.sync()

    def recent_files(self) -> list[str]:
        v = self.settings.value("recent/files", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent/files", [p, *files][:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            a = self.recent_menu.addAction(Path(f).name)
            a.setToolTip(f)
            a.setStatusTip(f)
            a.setEnabled(Path(f).exists())
            a.triggered.connect(lambda _=False, p=f: self.open_path(p))
        if not files:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)

    def _saved_targets(self) -> dict[str, float]:
        out = {}
        self.settings.beginGroup("flags")
        try:
            for k in self.settings.childKeys():
                try:
                    out[k] = float(self.settings.value(k))
                except (TypeError, ValueError):
                    pass
        finally:
            self.settings.endGroup()
        return out

    # ================================================================== model

    def _autoload_model(self) -> None:
        path = self._model_dir
        if path is None:
            last = str(self.settings.value("model/last_dir", "") or "")
            path = Path(last) if last and Path(last).is_dir() else paths.default_checkpoint()
        if not Path(path).is_dir():
            self.model_label.setText("Model: none")
            self.statusBar().showMessage(
                "No model found: choose a checkpoint folder in Model → Choose checkpoint folder…"
            )
            self.model_failed.emit(f"{path}: not a folder")
            return
        self.load_model(path)

    def load_default_model(self) -> None:
        self.load_model(paths.default_checkpoint())

    def choose_model_dialog(self) -> None:
        start = str(self.engine.path.parent) if self.engine else str(paths.checkpoints_dir())
        d = QFileDialog.getExistingDirectory(self, "Choose a CMHL checkpoint folder", start)
        if d:
            self.load_model(d)

    def load_model(self, path: str | Path) -> None:
        """Load a checkpoint on a worker; on failure the current model stays."""
        if self._closing:
            return
        if self._load_task is not None:
            return
        if self._score_task is not None or self._explain_all_task is not None:
            self.show_error(
                "Model", "Wait for the running task to finish (or cancel it) before changing the model."
            )
            return
        path = Path(path)
        targets = self._saved_targets()
        self.model_label.setText(f"Model: loading {path.name}…")
        self.statusBar().showMessage(f"Loading model {path.name}…")

        def work(state, emit):
            from cmhl_desktop.ui.engine import load_engine

            return load_engine(path, targets)

        self._load_task = workers.Task(
            "load-model",
            work,
            on_done=self._on_model_loaded,
            on_error=lambda e, p=path: self._on_model_failed(p, e),
            on_finished=self._load_finished,
            parent=self,
        ).start()

    def _load_finished(self) -> None:
        self._load_task = None
        self._release("load")
        self._update_actions()

    def _on_model_loaded(self, engine) -> None:
        self.engine = engine
        self.settings.setValue("model/last_dir", str(engine.path))
        self.model_label.setText(f"Model: {engine.name}")
        self.model_label.setToolTip(f"{engine.path}\nsha256 {engine.sha256}")
        self.statusBar().showMessage(f"Model {engine.name} loaded.", 5000)
        self.detail.set_labels(engine.distress_labels, engine.emotion_labels, engine.circumplex)
        self._fill_category_filter(engine.distress_labels)
        self.flag_panel.set_rules(engine.rules, engine.target_recalls())
        self._explain_cache.clear()
        self._update_rule_infos()
        self._update_actions()
        self._defer("load", self.model_ready, engine.name)
        if self._score_pending and self.table is not None:
            self._score_pending = False
            self.start_scoring()
        elif self.table is not None and self.model.results:
            self.statusBar().showMessage(
                "Model changed: the results shown come from the previous model; File → Re-score to update.",
                10000,
            )
            self._show_current()

    def _on_model_failed(self, path: Path, e: BaseException) -> None:
        msg = describe_error(e)
        if not isinstance(e, (ValueError, OSError)):
            log_exception("loading a model", e)
        self.model_label.setText(f"Model: {self.engine.name}" if self.engine else "Model: none")
        self.statusBar().showMessage("The model could not be loaded.", 8000)
        self.show_error(
            "Cannot load model",
            f"The folder {path} is not a usable CMHL checkpoint:\n\n{msg}\n\n"
            + (
                "The current model stays loaded."
                if self.engine
                else "Choose another folder in the Model menu."
            ),
        )
        self._defer("load", self.model_failed, msg)

    def show_model_card(self) -> None:
        if self.engine is None:
            self.show_error("Model card", "No model is loaded yet.")
            return
        self._card = model_card_dialog(self.engine.ckpt.card(), self.engine.name, self)
        self._card.open()

    # ================================================================== opening

    def open_file_dialog(self) -> None:
        start = str(self.settings.value("recent/dir", "") or "") or str(Path.home())
        f, _ = QFileDialog.getOpenFileName(self, "Open posts", start, OPEN_FILTER)
        if f:
            self.open_path(f)

    def open_folder_dialog(self) -> None:
        start = str(self.settings.value("recent/dir", "") or "") or str(Path.home())
        d = QFileDialog.getExistingDirectory(self, "Open a folder of .txt files", start)
        if d:
            self.open_path(d)

    def open_path(
        self,
        path: str | Path,
        sheet: str | None = None,
        column: int | str | None = None,
        ask: bool | None = None,
    ) -> None:
        """Open an input: with `ask` (the default when interactive) the sheet/column dialog comes
        first (non-blocking); then the whole file is read on a worker."""
        path = Path(path)
        if self._busy():
            self.show_error(
                "Busy", "Wait for the running task to finish (or cancel it) before opening another file."
            )
            return
        ask = self.interactive if ask is None else ask
        if not path.exists():
            self.show_error("Cannot open", f"{path.name}: no such file or folder.")
            return
        self.settings.setValue("recent/dir", str(path.parent))
        if not ask:
            self._read(path, sheet, column)
            return
        from cmhl_desktop.ui.open_dialog import OpenDialog

        dlg = OpenDialog(path, self)
        self.open_dialog = dlg

        def accepted():
            self.open_dialog = None
            self._read(path, dlg.sheet(), None if dlg.is_scored() else dlg.column())
            dlg.deleteLater()

        def rejected():
            self.open_dialog = None
            dlg.deleteLater()

        dlg.accepted.connect(accepted)
        dlg.rejected.connect(rejected)
        dlg.open()

    def _read(self, path: Path, sheet: str | None, column: int | str | None) -> None:
        if self._closing:
            return
        self.statusBar().showMessage(f"Reading {path.name}…")

        def work(state, emit):
            from cmhl_desktop.core.readers import read_input

            return read_input(path, sheet=sheet, column=column)

        self._read_task = workers.Task(
            "read",
            work,
            on_done=lambda table, p=path: self._on_table_read(p, table),
            on_error=lambda e, p=path: self._on_read_failed(p, e),
            on_finished=self._read_finished,
            parent=self,
        ).start()
        self._begin_progress(self._read_task, f"Reading {path.name}…", busy=True)
        self._update_actions()

    def _read_finished(self) -> None:
        self._read_task = None
        self._end_progress_if(None)
        self._update_actions()
        self._release("read")

    def _on_read_failed(self, path: Path, e: BaseException) -> None:
        if not isinstance(e, (ValueError, OSError)):
            log_exception("reading an input", e)
        self.statusBar().showMessage(f"Could not open {path.name}.", 8000)
        self.show_error("Cannot open file", f"{path.name} could not be opened:\n\n{describe_error(e)}")

    def _on_table_read(self, path: Path, table) -> None:
        self._generation += 1
        self._user_picked = False
        self._explain_cache.clear()
        self._pending_chunks.clear()
        self.table = table
        self._add_recent(path)
        try:
            self.store = ReviewStore(self.data_dir, table.sha256, table.sheet)
            self._stored_reviews = self.store.all()
        except (OSError, ValueError) as e:
            self.store, self._stored_reviews = None, {}
            self.show_error("Review storage", f"Reviews of this file cannot be saved: {describe_error(e)}")
        texts = table.texts()
        self.detail.clear()
        self.setWindowTitle(f"{path.name} — {APP}")
        self.stack.setCurrentWidget(self.view)
        if table.results is not None:
            results = list(table.results)
            for i, rev in self._stored_reviews.items():
                if 0 <= i < len(results):
                    self._apply_review(results[i], rev)
            self._restore_run_targets(table)
            self.model.reset(texts, results)
            self._after_results_changed()
            self.statusBar().showMessage(
                f"Reopened an export of {table.meta.get('input_name', path.name)}: "
                f"{len(results):,} posts with their review; nothing was re-scored.",
                10000,
            )
            self._defer("read", self.table_ready, len(texts))
            self._select_first()
        else:
            self.model.reset(texts)
            self._defer("read", self.table_ready, len(texts))
            if self.engine is None:
                self._score_pending = True
                self.statusBar().showMessage("Waiting for the model to load before scoring…")
            else:
                self.start_scoring()
        self._update_actions()

    def _restore_run_targets(self, table) -> None:
        """An export records its target recalls: show the policy that produced its flags."""
        if self.engine is None:
            return
        for k, v in table.meta.items():
            if k.startswith("target_recall:"):
                name = k.split(":", 1)[1]
                try:
                    val = float(v)
                except ValueError:
                    continue
                if name in self.flag_panel.spins:
                    self.engine.set_target_recall(name, val)
                    self.flag_panel.set_value(name, val)

    @staticmethod
    def _apply_review(r: PostResult, rev) -> None:
        r.review_status, r.review_note, r.reviewer = rev.status, rev.note, rev.reviewer

    # ================================================================== scoring

    def rescore(self) -> None:
        if self.table is None or self.engine is None or self._busy():
            return
        from cmhl_desktop.core.review_store import Review

        # keep every review across the new run: those on screen (a reopened export's), then the store's
        kept = {
            i: Review(r.review_status, r.review_note, r.reviewer)
            for i, r in enumerate(self.model.results)
            if r is not None and (r.review_status != "unreviewed" or r.review_note)
        }
        if self.store is not None:
            kept.update(self.store.all())
        self._stored_reviews = kept
        self._generation += 1
        self._user_picked = False
        self._explain_cache.clear()
        self.model.reset(self.table.texts())
        self.start_scoring()

    def start_scoring(self) -> None:
        if self._closing:
            return
        engine, table = self.engine, self.table
        if engine is None or table is None:
            return
        texts = table.texts()
        gen = self._generation
        self._pending_chunks.clear()

        def work(state, emit):
            it = engine.scorer.iter_score(texts, state, engine.policy)
            while True:
                with workers.MODEL_LOCK:
                    try:
                        item = next(it)
                    except StopIteration:
                        return len(texts)
                emit(item)

        self._score_started = time.perf_counter()
        self._score_task = workers.Task(
            "score",
            work,
            on_progress=self._on_score_progress,
            on_chunk=lambda item, g=gen: self._on_score_chunk(g, item),
            on_done=lambda n, g=gen: self._on_score_done(g, n),
            on_error=self._on_score_failed,
            on_cancelled=lambda g=gen: self._on_score_cancelled(g),
            on_finished=self._score_finished,
            parent=self,
            nice=MODEL_NICE,
        ).start()
        self._begin_progress(self._score_task, "Scoring…")
        self.progress.setRange(0, max(1, len(texts)))
        self.progress.setValue(0)
        self.statusBar().showMessage(f"Scoring {len(texts):,} posts…")
        self._update_actions()

    def _on_score_progress(self, done: int, total: int) -> None:
        self.scoring_progress.emit(done, total)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        el = max(1e-6, time.perf_counter() - self._score_started)
        self.progress_label.setText(f"{done:,} / {total:,} posts · {done / el:,.0f} posts/s")

    def _on_score_chunk(self, gen: int, item) -> None:
        if gen != self._generation:
            return
        start, chunk = item
        for k, r in enumerate(chunk):
            rev = self._stored_reviews.get(start + k)
            if rev is not None:
                self._apply_review(r, rev)
        self._pending_chunks.append((start, chunk))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_chunks(self) -> None:
        chunks, self._pending_chunks = self._pending_chunks, []
        if not chunks:
            return
        first = self.model.scored_count() == 0
        for start, chunk in chunks:
            # rows go straight to their sorted place (flagged first while the run goes on); the
            # selection stays on its post
            self.model.add_results(start, chunk, on_stored=self.proxy.refresh_rows, keep_sorted=True)
        self._update_counts()
        if first:
            self._select_first()

    def _on_score_done(self, gen: int, n: int) -> None:
        self._flush_chunks()
        if gen != self._generation:
            return
        el = time.perf_counter() - self._score_started
        if not self.model.is_sorted():
            self.model.resort()
        self._after_results_changed()
        flagged = sum(1 for r in self.model.results if r is not None and r.flagged)
        self.statusBar().showMessage(
            f"Scored {n:,} posts in {el:.1f} s · {flagged:,} flagged (flagged posts first).", 15000
        )
        if not self._user_picked:
            self.select_proxy_row(0)  # the top flagged post, unless the user chose one meanwhile
        self._select_first()
        self._defer("score", self.scoring_done, n)

    def _on_score_failed(self, e: BaseException) -> None:
        self._flush_chunks()
        log_exception("scoring", e)
        self.show_error("Scoring failed", f"Scoring stopped: {describe_error(e)}")

    def _on_score_cancelled(self, gen: int) -> None:
        self._flush_chunks()
        n = self.model.scored_count()
        total = len(self.model.results)
        self.statusBar().showMessage(
            f"Scoring cancelled: {n:,} of {total:,} posts scored. File → Re-score to start again.", 15000
        )
        self._defer("score", self.scoring_cancelled, n)

    def _score_finished(self) -> None:
        self._score_task = None
        self._end_progress_if(None)
        self._update_actions()
        self._release("score")

    def cancel_current(self) -> None:
        for t in (self._score_task, self._explain_all_task, self._export_task, self._read_task):
            if t is not None:
                t.cancel()
                self.progress_label.setText("Cancelling…")
                self.cancel_button.setEnabled(False)
                return

    # ================================================================== progress area

    def _begin_progress(self, task: workers.Task, label: str, busy: bool = False) -> None:
        self._progress_task = task
        self._progress_started = time.perf_counter()
        self.progress_row.show()
        self.cancel_button.setEnabled(True)
        self.progress_label.setText(label)
        if busy:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(0)

    def _end_progress_if(self, _task) -> None:
        running = [
            t for t in (self._score_task, self._explain_all_task, self._export_task, self._read_task) if t
        ]
        if not running:
            self.progress_row.hide()
            self._progress_task = None

    # ================================================================== table and selection

    def _fill_category_filter(self, labels: list[str]) -> None:
        cur = self.category_filter.currentData()
        self.category_filter.blockSignals(True)
        self.category_filter.clear()
        self.category_filter.addItem("All categories", "")
        for c in labels:
            self.category_filter.addItem(c, c)
        i = self.category_filter.findData(cur)
        self.category_filter.setCurrentIndex(max(0, i))
        self.category_filter.blockSignals(False)

    def _apply_filters(self) -> None:
        self.proxy.set_filters(
            category=self.category_filter.currentData(),
            flag=self.flag_filter.currentData(),
            review=self.review_filter.currentData(),
            search=self.search_edit.text(),
        )
        self._update_counts()
        if not self.view.currentIndex().isValid():
            self._select_first()

    def _update_counts(self) -> None:
        total = len(self.model.results)
        scored = self.model.scored_count()
        flagged = sum(1 for r in self.model.results if r is not None and r.flagged)
        shown = self.proxy.rowCount()
        parts = [f"Showing {shown:,} of {scored:,} scored posts"]
        if scored < total:
            parts.append(f"{total - scored:,} not scored yet")
        parts.append(f"⚑ {flagged:,} flagged")
        reviewed = sum(1 for r in self.model.results if r is not None and r.review_status != "unreviewed")
        parts.append(f"{reviewed:,} reviewed")
        self.count_label.setText(" · ".join(parts))

    def _after_results_changed(self) -> None:
        self._update_counts()
        self._update_rule_infos()

    def _select_first(self) -> None:
        if self.proxy.rowCount() and not self.view.currentIndex().isValid():
            self.select_proxy_row(0)

    def select_proxy_row(self, row: int, by_user: bool = False) -> None:
        idx = self.proxy.index(row, COL_FLAG)
        if idx.isValid():
            self._auto_selecting = not by_user
            try:
                self.view.setCurrentIndex(idx)
            finally:
                self._auto_selecting = False
            self.view.scrollTo(idx)

    def select_input_row(self, input_row: int) -> bool:
        r = self.proxy.proxy_row(input_row)
        if r is None:
            return False
        self.select_proxy_row(r)
        return True

    def current_input_row(self) -> int | None:
        idx = self.view.currentIndex()
        return idx.data(ROW_ROLE) if idx.isValid() else None

    def _current_changed(self, current, _previous) -> None:
        if not self._auto_selecting:
            self._user_picked = True
        self._show_current()

    def _show_current(self) -> None:
        idx = self.view.currentIndex()
        if not idx.isValid():
            self.detail.clear()
            return
        row = idx.data(ROW_ROLE)
        r = idx.data(RESULT_ROLE)
        if r is None or self.table is None:
            return
        labels = self.engine.distress_labels if self.engine else list(r.distress_probs)
        rules = self.engine.rules if self.engine else []
        if not self.detail.labels["distress"]:
            emo = self.engine.emotion_labels if self.engine else list(r.emotion_probs)
            self.detail.set_labels(labels, emo, self.engine.circumplex if self.engine else None)
        self.detail.show_post(row, self.model.texts[row], r, default_target(r, labels, rules))

    def goto_flagged(self, step: int) -> None:
        n = self.proxy.rowCount()
        if not n:
            return
        cur = (
            self.view.currentIndex().row() if self.view.currentIndex().isValid() else (-1 if step > 0 else n)
        )
        i = cur + step
        while 0 <= i < n:
            r = self.proxy.index(i, 0).data(RESULT_ROLE)
            if r is not None and r.flagged:
                self.select_proxy_row(i, by_user=True)
                return
            i += step
        self.statusBar().showMessage("No more flagged posts " + ("below." if step > 0 else "above."), 3000)

    def _focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _focus_note(self) -> None:
        if self.detail.row is not None:
            self.detail.note_edit.setFocus()

    # ================================================================== review

    def set_review_status(self, status: str) -> None:
        if self.detail.row is None:
            return
        self.detail.set_status(status)

    def on_review_changed(self, row: int, status: str, note: str, reviewer: str) -> None:
        r = self.model.result(row) if 0 <= row < len(self.model.results) else None
        if r is None:
            return
        if reviewer:
            self.settings.setValue("review/reviewer", reviewer)
        unchanged = (r.review_status, r.review_note) == (status, note)
        if unchanged and (status == "unreviewed" and not note):
            return  # only the reviewer's name was typed: remembered, nothing to store for this post
        if unchanged and r.reviewer == reviewer:
            return
        r.review_status, r.review_note, r.reviewer = status, note, reviewer
        ok, msg = True, ""
        if self.store is not None:
            try:
                self.store.set(row, status, note, reviewer)
            except (OSError, ValueError) as e:
                ok, msg = False, describe_error(e)
                log.error("saving a review failed: %s", type(e).__name__)
        else:
            ok, msg = False, "no review storage for this file"
        self.detail.mark_saved(ok, msg)
        self.proxy.refresh_rows([row])
        self.model.rows_changed([row])
        self._update_counts()

    # ================================================================== flags

    def on_target_changed(self, rule: str, recall: float) -> None:
        if self.engine is None:
            return
        t0 = time.perf_counter()
        self.engine.set_target_recall(rule, recall)
        self.settings.setValue(f"flags/{rule}", recall)
        if self.model.results:
            cur = self.current_input_row()
            self.engine.reflag(self.model.results, self._probs_cache, key=self._generation)
            self.proxy.refresh_all()
            self.model.resort()
            if cur is not None and not self.select_input_row(cur):
                self._select_first()
            elif cur is not None:
                r = self.model.result(cur)
                if r is not None:
                    self.detail.show_post(
                        cur,
                        self.model.texts[cur],
                        r,
                        self.detail.current_target(),
                    )
        self._after_results_changed()
        if self.model.results:
            n = sum(1 for r in self.model.results if r is not None and r.flagged)
            self.statusBar().showMessage(
                f"Re-flagged from the stored validation points (no re-scoring): {n:,} flagged.", 10000
            )
        log.debug("re-flag took %.3f s", time.perf_counter() - t0)

    def _update_rule_infos(self) -> None:
        if self.engine is None:
            return
        for rule in self.engine.rules:
            try:
                th = self.engine.threshold(rule.name)
                exp = self.engine.expected(rule.name)
            except Exception as e:  # a policy without PR points: show what we can
                log.warning("flag rule %s: %s", rule.name, type(e).__name__)
                continue
            n = None
            if self.model.results:
                n = sum(1 for r in self.model.results if r is not None and rule.name in r.flag_rules)
            self.flag_panel.set_info(rule.name, th, exp, n)

    # ================================================================== attribution

    def _tokens_toggled(self, on: bool) -> None:
        self.show_tokens = on

    def request_explanation(self, row: int, head: str, cls: str) -> None:
        if self.engine is None or self.table is None:
            self.detail.show_explain_failed("Highlights need the model, which is still loading.")
            return
        key = (row, head, cls, self.show_tokens)
        hit = self._explain_cache.get(key)
        if hit is not None:
            self.detail.show_explanation(row, head, cls, hit[0], hit[1])
            self.explanation_ready.emit(row, head, cls)
            return
        self._explain_wanted = key
        self.detail.show_explaining()
        if self._explain_task is None:
            self._start_explain()

    def _start_explain(self) -> None:
        if self._closing:
            return
        key = self._explain_wanted
        if key is None or self.engine is None:
            return
        self._explain_wanted = None
        row, head, cls, tokens = key
        text = self.model.texts[row]
        engine, gen = self.engine, self._generation

        def work(state, emit):
            return explain_one(engine, text, head, cls, tokens)

        self._explain_task = workers.Task(
            "explain",
            work,
            on_done=lambda out, k=key, g=gen: self._on_explained(g, k, out),
            on_error=lambda e, k=key: self._on_explain_failed(k, e),
            on_finished=self._explain_finished,
            parent=self,
            nice=MODEL_NICE,
        ).start()

    def _on_explained(self, gen: int, key, out) -> None:
        if gen != self._generation:
            return
        row, head, cls, tokens = key
        html_text, info, words = out
        self._explain_cache[key] = (html_text, info)
        self._store_words(row, head, cls, words)
        self.detail.show_explanation(row, head, cls, html_text, info)
        self._defer("explain", self.explanation_ready, row, head, cls)

    def _store_words(self, row: int, head: str, cls: str, words) -> None:
        """Keep the default target's word scores on the result, so the export highlights them."""
        r = self.model.result(row)
        if r is None or words is None or self.engine is None:
            return
        if (head, cls) == default_target(r, self.engine.distress_labels, self.engine.rules):
            r.words, r.attribution_target = list(words), f"{head}:{cls}"

    def _on_explain_failed(self, key, e: BaseException) -> None:
        log_exception("explaining a post", e)
        row, head, cls, _ = key
        if (row, head, cls) == (self.detail.row, *self.detail.current_target()):
            self.detail.show_explain_failed(f"Highlights could not be computed: {describe_error(e)}")

    def _explain_finished(self) -> None:
        self._explain_task = None
        self._release("explain")
        if self._explain_wanted is not None:
            self._start_explain()

    def explain_all_flagged(self) -> None:
        if self._closing:
            return
        if self.engine is None or not self.model.results or self._busy():
            return
        rows = [i for i in self.model.order if (r := self.model.results[i]) is not None and r.flagged]
        todo = []
        for i in rows:
            r = self.model.results[i]
            head, cls = default_target(r, self.engine.distress_labels, self.engine.rules)
            if (i, head, cls, self.show_tokens) not in self._explain_cache:
                todo.append((i, head, cls))
        if not todo:
            self.statusBar().showMessage("Every flagged post is already explained.", 5000)
            self.explain_all_done.emit(0)
            return
        engine, gen, texts, tokens = self.engine, self._generation, self.model.texts, self.show_tokens

        def work(state, emit):
            batch = EXPLAIN_BATCH
            for k in range(0, len(todo), batch):
                state.check()
                part = todo[k : k + batch]
                outs = explain_many(engine, [(texts[i], head, cls) for i, head, cls in part], tokens)
                for (i, head, cls), out in zip(part, outs, strict=True):
                    emit((i, head, cls, out))
                state.set_progress(min(k + batch, len(todo)), len(todo))
            return len(todo)

        def chunk(item, g=gen):
            if g != self._generation:
                return
            i, head, cls, out = item
            self._explain_cache[(i, head, cls, tokens)] = (out[0], out[1])
            self._store_words(i, head, cls, out[2])
            if i == self.detail.row and (head, cls) == self.detail.current_target():
                self.detail.show_explanation(i, head, cls, out[0], out[1])

        def progress(done, total):
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            el = max(1e-6, time.perf_counter() - self._progress_started)
            self.progress_label.setText(f"Explained {done:,} / {total:,} flagged posts · {done / el:.1f}/s")

        def done(n):
            self.statusBar().showMessage(
                f"Explained {n:,} flagged posts; the export will highlight their words.", 10000
            )
            self._defer("explain-all", self.explain_all_done, n)

        self._explain_all_task = workers.Task(
            "explain-all",
            work,
            on_progress=progress,
            on_chunk=chunk,
            on_done=done,
            on_error=lambda e: (
                log_exception("explaining flagged posts", e),
                self.show_error("Explain all flagged", describe_error(e)),
            ),
            on_cancelled=lambda: self.statusBar().showMessage("Explaining cancelled.", 5000),
            on_finished=self._explain_all_finished,
            parent=self,
            nice=MODEL_NICE,
        ).start()
        self._begin_progress(self._explain_all_task, f"Explaining {len(todo):,} flagged posts…")
        self._update_actions()

    def _explain_all_finished(self) -> None:
        self._explain_all_task = None
        self._end_progress_if(None)
        self._update_actions()
        self._release("explain-all")

    # ================================================================== export

    def export_dialog(self) -> None:
        if not self._can_export():
            return
        start_dir = str(self.settings.value("export/dir", "") or "") or str(Path(self.table.source).parent)
        stem = Path(self.table.source).stem
        if self.table.kind == "scored":
            suggestion = Path(start_dir) / f"{stem}.xlsx"
        else:
            suggestion = Path(start_dir) / f"{stem}-cmhl.xlsx"
        f, chosen = QFileDialog.getSaveFileName(
            self, "Export results", str(suggestion), "Excel workbook (*.xlsx);;CSV (*.csv)"
        )
        if not f:
            return
        out = Path(f)
        if out.suffix.lower() not in (".xlsx", ".csv", ".tsv"):
            out = out.with_suffix(".csv" if "csv" in chosen.lower() else ".xlsx")
        self.export_to(out)

    def _can_export(self) -> bool:
        return (
            self.table is not None
            and self.model.complete()
            and not self._busy()
            and (self.engine is not None or self.table.kind == "scored")
        )

    def run_info(self):
        from cmhl_desktop.core.export import RunInfo

        table, engine = self.table, self.engine
        meta = getattr(table, "meta", {}) or {}
        if engine is not None:
            info = RunInfo(
                model_name=engine.name,
                model_sha256=engine.sha256,
                thresholds=engine.thresholds(),
                target_recalls=engine.target_recalls(),
                input_name=meta.get("input_name") or Path(table.source).name,
                input_sha256=meta.get("input_sha256") or table.sha256,
            )
        else:
            info = RunInfo.from_meta(meta)
        info.started = getattr(self, "_score_started_iso", "") or meta.get("started", "")
        info.finished = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        info.explain_mode = (
            "flagged" if any(r is not None and r.words for r in self.model.results) else "none"
        )
        info.extra["app"] = f"CMHL Desktop {__version__}"
        return info

    def export_to(self, out: str | Path) -> None:
        if self._closing:
            return
        if not self._can_export():
            self.show_error("Export", "Nothing to export yet: open a file and let scoring finish.")
            return
        out = Path(out)
        table, results = self.table, list(self.model.results)
        run = self.run_info().set_counts(results)
        if self.engine is not None:
            dl, el = self.engine.distress_labels, self.engine.emotion_labels
        else:
            dl = list(results[0].distress_probs) if results else []
            el = list(results[0].emotion_probs) if results else []

        def work(state, emit):
            from cmhl_desktop.core.export import export_csv, export_xlsx

            fn = export_xlsx if out.suffix.lower() == ".xlsx" else export_csv
            return fn(table, results, out, run, dl, el, state=state)

        self._export_task = workers.Task(
            "export",
            work,
            on_progress=lambda d, t: (self.progress.setRange(0, max(1, t)), self.progress.setValue(d)),
            on_done=self._on_exported,
            on_error=self._on_export_failed,
            on_cancelled=lambda: self.statusBar().showMessage("Export cancelled; nothing was written.", 5000),
            on_finished=self._export_finished,
            parent=self,
        ).start()
        self._begin_progress(self._export_task, f"Exporting {out.name}…")
        self._update_actions()

    def _on_exported(self, out) -> None:
        out = Path(out)
        self.settings.setValue("export/dir", str(out.parent))
        self.statusBar().showMessage(f"Exported to {out}. Reopen it to continue the review.", 15000)
        self._defer("export", self.export_done, str(out))

    def _on_export_failed(self, e: BaseException) -> None:
        if not isinstance(e, (ValueError, OSError)):
            log_exception("exporting", e)
        self.show_error("Export failed", f"The export was not written:\n\n{describe_error(e)}")

    def _export_finished(self) -> None:
        self._export_task = None
        self._end_progress_if(None)
        self._update_actions()
        self._release("export")

    # ================================================================== misc

    def _defer(self, kind: str, signal, *args) -> None:
        """Emit a public signal once the task's thread has stopped, so whoever listens sees a
        window that is no longer busy (and tests see no thread left behind)."""
        self._deferred.setdefault(kind, []).append((signal, args))

    def _release(self, kind: str) -> None:
        for signal, args in self._deferred.pop(kind, []):
            signal.emit(*args)

    def _busy(self) -> bool:
        return any(
            t is not None
            for t in (self._score_task, self._read_task, self._export_task, self._explain_all_task)
        )

    def _update_actions(self) -> None:
        busy = self._busy()
        self.act_open.setEnabled(not busy)
        self.act_open_folder.setEnabled(not busy)
        self.recent_menu.setEnabled(not busy)
        self.act_export.setEnabled(self._can_export())
        self.act_rescore.setEnabled(self.table is not None and self.engine is not None and not busy)
        self.act_explain_all.setEnabled(self.engine is not None and bool(self.model.results) and not busy)
        self.act_card.setEnabled(self.engine is not None)
        self.act_model.setEnabled(self._load_task is None and not busy)
        self.act_model_default.setEnabled(self._load_task is None and not busy)
        self.act_cancel.setEnabled(busy)

    def show_error(self, title: str, message: str) -> None:
        """A window-modal, non-blocking message box (never with post text)."""
        self.last_error = (title, message)
        log.warning("%s: %s", title, message.splitlines()[0] if message else "")
        self.error_shown.emit(title, message)
        if not self.interactive:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.error_boxes.append(box)
        box.finished.connect(lambda _r, b=box: self.error_boxes.remove(b) if b in self.error_boxes else None)
        box.open()

    def show_shortcuts(self) -> None:
        self._shortcuts = shortcuts_dialog(self)
        self._shortcuts.open()

    def show_about(self) -> None:
        e = self.engine
        self._about = AboutDialog(
            e.name if e else None, e.sha256 if e else None, str(e.path) if e else None, self
        )
        self._about.open()

    # drag and drop ---------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) == 1 and urls[0].isLocalFile() and not self._busy():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda p=urls[0].toLocalFile(): self.open_path(p))

    # closing ---------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel and join every worker of this window (reviews are already on disk)."""
        self._closing = True
        self._flush_timer.stop()
        self._explain_wanted = None
        for _ in range(10):  # a finishing task may have queued follow-up work: loop until none is left
            mine = []
            for t in workers.running_tasks():
                try:
                    if t.parent() is self:
                        mine.append(t)
                except RuntimeError:  # its C++ object is gone
                    continue
            if not mine:
                break
            for t in mine:
                t.cancel()
            for t in mine:
                t.wait(60_000)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        try:
            self.save_settings()
        except Exception as e:  # closing must never fail
            log_exception("saving settings", e)
        try:
            self.shutdown()
        except Exception as e:
            log_exception("stopping workers", e)
        super().closeEvent(event)


def explain_one(engine, text: str, head: str, cls: str, tokens: bool) -> tuple[str, str, list | None]:
    """(html, info line, word scores) for one post; runs on a worker and holds the model lock."""
    return explain_many(engine, [(text, head, cls)], tokens)[0]


def explain_many(
    engine, items: list[tuple[str, str, str]], tokens: bool
) -> list[tuple[str, str, list | None]]:
    """Explain several posts of one head in one batched call (the explainer batches their steps)."""
    explainer = engine.explainer()
    heads = {h for _, h, _ in items}
    out = []
    if len(heads) == 1:
        with workers.MODEL_LOCK:
            expls = explainer.explain(
                [t for t, _, _ in items], head=heads.pop(), target_class=[c for _, _, c in items]
            )
    else:
        expls = []
        for t, h, c in items:
            with workers.MODEL_LOCK:
                expls += explainer.explain([t], head=h, target_class=c)
    for (text, head, cls), expl in zip(items, expls, strict=True):
        out.append((render_explanation(text, expl, tokens), explanation_info(head, cls, expl), expl.words))
    return out


def render_explanation(text: str, expl, tokens: bool) -> str:
    from cmhl_desktop.core.highlights import render_html

    if tokens:
        try:
            return render_html(text, expl, tokens=True)
        except TypeError:  # an older render_html without the token view
            return tokens_html(expl)
    return render_html(text, expl)


def explanation_info(head: str, cls: str, expl) -> str:
    parts = []
    prob = getattr(expl, "target_prob", None)
    if isinstance(prob, (int, float)) and math.isfinite(prob):
        parts.append(f"P({cls}) = {prob:.3f}")
    rel = getattr(expl, "rel_delta", None)
    delta = getattr(expl, "delta", None)
    if isinstance(rel, (int, float)) and math.isfinite(rel):
        parts.append(f"convergence Δ {100 * rel:.1f}%")
    elif isinstance(delta, (int, float)) and math.isfinite(delta):
        parts.append(f"convergence Δ {delta:.3g}")
    steps = getattr(expl, "n_steps", None)
    if isinstance(steps, int) and steps:
        parts.append(f"{steps} steps")
    if not getattr(expl, "converged", True):
        parts.append("not converged: treat with care")
    return f"Highlights for {head}: {cls}" + (" · " + " · ".join(parts) if parts else "")


def tokens_html(expl) -> str:
    """The raw per-(sub)token scores, for researchers: red pushes towards the class, blue away."""
    toks = getattr(expl, "tokens", None) or []
    items = []
    for t in toks:
        if isinstance(t, (tuple, list)) and len(t) >= 2:
            word, score = t[0], t[-1]
        else:
            word = getattr(t, "token", None) or getattr(t, "word", None) or getattr(t, "text", "")
            score = getattr(t, "score", 0.0)
        items.append((str(word), float(score) if isinstance(score, (int, float)) else 0.0))
    if not items:
        return "<p><i>This explanation has no per-token scores.</i></p>"
    top = max(abs(s) for _, s in items) or 1.0
    spans = []
    for w, s in items:
        a = min(1.0, abs(s) / top)
        bg = f"rgba(214,39,40,{a:.2f})" if s > 0 else f"rgba(31,119,180,{a:.2f})"
        spans.append(
            f"<span style='background-color:{bg}' title='{s:+.4f}'>{html.escape(w)}</span>"
            f"<sub style='color:#666'>{s:+.2f}</sub>"
        )
    return "<p>" + " ".join(spans) + "</p>"


def default_data_dir() -> Path:
    return Path(
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or os.getcwd()
    )
