"""The left side of the window: the flag rules' target-recall controls, the filters, the progress row,
the results table (flagged first) and the counts line. It renders a `ScoringSession`: results, flags
and counts come from the session; the window tells the panel when they changed."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop.core.results import REVIEW_STATUSES, PostResult
from cmhl_desktop.core.session import ScoringSession
from cmhl_desktop.ui.flag_controls import FlagRulesPanel
from cmhl_desktop.ui.results_model import COL_FLAG, RESULT_ROLE, ROW_ROLE, ResultsModel, ResultsProxy
from cmhl_desktop.ui.results_view import ResultsView

log = logging.getLogger(__name__)

FLUSH_MS = 150  # scoring chunks are put into the table at most this often
PLACEHOLDER = (
    "<p style='font-size:13pt'><b>Open a file to start</b></p>"
    "<p>File → Open (Ctrl+O), or drop a spreadsheet, csv, txt, jsonl file or a folder of "
    ".txt files here.<br>An exported CMHL workbook reopens with its review.</p>"
    "<p>Posts are scored on this computer; flagged posts come first.</p>"
)


class SearchEdit(QLineEdit):
    """The text search: Esc clears it (a second Esc, on an empty field, goes back to the table)."""

    escaped = Signal()

    def event(self, e) -> bool:  # noqa: N802 - Qt API
        # claim Esc while there is text to clear, before the window's Esc (cancel) sees it
        if e.type() == QEvent.Type.ShortcutOverride and e.key() == Qt.Key.Key_Escape and self.text():
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        if e.key() == Qt.Key.Key_Escape:
            if self.text():
                self.clear()
            else:
                self.escaped.emit()
            e.accept()
            return
        super().keyPressEvent(e)


class ResultsPanel(QWidget):
    """`current_changed(input row or None)` when the selected post changes; `user_picked` says
    whether the user chose a row in this table (a finishing run then never moves the selection)."""

    current_changed = Signal(object)

    def __init__(self, session: ScoringSession, progress_row: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.user_picked = False
        self._auto_selecting = False
        self._pending: list[tuple[int, list[PostResult]]] = []
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)

        self.flag_panel = FlagRulesPanel()
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
        self.search_edit = SearchEdit()
        self.search_edit.setPlaceholderText("Search post text (Ctrl+F, Esc clears)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(120)
        self.search_edit.escaped.connect(lambda: self.view.setFocus())
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        for c in (self.category_filter, self.flag_filter, self.review_filter):
            c.currentIndexChanged.connect(self.apply_filters)
            c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            c.setMinimumWidth(84)  # whole names where there is room; narrower on a small window
        filters = QHBoxLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(QLabel("Show"))
        for w in (self.category_filter, self.flag_filter, self.review_filter):
            filters.addWidget(w)
        filters.addWidget(self.search_edit, 1)

        self.model = ResultsModel(self)
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = ResultsView(self.proxy)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)
        self.count_label = QLabel("")
        self.count_label.setObjectName("countLine")
        self.count_label.setWordWrap(True)
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 0, 6)
        lay.addWidget(self.flag_panel)
        lay.addLayout(filters)
        lay.addWidget(progress_row)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.count_label)

    # ------------------------------------------------------------------ filling

    def set_model_labels(self) -> None:
        """A model was loaded: its classes in the category filter, its rules in the flag controls."""
        model = self.session.model
        cur = self.category_filter.currentData()
        self.category_filter.blockSignals(True)
        self.category_filter.clear()
        self.category_filter.addItem("All categories", "")
        for c in model.distress_labels:
            self.category_filter.addItem(c, c)
        self.category_filter.setCurrentIndex(max(0, self.category_filter.findData(cur)))
        self.category_filter.blockSignals(False)
        self.flag_panel.set_rules(model.rules, self.session.target_recalls())
        self.model.crisis_rules = self.session.crisis_rules
        self.show_counts()

    def show_input(self) -> None:
        """The session has a new input, or starts a new run: its results so far (a reopened export:
        all of them, sorted) replace the table's."""
        self._pending.clear()
        self.user_picked = False
        s = self.session
        present = [r for r in s.results if r is not None]
        self.model.crisis_rules = s.crisis_rules
        self.model.reset(s.texts, list(s.results) if len(present) == len(s.results) else None)
        self.stack.setCurrentWidget(self.view)
        for name, recall in s.target_recalls().items():  # a reopened export brings its own
            self.flag_panel.set_value(name, recall)
        self.show_counts()

    def queue_chunk(self, start: int, chunk: list[PostResult]) -> None:
        """Scored rows (already stored in the session) go into the table at most every FLUSH_MS."""
        self._pending.append((start, chunk))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        chunks, self._pending = self._pending, []
        if not chunks:
            return
        first = self.model.scored_count() == 0
        for start, chunk in chunks:
            # rows go straight to their sorted place (flagged first while the run goes on); the
            # selection stays on its post
            self.model.add_results(start, chunk, on_stored=self.proxy.refresh_rows, keep_sorted=True)
        self.show_counts()
        if first:
            self.select_first()

    def finish_run(self) -> None:
        """A run ended: rows in their sorted places, the top post selected unless the user chose one."""
        self.flush()
        if not self.model.is_sorted():
            self.model.resort()
        self.show_counts()
        if not self.user_picked:
            self.select_proxy_row(0)
        self.select_first()

    def refresh_flags(self) -> None:
        """The session re-flagged its results: re-filter, re-sort, keep the selected post."""
        cur = self.current_input_row()
        self.proxy.refresh_all()
        self.model.resort()
        if cur is None or not self.select_input_row(cur):
            self.select_first()
        self.view.keep_current_in_view()
        self.show_counts()

    def refresh_rows(self, rows: list[int]) -> None:
        """These rows' review changed."""
        self.proxy.refresh_rows(rows)
        self.model.rows_changed(rows)
        self.show_counts()

    def show_counts(self) -> None:
        """The counts line and each flag rule's line, from the session's counts."""
        s, c = self.session, self.session.counts
        parts = [f"Showing {self.proxy.rowCount():,} of {c.done:,} posts"]
        if c.done < c.rows:
            parts.append(f"{c.rows - c.done:,} not scored yet")
        parts += [f"⚑ {c.flagged:,} flagged", f"{c.reviewed:,} reviewed"]
        if c.no_content:
            parts.append(f"{c.no_content:,} with no content (not scored)")
        if c.empty:
            parts.append(f"{c.empty:,} empty")
        if c.truncated:
            parts.append(f"{c.truncated:,} partly read")
        self.count_label.setText(" · ".join(parts) if c.rows else "")
        if s.policy is None:
            return
        for name in s.policy.rule_names:
            n = c.flagged_by_rule.get(name, 0) if c.done else None
            self.flag_panel.set_info(name, s.policy.threshold(name), s.policy.expected(name), n)

    def apply_filters(self) -> None:
        self.proxy.set_filters(
            category=self.category_filter.currentData(),
            flag=self.flag_filter.currentData(),
            review=self.review_filter.currentData(),
            search=self.search_edit.text(),
        )
        self.show_counts()
        if not self.view.currentIndex().isValid():
            self.select_first()

    # ------------------------------------------------------------------ selection

    def select_first(self) -> None:
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

    def goto_flagged(self, step: int) -> bool:
        """Select the next (+1) or previous (-1) flagged post; False when there is none."""
        n = self.proxy.rowCount()
        cur = self.view.currentIndex()
        i = (cur.row() if cur.isValid() else (-1 if step > 0 else n)) + step
        while 0 <= i < n:
            r = self.proxy.index(i, 0).data(RESULT_ROLE)
            if r is not None and r.flagged:
                self.select_proxy_row(i, by_user=True)
                return True
            i += step
        return False

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _current_changed(self, _current, _previous) -> None:
        if not self._auto_selecting:
            self.user_picked = True
        self.current_changed.emit(self.current_input_row())
