"""The detail view of one post: highlighted text, class probabilities, emotion profile, circumplex,
and the review controls (status, note, reviewer), which are saved by the window as they change."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop.core.results import FLAG_MARK, REVIEW_STATUSES, PostResult
from cmhl_desktop.ui.plots import BarsWidget, CircumplexWidget

HEADS = ("distress", "emotion")


class DetailView(QWidget):
    """Shows one post. Emits `explain_requested(row, head, cls)` when highlights are needed and
    `review_changed(row, status, note, reviewer)` on every change of a review field."""

    explain_requested = Signal(int, str, str)
    review_changed = Signal(int, str, str, str)
    tokens_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row: int | None = None
        self.text: str = ""
        self.result: PostResult | None = None
        self.labels: dict[str, list[str]] = {"distress": [], "emotion": []}
        self._loading = False

        self.title = QLabel("No post selected")
        self.title.setObjectName("detailTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.head_combo = QComboBox()
        self.head_combo.addItems(list(HEADS))
        self.head_combo.setToolTip("Which model head the word highlights explain")
        self.class_combo = QComboBox()
        self.class_combo.setMinimumContentsLength(12)
        self.class_combo.setToolTip("Which class the word highlights explain (default: the flagged class)")
        self.tokens_box = QCheckBox("Subword tokens")
        self.tokens_box.setToolTip("Show the raw per-token scores instead of whole words")
        self.attr_status = QLabel("")
        self.attr_status.setObjectName("muted")
        self.attr_status.setWordWrap(True)
        hl = QHBoxLayout()
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(QLabel("Highlight words for"))
        hl.addWidget(self.head_combo)
        hl.addWidget(self.class_combo)
        hl.addWidget(self.tokens_box)
        hl.addStretch(1)

        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)
        self.browser.setObjectName("postText")
        self.browser.setPlaceholderText("Select a post in the table to read it here.")
        self.browser.setMinimumHeight(120)

        # ---- review
        self.review_box = QGroupBox("Review (saved as you go)")
        self.status_group = QButtonGroup(self)
        self.status_buttons: dict[str, QRadioButton] = {}
        status_row = QHBoxLayout()
        for k, s in enumerate(REVIEW_STATUSES, start=1):
            b = QRadioButton(f"{k} {s}")
            b.setToolTip(f"Set status '{s}' (key {k})")
            self.status_group.addButton(b, k - 1)
            self.status_buttons[s] = b
            status_row.addWidget(b)
        status_row.addStretch(1)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("Note for the case record (optional)")
        self.note_edit.setFixedHeight(54)
        self.note_edit.setTabChangesFocus(True)
        self.reviewer_edit = QLineEdit()
        self.reviewer_edit.setPlaceholderText("Your name or initials")
        self.reviewer_edit.setMaximumWidth(220)
        self.saved_label = QLabel("")
        self.saved_label.setObjectName("muted")
        rv = QGridLayout(self.review_box)
        rv.addLayout(status_row, 0, 0, 1, 4)
        rv.addWidget(QLabel("Note"), 1, 0, Qt.AlignmentFlag.AlignTop)
        rv.addWidget(self.note_edit, 1, 1, 1, 3)
        rv.addWidget(QLabel("Reviewer"), 2, 0)
        rv.addWidget(self.reviewer_edit, 2, 1)
        rv.addWidget(self.saved_label, 2, 2, 1, 2, Qt.AlignmentFlag.AlignRight)
        rv.setColumnStretch(3, 1)

        # ---- scores
        self.distress_bars = BarsWidget("Distress categories")
        self.emotion_bars = BarsWidget("Emotion profile")
        self.circumplex = CircumplexWidget()
        self.va_label = QLabel("")
        self.va_label.setObjectName("muted")
        self.va_label.setWordWrap(True)
        scores = QWidget()
        g = QGridLayout(scores)
        g.setContentsMargins(0, 0, 0, 0)
        g.addWidget(self.distress_bars, 0, 0)
        g.addWidget(self.emotion_bars, 0, 1)
        circ_title = QLabel("Circumplex (valence × intensity)")
        f = QFont(circ_title.font())
        f.setBold(True)
        circ_title.setFont(f)
        g.addWidget(circ_title, 1, 0, 1, 2)
        g.addWidget(self.circumplex, 2, 0, 1, 2)
        g.addWidget(self.va_label, 3, 0, 1, 2)
        g.setColumnStretch(0, 1)
        g.setColumnStretch(1, 1)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.title)
        tl.addLayout(hl)
        tl.addWidget(self.attr_status)
        tl.addWidget(self.browser, 1)
        tl.addWidget(self.review_box)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 4, 0, 0)
        bl.addWidget(scores)
        bl.addStretch(1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.splitter)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.head_combo.currentTextChanged.connect(self._head_changed)
        self.class_combo.currentTextChanged.connect(self._class_changed)
        self.tokens_box.toggled.connect(self._tokens_changed)
        self.status_group.idClicked.connect(self._status_clicked)
        self.note_edit.textChanged.connect(self._emit_review)
        self.reviewer_edit.textChanged.connect(self._emit_review)
        self._saved_timer = QTimer(self, singleShot=True, interval=2500)
        self._saved_timer.timeout.connect(lambda: self.saved_label.setText(""))
        self.set_enabled(False)

    # ------------------------------------------------------------------ configuration

    def set_labels(self, distress: list[str], emotion: list[str], circumplex: dict | None = None) -> None:
        self.labels = {"distress": list(distress), "emotion": list(emotion)}
        if circumplex:
            self.circumplex.set_points(circumplex)
        self._fill_classes(self.head_combo.currentText())

    def set_enabled(self, on: bool) -> None:
        for w in (self.head_combo, self.class_combo, self.tokens_box, self.review_box):
            w.setEnabled(on)

    # ------------------------------------------------------------------ showing a post

    def clear(self) -> None:
        self.row, self.text, self.result = None, "", None
        self.title.setText("No post selected")
        self.browser.clear()
        self.attr_status.setText("")
        self.distress_bars.clear()
        self.emotion_bars.clear()
        self.circumplex.set_post(None, None)
        self.va_label.setText("")
        self._loading = True
        try:
            self._set_review_fields("unreviewed", "", self.reviewer_edit.text())
        finally:
            self._loading = False
        self.set_enabled(False)

    def show_post(self, row: int, text: str, result: PostResult, target: tuple[str, str]) -> None:
        """Show a post; the highlights are requested through `explain_requested`."""
        self._loading = True
        try:
            self.row, self.text, self.result = row, text, result
            flag = f"{FLAG_MARK} ({', '.join(result.flag_rules)})" if result.flagged else "not flagged"
            score = f"{result.distress_score:.3f}" if math.isfinite(result.distress_score) else "–"
            status = "" if result.status == "ok" else f" · status: {html.escape(result.status)}"
            self.title.setText(
                f"<b>Row {row + 1}</b> · <span style='color:#8a1c1c'><b>{html.escape(flag)}</b></span>"
                if result.flagged
                else f"<b>Row {row + 1}</b> · {flag}"
            )
            self.title.setText(self.title.text() + f" · distress score {score}{status}")
            self.browser.setHtml(_plain_html(text))
            self.attr_status.setText("")
            head, cls = target
            self.head_combo.setCurrentText(head)
            self._fill_classes(head, cls)
            self.distress_bars.set_values(
                {c: result.distress_probs.get(c, float("nan")) for c in self.labels["distress"]}
                if result.distress_probs
                else {},
                cls if head == "distress" else result.category,
            )
            self.emotion_bars.set_values(
                {e: result.emotion_probs.get(e, float("nan")) for e in self.labels["emotion"]}
                if result.emotion_probs
                else {},
                cls if head == "emotion" else result.emotion,
            )
            self.circumplex.set_post(result.valence, result.intensity, result.emotion)
            if math.isfinite(result.valence) and math.isfinite(result.intensity):
                self.va_label.setText(
                    f"valence {result.valence:+.2f} · intensity {result.intensity:.2f} · emotion {result.emotion}"
                )
            else:
                self.va_label.setText("no valence/intensity for this post")
            self._set_review_fields(result.review_status, result.review_note, result.reviewer or None)
            self.set_enabled(result.scored or True)
        finally:
            self._loading = False
        if result.scored and text.strip():
            self.explain_requested.emit(row, head, cls)
        else:
            self.attr_status.setText("No highlights: this post was not scored.")

    def current_target(self) -> tuple[str, str]:
        return self.head_combo.currentText(), self.class_combo.currentText()

    def show_explanation(self, row: int, head: str, cls: str, html_text: str, info: str = "") -> None:
        if row != self.row or (head, cls) != self.current_target():
            return  # the user moved on
        self.browser.setHtml(html_text)
        self.attr_status.setText(info)

    def show_explaining(self) -> None:
        self.attr_status.setText("Computing word highlights…")

    def show_explain_failed(self, message: str) -> None:
        self.attr_status.setText(message)

    # ------------------------------------------------------------------ review

    def _set_review_fields(self, status: str, note: str, reviewer: str | None) -> None:
        b = self.status_buttons.get(status)
        if b is not None:
            b.setChecked(True)
        if self.note_edit.toPlainText() != note:
            self.note_edit.setPlainText(note)
        if reviewer is not None and self.reviewer_edit.text() != reviewer:
            self.reviewer_edit.setText(reviewer)

    def set_status(self, status: str) -> None:
        """Set the review status of the shown post (keys 1–4) and save it."""
        if self.row is None or status not in self.status_buttons:
            return
        self.status_buttons[status].setChecked(True)
        self._emit_review()

    def review_status(self) -> str:
        b = self.status_group.checkedButton()
        return REVIEW_STATUSES[self.status_group.id(b)] if b is not None else "unreviewed"

    def mark_saved(self, ok: bool, message: str = "") -> None:
        self.saved_label.setText("✓ saved" if ok else f"⚠ not saved: {message}")
        self._saved_timer.start()

    def _status_clicked(self, _id: int) -> None:
        self._emit_review()

    def _emit_review(self) -> None:
        if self._loading or self.row is None:
            return
        self.review_changed.emit(
            self.row, self.review_status(), self.note_edit.toPlainText(), self.reviewer_edit.text().strip()
        )

    # ------------------------------------------------------------------ highlight target

    def _fill_classes(self, head: str, select: str | None = None) -> None:
        was = self._loading
        self._loading = True
        try:
            self.class_combo.clear()
            self.class_combo.addItems(self.labels.get(head, []))
            if select and select in self.labels.get(head, []):
                self.class_combo.setCurrentText(select)
        finally:
            self._loading = was

    def _head_changed(self, head: str) -> None:
        if self._loading:
            return
        default = None
        if self.result is not None:
            default = self.result.category if head == "distress" else self.result.emotion
        self._fill_classes(head, default)
        self._request()

    def _class_changed(self, _cls: str) -> None:
        if not self._loading:
            self._request()

    def _tokens_changed(self, on: bool) -> None:
        self.tokens_toggled.emit(on)
        self._request()

    def _request(self) -> None:
        if self.row is None or self.result is None or not self.result.scored:
            return
        head, cls = self.current_target()
        if not cls:
            return
        self.distress_bars.set_values(
            self.distress_bars_values(), cls if head == "distress" else self.result.category
        )
        self.emotion_bars.set_values(
            self.emotion_bars_values(), cls if head == "emotion" else self.result.emotion
        )
        self.browser.setHtml(_plain_html(self.text))
        self.explain_requested.emit(self.row, head, cls)

    def distress_bars_values(self) -> dict[str, float]:
        r = self.result
        return (
            {c: r.distress_probs.get(c, float("nan")) for c in self.labels["distress"]}
            if r and r.distress_probs
            else {}
        )

    def emotion_bars_values(self) -> dict[str, float]:
        r = self.result
        return (
            {e: r.emotion_probs.get(e, float("nan")) for e in self.labels["emotion"]}
            if r and r.emotion_probs
            else {}
        )


def _plain_html(text: str) -> str:
    body = html.escape(text).replace("\n", "<br>")
    return f"<div style='white-space: pre-wrap'>{body}</div>"
