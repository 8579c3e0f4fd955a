"""The review of the post on screen: its status (keys 1-5, 5 = urgent), a note, the reviewer, where
the reviews are kept, the local crisis protocol shown when a post is marked urgent, and the one
prompt per session that asks who is reviewing.

A review is committed (handed to the window, which saves it at once) when the status changes, when
the note is left or after NOTE_IDLE_MS without typing, and when the reviewer's name is entered: a
note is never stored keystroke by keystroke. `commit()` saves anything still pending (the window
calls it before another post is shown)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop.core.results import REVIEW_STATUSES

NOTE_IDLE_MS = 1500  # a note is committed after this long without typing (or when it is left)
NO_PROTOCOL = "No local crisis protocol is set. Review → Crisis protocol… to note who to call and what to do."


class ReviewPanel(QGroupBox):
    """`changed(status, note, reviewer)` when a review is committed; `reviewer_confirmed(name)`
    when the reviewer answers the prompt."""

    changed = Signal(str, str, str)
    reviewer_confirmed = Signal(str)
    leave = Signal()  # Esc in the note: saved, and the keyboard goes back to the table

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Review (saved as you go)", parent)
        self._loading = False
        self._note_dirty = False
        self.protocol = ""
        self.status_group = QButtonGroup(self)
        self.status_buttons: dict[str, QRadioButton] = {}
        statuses = QGridLayout()
        statuses.setContentsMargins(0, 0, 0, 0)
        statuses.setHorizontalSpacing(12)
        statuses.setVerticalSpacing(2)
        for k, s in enumerate(REVIEW_STATUSES, start=1):
            b = QRadioButton(f"{k} {s}")
            b.setToolTip(f"Set status '{s}' (key {k})")
            if s == "urgent":
                b.setObjectName("urgentButton")
                b.setToolTip("Urgent: needs action now (key 5); shows your local crisis protocol")
            self.status_group.addButton(b, k - 1)
            self.status_buttons[s] = b
            statuses.addWidget(b, (k - 1) // 3, (k - 1) % 3)

        self.protocol_label = QLabel("")
        self.protocol_label.setObjectName("protocol")
        self.protocol_label.setWordWrap(True)
        self.protocol_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.protocol_label.hide()

        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText(
            "Note for the case record (optional; saved when you pause or leave it)"
        )
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMinimumHeight(44)
        self.note_edit.setMaximumHeight(96)
        self.note_edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.note_edit.setAccessibleName("Review note")
        self.note_label = QLabel("&Note")
        self.note_label.setBuddy(self.note_edit)
        self.reviewer_edit = QLineEdit()
        self.reviewer_edit.setPlaceholderText("Your name or initials")
        self.reviewer_edit.setAccessibleName("Reviewer")
        self.reviewer_edit.setToolTip("Saved with each review (Ctrl+Shift+R)")
        self.reviewer_label = QLabel("&Reviewer")
        self.reviewer_label.setBuddy(self.reviewer_edit)
        self.saved_label = QLabel("")
        self.saved_label.setObjectName("muted")

        # the once-per-session question: who is reviewing?
        self.prompt = QFrame()
        self.prompt.setObjectName("reviewerPrompt")
        self.prompt_edit = QLineEdit()
        self.prompt_edit.setPlaceholderText("Your name or initials")
        self.prompt_edit.setAccessibleName("Who is reviewing")
        self.prompt_button = QPushButton("Use this name")
        pl = QHBoxLayout(self.prompt)
        pl.setContentsMargins(6, 4, 6, 4)
        ask = QLabel("Who is reviewing? Each review is saved with this name:")
        ask.setWordWrap(True)
        pl.addWidget(ask, 1)
        pl.addWidget(self.prompt_edit)
        pl.addWidget(self.prompt_button)
        self.prompt.hide()

        self.storage_label = QLabel("")
        self.storage_label.setObjectName("muted")
        self.storage_label.setWordWrap(True)
        self.storage_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.storage_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.note_label, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.note_edit, 0, 1, 1, 2)
        grid.addWidget(self.reviewer_label, 1, 0)
        grid.addWidget(self.reviewer_edit, 1, 1)
        grid.addWidget(self.saved_label, 1, 2, Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        lay.addLayout(statuses)
        lay.addWidget(self.protocol_label)
        lay.addWidget(self.prompt)
        lay.addLayout(grid)
        lay.addWidget(self.storage_label)

        self._note_timer = QTimer(self, singleShot=True, interval=NOTE_IDLE_MS)
        self._note_timer.timeout.connect(self.commit)
        self._saved_timer = QTimer(self, singleShot=True, interval=2500)
        self._saved_timer.timeout.connect(lambda: self.saved_label.setText(""))
        self.status_group.idClicked.connect(lambda _id: self._emit())
        self.note_edit.textChanged.connect(self._note_typed)
        self.note_edit.installEventFilter(self)
        self.reviewer_edit.editingFinished.connect(self._reviewer_entered)
        self.prompt_edit.returnPressed.connect(self._confirm_reviewer)
        self.prompt_button.clicked.connect(self._confirm_reviewer)

    # ------------------------------------------------------------------ fields

    def status(self) -> str:
        b = self.status_group.checkedButton()
        return REVIEW_STATUSES[self.status_group.id(b)] if b is not None else "unreviewed"

    def load(self, status: str, note: str, reviewer: str | None) -> None:
        """Show a post's review (no commit); reviewer None keeps the name in the field."""
        self._loading = True
        try:
            b = self.status_buttons.get(status)
            if b is not None:
                b.setChecked(True)
            if self.note_edit.toPlainText() != note:
                self.note_edit.setPlainText(note)
            if reviewer is not None and self.reviewer_edit.text() != reviewer:
                self.reviewer_edit.setText(reviewer)
        finally:
            self._loading = False
        self._note_dirty = False
        self._note_timer.stop()
        self.show_protocol(status == "urgent")

    def set_status(self, status: str) -> None:
        """Set the status (keys 1-5) and commit."""
        if status in self.status_buttons:
            self.status_buttons[status].setChecked(True)
            self._emit()

    def set_protocol(self, text: str) -> None:
        self.protocol = text.strip()
        self.show_protocol(self.status() == "urgent")

    def show_protocol(self, on: bool) -> None:
        if on:
            body = self.protocol or NO_PROTOCOL
            self.protocol_label.setText(
                f"<b>Urgent.</b> Local protocol: {body}" if self.protocol else f"<b>Urgent.</b> {body}"
            )
        self.protocol_label.setVisible(on)

    def set_storage(self, text: str, tip: str = "") -> None:
        self.storage_label.setText(text)
        self.storage_label.setToolTip(tip or text)

    def mark_saved(self, ok: bool, message: str = "") -> None:
        self.saved_label.setText("✓ saved" if ok else f"⚠ not saved: {message}")
        self._saved_timer.start()

    # ------------------------------------------------------------------ committing

    def commit(self) -> None:
        """Commit a note still being typed (nothing when there is none)."""
        self._note_timer.stop()
        if self._note_dirty:
            self._emit()

    def _note_typed(self) -> None:
        if not self._loading:
            self._note_dirty = True
            self._note_timer.start()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.note_edit:
            t = event.type()
            if t == QEvent.Type.FocusOut:
                self.commit()
            elif (
                t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and event.key() == Qt.Key.Key_Escape
            ):
                event.accept()  # the note's Esc, not the window's (cancel)
                if t == QEvent.Type.KeyPress:
                    self.commit()
                    self.leave.emit()
                return True
        return super().eventFilter(obj, event)

    def _reviewer_entered(self) -> None:
        if not self._loading:
            self._emit()

    def _emit(self) -> None:
        if self._loading:
            return
        self._note_dirty = False
        self._note_timer.stop()
        status = self.status()
        self.show_protocol(status == "urgent")
        self.changed.emit(status, self.note_edit.toPlainText(), self.reviewer_edit.text().strip())

    # ------------------------------------------------------------------ who is reviewing

    def ask_reviewer(self, suggestion: str) -> None:
        """Show the prompt (once per session: the window decides), with the last name filled in."""
        self.prompt_edit.setText(suggestion)
        self.prompt.show()
        self.prompt_edit.setFocus()
        self.prompt_edit.selectAll()

    def _confirm_reviewer(self) -> None:
        name = self.prompt_edit.text().strip()
        if not name:
            return
        self.prompt.hide()
        self._loading = True
        try:
            self.reviewer_edit.setText(name)
        finally:
            self._loading = False
        self.reviewer_confirmed.emit(name)
