"""The detail view of one post: why it is flagged (in plain words), the text with the sentence that
triggered the flag underlined and, when computed, word highlights (scrolled so they start there),
where a long post stopped being read, the Suicide Risk Lexicon terms found (for audit), the review
(review_panel.py), class probabilities, emotion profile and circumplex.

The view fits small screens: the post and the rest are two panes of a splitter, and the review and
the plots scroll in theirs."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop.core.highlights import render_html
from cmhl_desktop.core.results import FLAG_MARK, NO_CONTENT, PostResult, flag_reason, lexicon_text
from cmhl_desktop.ui.plots import BarsWidget, CircumplexWidget
from cmhl_desktop.ui.review_panel import ReviewPanel

HEADS = ("distress", "emotion")
LEXICON_NOTE = "shown for audit; they do not raise flags"


def marks(r: PostResult) -> dict:
    """What to mark in a post's text: the triggering sentence of a flagged post, where reading
    stopped (render_html's keywords)."""
    trigger = (
        r.trigger_span if r.flagged and r.trigger_span and r.trigger_span[1] > r.trigger_span[0] else None
    )
    return {"trigger": trigger, "read_end": r.read_end if r.partly_read else None}


def reason_html(r: PostResult) -> str:
    """The line under the title: why the post is flagged, partly read, no content (plain words)."""
    parts = []
    if r.flagged:
        why = html.escape(flag_reason(r))
        if marks(r)["trigger"] is not None:
            why += "<br><span style='color:#6a1b9a'><u>Underlined</u>: the sentence that reads most like a crisis.</span>"
        parts.append(f"<b>Why flagged:</b> {why}")
    elif r.scored:
        parts.append("Not flagged. An unflagged post may still need attention.")
    if r.partly_read:
        parts.append(
            "<b>Partly read:</b> this post is longer than the model reads; the marker in the text shows "
            "where it stopped."
        )
    if r.status == NO_CONTENT:
        parts.append(
            "<b>No content:</b> no words to read (a placeholder, numbers, links or emoji); never scored or flagged."
        )
    return "<br>".join(parts)


class DetailView(QWidget):
    """Shows one post. Emits `explain_requested(row, head, cls)` when highlights are needed and
    `review_changed(row, status, note, reviewer)` when a review is committed."""

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
        self.reason = QLabel("")
        self.reason.setObjectName("reason")
        self.reason.setTextFormat(Qt.TextFormat.RichText)
        self.reason.setWordWrap(True)
        self.reason.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.head_combo = QComboBox()
        self.head_combo.addItems(list(HEADS))
        self.head_combo.setToolTip("Which model head the word highlights explain")
        self.head_combo.setAccessibleName("Highlight head")
        self.class_combo = QComboBox()
        self.class_combo.setMinimumContentsLength(10)
        self.class_combo.setToolTip("Which class the word highlights explain (default: the flagged class)")
        self.class_combo.setAccessibleName("Highlight class")
        self.tokens_box = QCheckBox("Subwords")
        self.tokens_box.setToolTip("Show the raw per-token (subword) scores instead of whole words")
        self.attr_status = QLabel("")
        self.attr_status.setObjectName("muted")
        self.attr_status.setWordWrap(True)
        self.attr_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
        self.browser.setMinimumHeight(80)
        self.browser.setAccessibleName("Post text")
        self.lexicon = QLabel("")
        self.lexicon.setObjectName("lexicon")
        self.lexicon.setWordWrap(True)
        self.lexicon.setTextFormat(Qt.TextFormat.RichText)
        self.lexicon.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.lexicon.setToolTip(
            "Terms of the Suicide Risk Lexicon (Low et al., 2024) found in the post: an auditable word "
            "list beside the model, not a second opinion. They never raise a flag by themselves."
        )

        self.review = ReviewPanel()
        self.review_box = self.review  # the review group box, as tests and the window reach it
        self.status_buttons = self.review.status_buttons
        self.note_edit, self.reviewer_edit = self.review.note_edit, self.review.reviewer_edit
        self.saved_label = self.review.saved_label
        self.review.changed.connect(self._review_committed)

        # ---- scores
        self.distress_bars = BarsWidget("Distress categories")
        self.emotion_bars = BarsWidget("Emotion profile")
        self.circumplex = CircumplexWidget()
        self.va_label = QLabel("")
        self.va_label.setObjectName("muted")
        self.va_label.setWordWrap(True)
        scores = QWidget()
        # boxes, not a grid: a grid under-counts the wrapped label's height inside the scroll area
        g = QVBoxLayout(scores)
        g.setContentsMargins(0, 0, 0, 0)
        bars = QHBoxLayout()
        bars.addWidget(self.distress_bars, 1)
        bars.addWidget(self.emotion_bars, 1)
        g.addLayout(bars)
        circ_title = QLabel("Circumplex (valence × intensity)")
        f = QFont(circ_title.font())
        f.setBold(True)
        circ_title.setFont(f)
        g.addWidget(circ_title)
        g.addWidget(self.circumplex)
        g.addWidget(self.va_label)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(3)
        tl.addWidget(self.title)
        tl.addWidget(self.reason)
        tl.addLayout(hl)
        tl.addWidget(self.attr_status)
        tl.addWidget(self.browser, 1)
        tl.addWidget(self.lexicon)

        lower = QWidget()
        bl = QVBoxLayout(lower)
        bl.setContentsMargins(0, 0, 4, 0)
        # never shorter than its parts need (the scroll area's fit can lag behind a new post's text)
        bl.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        bl.addWidget(self.review)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        bl.addWidget(line)
        bl.addWidget(scores)
        bl.addStretch(1)
        self.lower_scroll = QScrollArea()
        self.lower_scroll.setObjectName("detailLower")
        self.lower_scroll.setWidgetResizable(True)
        self.lower_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.lower_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.lower_scroll.setWidget(lower)
        self.lower_scroll.setMinimumHeight(120)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("detailSplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.lower_scroll)
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
        self.set_enabled(False)

    # ------------------------------------------------------------------ configuration

    def set_labels(self, distress: list[str], emotion: list[str], circumplex: dict | None = None) -> None:
        self.labels = {"distress": list(distress), "emotion": list(emotion)}
        if circumplex:
            self.circumplex.set_points(circumplex)
        self._fill_classes(self.head_combo.currentText())

    def set_enabled(self, on: bool) -> None:
        for w in (self.head_combo, self.class_combo, self.tokens_box, self.review):
            w.setEnabled(on)

    # ------------------------------------------------------------------ showing a post

    def clear(self) -> None:
        self.review.commit()
        self.row, self.text, self.result = None, "", None
        self.title.setText("No post selected")
        self.reason.setText("")
        self.lexicon.setText("")
        self.browser.clear()
        self.attr_status.setText("")
        self.distress_bars.clear()
        self.emotion_bars.clear()
        self.circumplex.set_post(None, None)
        self.va_label.setText("")
        self.review.load("unreviewed", "", None)
        self.set_enabled(False)

    def show_post(self, row: int, text: str, result: PostResult, target: tuple[str, str]) -> None:
        """Show a post (a note still being typed for the previous one is committed first); the
        highlights are requested through `explain_requested`."""
        if row != self.row:
            self.review.commit()
        self._loading = True
        try:
            self.row, self.text, self.result = row, text, result
            score = f"{result.distress_score:.2f}" if math.isfinite(result.distress_score) else "–"
            status = (
                "" if result.status in ("ok", "truncated") else f" · status: {html.escape(result.status)}"
            )
            flag = (
                f"<span style='color:#8a1c1c'><b>{FLAG_MARK}</b></span>" if result.flagged else "not flagged"
            )
            self.title.setText(f"<b>Row {row + 1}</b> · {flag} · distress {score}{status}")
            self.title.setToolTip(
                "distress: how strongly the post reads as distress of any kind, 0 to 1 "
                "(technically 1 − P(control), the any-distress score)"
            )
            self.reason.setText(reason_html(result))
            self.reason.setToolTip(
                f"The underlined sentence's P(suicidewatch): {result.trigger_score:.2f} "
                "(the crisis rule reads the post as a whole and sentence by sentence)"
                if marks(result)["trigger"] is not None and math.isfinite(result.trigger_score)
                else ""
            )
            found = lexicon_text(result)
            self.lexicon.setText(
                f"Suicide Risk Lexicon terms found: {html.escape(found, quote=False)} — {LEXICON_NOTE}."
                if found
                else ""
            )
            self.lexicon.setVisible(bool(found))
            self.show_text_only()
            self.attr_status.setText("")
            head, cls = target
            self.head_combo.setCurrentText(head)
            self._fill_classes(head, cls)
            self.distress_bars.set_values(
                self.distress_bars_values(), cls if head == "distress" else result.category
            )
            self.emotion_bars.set_values(
                self.emotion_bars_values(), cls if head == "emotion" else result.emotion
            )
            self.circumplex.set_post(result.valence, result.intensity, result.emotion)
            if math.isfinite(result.valence) and math.isfinite(result.intensity):
                self.va_label.setText(
                    f"valence {result.valence:+.2f} · intensity {result.intensity:.2f} · emotion {result.emotion}"
                )
            else:
                self.va_label.setText("no valence/intensity for this post")
            self.review.load(result.review_status, result.review_note, result.reviewer or None)
            self.set_enabled(True)
        finally:
            self._loading = False
        if result.scored and text.strip():
            self.explain_requested.emit(row, head, cls)
        else:
            self.attr_status.setText("No highlights: this post was not scored.")

    def show_text_only(self) -> None:
        """The post without word highlights (its sentence and reading marks kept)."""
        if self.result is None:
            return
        self.browser.setHtml(render_html(self.text, None, **marks(self.result)))
        self._scroll_to_marks()

    def current_target(self) -> tuple[str, str]:
        return self.head_combo.currentText(), self.class_combo.currentText()

    def show_explanation(
        self, row: int, head: str, cls: str, html_text: str, info: str = "", details: str = ""
    ) -> None:
        if row != self.row or (head, cls) != self.current_target():
            return  # the user moved on
        self.browser.setHtml(html_text)
        self.attr_status.setText(info)
        self.attr_status.setToolTip(details)
        self._scroll_to_marks()

    def _scroll_to_marks(self) -> None:
        """Scroll so the triggering sentence (else the strongest highlight) starts the view."""
        doc = self.browser.toHtml()
        for anchor in ("trigger", "focus"):
            if f'name="{anchor}"' in doc:
                self.browser.scrollToAnchor(anchor)
                return

    def show_explaining(self) -> None:
        self.attr_status.setText("Computing word highlights…")

    def show_explain_failed(self, message: str) -> None:
        self.attr_status.setText(message)

    # ------------------------------------------------------------------ review

    def set_status(self, status: str) -> None:
        """Set the review status of the shown post (keys 1–5) and save it."""
        if self.row is not None:
            self.review.set_status(status)

    def review_status(self) -> str:
        return self.review.status()

    def mark_saved(self, ok: bool, message: str = "") -> None:
        self.review.mark_saved(ok, message)

    def _review_committed(self, status: str, note: str, reviewer: str) -> None:
        if not self._loading and self.row is not None:
            self.review_changed.emit(self.row, status, note, reviewer)

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
        self.show_text_only()
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
