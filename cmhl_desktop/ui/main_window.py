"""The main window: open → score → triage table → detail with highlights → review → export.

The window holds one Qt-free `ScoringSession` (core/session.py) and renders it, the way napari's
`_qt` views render a Qt-free model: the session owns the input, the results, the flags at the
current target recalls, the review, the counts and the export; the window turns user actions into
session calls and shows what changed. Its parts: `results_panel` (flag controls, filters, table,
counts), `detail_view` (one post), `explanations` (highlights and their cache), `jobs` (every piece
of long work, run on a worker thread as a plain function of a TaskState), `window_settings`,
`errors` and `window_layout` (actions, menus, splitter, status bar). Nothing here logs or shows post text outside the post views.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QSplitter

from cmhl_desktop.core import paths
from cmhl_desktop.core.session import ScoringSession
from cmhl_desktop.ui import window_layout
from cmhl_desktop.ui.detail_view import DetailView
from cmhl_desktop.ui.dialogs import AboutDialog, ask_export_path, model_card_dialog, shortcuts_dialog
from cmhl_desktop.ui.errors import ErrorReporter, log_exception
from cmhl_desktop.ui.explanations import Explanations
from cmhl_desktop.ui.jobs import JobRunner
from cmhl_desktop.ui.model_loader import ModelLoader
from cmhl_desktop.ui.recovery import RecoveryBar
from cmhl_desktop.ui.results_panel import ResultsPanel
from cmhl_desktop.ui.review_flow import ReviewFlow
from cmhl_desktop.ui.window_open import OPEN_FILTER, OpeningMixin  # noqa: F401 (OPEN_FILTER: the window's)
from cmhl_desktop.ui.window_settings import WindowSettings

log = logging.getLogger(__name__)

ORG, APP = "CMHL", "CMHL Desktop"


class MainWindow(OpeningMixin, QMainWindow):
    APP = APP
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
        self.prefs = WindowSettings(self.settings)
        if not data_dir:
            data_dir = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or "."
        self.session = ScoringSession(data_dir=Path(data_dir))
        self.session.set_target_recalls(self.prefs.target_recalls())
        self.interactive = interactive
        self.open_dialog = None
        self._score_pending = False  # an input waits for the model to be scored
        self._restore_pending = False  # ... or for its saved scores (crash recovery)
        self._model_dir = Path(model_dir) if model_dir else None

        self.jobs = JobRunner(self)
        self.jobs.changed.connect(self._update_actions)
        self.errors = ErrorReporter(self, interactive)
        self.errors.shown.connect(self.error_shown)
        self.results = ResultsPanel(self.session, self.jobs.progress_row)
        self.results.model.flag_icon = window_layout.icon("flag")
        self.results.flag_panel.target_changed.connect(self.on_target_changed)
        self.results.current_changed.connect(lambda _row: self._show_current())
        # the table and the flag controls, as tests and tools reach them
        self.model, self.proxy, self.view = self.results.model, self.results.proxy, self.results.view
        self.flag_panel = self.results.flag_panel
        self.detail = DetailView()
        self.reviews = ReviewFlow(self.session, self.detail, self.prefs, self._status, self)
        self.reviews.saved.connect(lambda row: self.results.refresh_rows([row]))
        self.detail.review.leave.connect(self.view.setFocus)
        self.recovery_bar = RecoveryBar()
        self.recovery_bar.reopen.connect(self._recover)
        self.explanations = Explanations(
            self.session, self.jobs, self.detail, self.errors, self.statusBar().showMessage
        )
        self.explanations.ready.connect(self.explanation_ready)
        self.explanations.all_done.connect(self.explain_all_done)
        self.detail.explain_requested.connect(self.explanations.request)
        self.detail.tokens_toggled.connect(self.explanations.set_tokens)

        window_layout.build(self)
        self._rebuild_recent_menu()
        self.prefs.restore_layout(self, self._splitters())
        window_layout.keep_on_screen(self)
        if self.prefs.mark_running(True):  # the last run did not close properly
            self.recovery_bar.offer(self.prefs.last_input())
        self._update_actions()
        self.loader = ModelLoader(
            self.jobs, self.errors, self.model_label, self._status, lambda: self.session.model
        )
        self.loader.loaded.connect(self._on_model_loaded)
        self.loader.failed.connect(self.model_failed)
        if autoload:
            QTimer.singleShot(0, lambda: self.loader.autoload(self._model_dir, self.prefs.model_dir))

    def _splitters(self) -> dict[str, QSplitter]:
        return {"splitter": self.splitter, "detail_splitter": self.detail.splitter}

    def _status(self, message: str, ms: int = 0) -> None:
        self.statusBar().showMessage(message, ms)

    def show_error(self, title: str, message: str) -> None:
        """A window-modal, non-blocking message box (never with post text)."""
        self.errors.show(title, message)

    # ================================================================== model

    def load_default_model(self) -> None:
        self.load_model(paths.default_checkpoint())

    def choose_model_dialog(self) -> None:
        model = self.session.model
        start = str(model.path.parent) if model else str(paths.checkpoints_dir())
        d = QFileDialog.getExistingDirectory(self, "Choose a CMHL checkpoint folder", start)
        if d:
            self.load_model(d)

    def load_model(self, path: str | Path) -> None:
        """Load a checkpoint on a worker; on failure the current model stays."""
        self.loader.load(path)

    def _on_model_loaded(self, model) -> None:
        previous = self.session.model
        self.session.set_model(model)
        self.prefs.model_dir = model.path
        self.model_label.setText(f"Model: {model.name}")
        self.model_label.setToolTip(f"{model.path}\nsha256 {model.sha256}")
        self._status(f"Model {model.name} loaded.", 5000)
        self.detail.set_labels(model.distress_labels, model.emotion_labels, model.circumplex)
        self.results.set_model_labels()
        self.explanations.clear()
        self._update_actions()
        self.model_ready.emit(model.name)
        if self._score_pending and self.session.needs_scoring:
            self._score_pending = False
            restore, self._restore_pending = self._restore_pending, False
            if not (restore and self._restored()):
                self.start_scoring()
        elif self.session.counts.done:  # the post on screen can now be explained
            if previous is not None:
                self._status(
                    "Model changed: the results shown come from the previous model; File → Re-score to update.",
                    10000,
                )
            self._show_current()

    def show_model_card(self) -> None:
        model = self.session.model
        if model is None:
            self.show_error("Model card", "No model is loaded yet.")
            return
        self._card = model_card_dialog(model.ckpt.card(), model.name, self)
        self._card.open()

    # ================================================================== scoring

    def rescore(self) -> None:
        if self.session.table is not None and self.session.model is not None and not self.jobs.busy():
            self.start_scoring()

    def start_scoring(self) -> None:
        """Score the session's input on a worker; results stream into the table as chunks arrive."""
        s = self.session
        if s.model is None or s.table is None or self.jobs.closing:
            return
        gen = s.begin_scoring()
        self.explanations.clear()
        self.results.show_input()
        t0 = time.perf_counter()

        def work(state, emit):
            for item in s.iter_scores(state):
                emit(item)
            return len(s.texts)

        def chunk(item) -> None:
            if s.add_scores(*item, generation=gen):
                self.results.queue_chunk(*item)

        def done(n: int) -> None:
            if gen != s.generation:
                return
            s.end_scoring()
            self.results.finish_run()
            el = time.perf_counter() - t0
            msg = f"Scored {n:,} posts in {el:.1f} s · {s.counts.flagged:,} flagged (flagged posts first)."
            if s.review_message:  # reviews carried over from an earlier version: say it again here
                msg += " " + s.review_message
            self._status(msg, 15000)
            self.jobs.start(  # kept for crash recovery (scores only, never post text)
                "save-scores",
                lambda state, emit: s.save_scores(),
                on_error=lambda e: log.warning("keeping the scores failed: %s", type(e).__name__),
            )
            self.scoring_done.emit(n)

        def cancelled() -> None:
            self.results.flush()
            self.results.show_counts()
            c = s.counts
            self._status(
                f"Scoring cancelled: {c.done:,} of {c.rows:,} posts scored. File → Re-score to start again.",
                15000,
            )
            self.scoring_cancelled.emit(c.done)

        def failed(e: BaseException) -> None:
            self.results.flush()
            self.errors.failed("Scoring failed", "scoring", "Scoring stopped: ")(e)

        self.jobs.start(
            "score",
            work,
            exclusive=True,
            label="Scoring…",
            progress_text=lambda d, t, rate: f"{d:,} / {t:,} posts · {rate:,.0f} posts/s",
            on_progress=self.scoring_progress.emit,
            on_chunk=chunk,
            on_done=done,
            on_error=failed,
            on_cancelled=cancelled,
            model_work=True,
        )
        self._status(f"Scoring {len(s.texts):,} posts…")

    # ================================================================== the post on screen

    def _show_current(self) -> None:
        row, s = self.current_input_row(), self.session
        r = s.results[row] if row is not None and row < len(s.results) else None
        if r is None:
            if row is None:
                self.detail.clear()
            return
        if not self.detail.labels["distress"]:
            self.detail.set_labels(*s.labels(), s.model.circumplex if s.model else None)
        self.detail.show_post(row, s.texts[row], r, s.explain_target(row))

    def select_proxy_row(self, row: int, by_user: bool = False) -> None:
        self.results.select_proxy_row(row, by_user)

    def select_input_row(self, input_row: int) -> bool:
        return self.results.select_input_row(input_row)

    def current_input_row(self) -> int | None:
        return self.results.current_input_row()

    def goto_flagged(self, step: int) -> None:
        if self.proxy.rowCount() and not self.results.goto_flagged(step):
            self._status("No more flagged posts " + ("below." if step > 0 else "above."), 3000)

    def focus_note(self) -> None:
        if self.detail.row is not None:
            self.detail.note_edit.setFocus()

    def focus_reviewer(self) -> None:
        """Ctrl+Shift+R: the reviewer's name field."""
        self.detail.reviewer_edit.setFocus()
        self.detail.reviewer_edit.selectAll()

    # ================================================================== review and flags

    def set_review_status(self, status: str) -> None:
        if self.detail.row is not None:
            self.detail.set_status(status)

    def on_target_changed(self, rule: str, recall: float) -> None:
        """A target-recall control moved: the session re-flags every post at once (no re-scoring)."""
        if self.session.model is None:
            return
        t0 = time.perf_counter()
        n = self.session.set_target_recall(rule, recall)
        self.prefs.save_target_recall(rule, recall)
        if self.session.counts.done:
            self.results.refresh_flags()
            row = self.current_input_row()
            if row is not None and self.session.results[row] is not None:  # same post, same class
                self.detail.show_post(
                    row, self.session.texts[row], self.session.results[row], self.detail.current_target()
                )
            self._status(
                f"Re-flagged from the stored validation points (no re-scoring): {n:,} flagged.", 10000
            )
        else:
            self.results.show_counts()
        log.debug("re-flag took %.3f s", time.perf_counter() - t0)

    # ================================================================== export

    def export_dialog(self) -> None:
        if self._can_export():
            table = self.session.table
            source = Path(table.source)
            out = ask_export_path(self, source, table.kind == "scored", self.prefs.export_dir)
            if out is not None and out.resolve() == source.resolve():
                self.show_error(
                    "Export",
                    f"{out.name} is the file that is open; it is never overwritten. "
                    "Export under another name (the name offered is always free).",
                )
            elif out is not None:
                self.export_to(out)

    def _can_export(self) -> bool:
        s = self.session
        return s.complete() and not self.jobs.busy() and (s.model is not None or s.table.kind == "scored")

    def export_to(self, out: str | Path) -> None:
        if self.jobs.closing:
            return
        if not self._can_export():
            self.show_error("Export", "Nothing to export yet: open a file and let scoring finish.")
            return
        out = Path(out)

        def done(path) -> None:
            self.prefs.export_dir = Path(path).parent
            self._status(f"Exported to {path}. Reopen it to continue the review.", 15000)
            self.export_done.emit(str(path))

        self.jobs.start(
            "export",
            lambda state, emit: self.session.export(out, state),
            exclusive=True,
            label=f"Exporting {out.name}…",
            on_done=done,
            on_error=self.errors.failed("Export failed", "exporting", "The export was not written:\n\n"),
            on_cancelled=lambda: self._status("Export cancelled; nothing was written.", 5000),
        )

    # ================================================================== misc

    def _update_actions(self) -> None:
        busy, loading, s = self.jobs.busy(), self.jobs.running("load"), self.session
        for a in (self.act_open, self.act_open_folder, self.recent_menu):
            a.setEnabled(not busy)
        self.act_export.setEnabled(s.table is not None and self._can_export())
        self.act_rescore.setEnabled(s.table is not None and s.model is not None and not busy)
        self.act_explain_all.setEnabled(s.model is not None and s.counts.done > 0 and not busy)
        self.act_card.setEnabled(s.model is not None)
        self.act_model.setEnabled(not loading and not busy)
        self.act_model_default.setEnabled(not loading and not busy)
        self.act_cancel.setEnabled(busy)

    def show_shortcuts(self) -> None:
        self._shortcuts = shortcuts_dialog(self)
        self._shortcuts.open()

    def show_about(self) -> None:
        m = self.session.model
        self._about = AboutDialog(
            m.name if m else None, m.sha256 if m else None, str(m.path) if m else None, self
        )
        self._about.open()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) == 1 and urls[0].isLocalFile() and not self.jobs.busy():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda p=urls[0].toLocalFile(): self.open_path(p))

    def shutdown(self) -> None:
        """Cancel and join every worker of this window (reviews are already on disk)."""
        self.explanations.clear()
        self.jobs.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        try:
            self.prefs.save_layout(self, self._splitters())
        except Exception as e:  # closing must never fail
            log_exception("saving settings", e)
        try:
            self.detail.review.commit()
            self.shutdown()
            self.session.close()
            self.prefs.mark_running(False)
        except Exception as e:
            log_exception("stopping workers", e)
        super().closeEvent(event)
