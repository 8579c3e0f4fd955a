"""The window's side of a review: saving what the review panel commits (through the session), the
once-per-session question who is reviewing (reviews made before the answer get the name too), the
local crisis protocol (a setting, shown when a post is marked urgent), and where the reviews are
kept. The session owns the review itself (`ScoringSession.set_review`, core/session.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop.core.session import ScoringSession
from cmhl_desktop.ui.detail_view import DetailView
from cmhl_desktop.ui.errors import describe_error
from cmhl_desktop.ui.window_settings import WindowSettings

log = logging.getLogger(__name__)


class ProtocolDialog(QDialog):
    """Edit the local crisis protocol (who to call, what to do): shown when a post is marked urgent."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Local crisis protocol")
        self.resize(520, 300)
        intro = QLabel(
            "Shown whenever a post is marked <b>urgent</b> (key 5). Write your service's own steps, "
            "for example who to call, the number, and what to record. Kept on this computer only."
        )
        intro.setWordWrap(True)
        self.edit = QPlainTextEdit(text)
        self.edit.setAccessibleName("Local crisis protocol")
        self.edit.setTabChangesFocus(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.edit, 1)
        lay.addWidget(buttons)


class ReviewFlow(QObject):
    """`saved(row)` after a review reached the session (the table refreshes the row)."""

    saved = Signal(int)

    def __init__(
        self,
        session: ScoringSession,
        detail: DetailView,
        prefs: WindowSettings,
        status: Callable[[str, int], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.session, self.detail, self.prefs, self.status = session, detail, prefs, status
        self._parent = parent
        self.reviewer_confirmed = False  # asked once per session (this run of the app)
        self._unnamed: set[int] = set()  # rows reviewed this session before the name was confirmed
        self._return_focus: QWidget | None = None
        self.dialog: QDialog | None = None
        detail.review_changed.connect(self.save)
        detail.review.reviewer_confirmed.connect(self._confirmed)
        detail.reviewer_edit.setText(prefs.reviewer)
        detail.review.set_protocol(prefs.protocol)

    # ------------------------------------------------------------------ saving

    def save(self, row: int, status: str, note: str, reviewer: str) -> None:
        if reviewer:
            self.prefs.reviewer = reviewer
        try:
            changed = self.session.set_review(row, status, note, reviewer)
        except (OSError, ValueError) as e:  # kept in memory; the message says it is not on disk
            log.error("saving a review failed: %s", type(e).__name__)
            self.detail.mark_saved(False, describe_error(e))
            changed = True
        else:
            if changed:
                self.detail.mark_saved(self.session.store is not None, "no review storage for this file")
        if not changed:
            return
        if not self.reviewer_confirmed:
            self._unnamed.add(row)
            self.ask_reviewer()
        if status == "urgent":
            protocol = self.detail.review.protocol  # the protocol the panel shows
            self.status(
                "Marked urgent. "
                + (
                    f"Local protocol: {protocol}"
                    if protocol
                    else "No local protocol is set (Review → Crisis protocol…)."
                ),
                15000,
            )
        self.saved.emit(row)

    # ------------------------------------------------------------------ who is reviewing

    def ask_reviewer(self) -> None:
        """The prompt in the review panel, once per session (again only when it was dismissed
        without a name)."""
        if self.detail.review.prompt.isVisible():
            return
        self._return_focus = QApplication.focusWidget()
        self.detail.review.ask_reviewer(self.detail.reviewer_edit.text().strip() or self.prefs.reviewer)

    def _confirmed(self, name: str) -> None:
        self.reviewer_confirmed = True
        self.prefs.reviewer = name
        for row in sorted(self._unnamed):  # reviews made before the answer get the name too
            r = self.session.results[row] if row < len(self.session.results) else None
            if r is not None and r.reviewer != name:
                self.save(row, r.review_status, r.review_note, name)
        self._unnamed.clear()
        self.status(f"Reviewing as {name}.", 5000)
        if self._return_focus is not None:
            self._return_focus.setFocus()

    # ------------------------------------------------------------------ protocol and storage

    def edit_protocol(self) -> None:
        d = self.dialog = ProtocolDialog(self.prefs.protocol, self._parent)

        def done(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                self.prefs.protocol = d.edit.toPlainText().strip()
                self.detail.review.set_protocol(self.prefs.protocol)
            self.dialog = None

        d.finished.connect(done)
        d.open()

    def show_storage_line(self) -> None:
        """The review panel's line saying where this file's reviews live (after an input is opened)."""
        s = self.session
        if s.store is not None:
            self.detail.review.set_storage(
                f"Reviews are kept on this computer: {s.store.path.parent}", str(s.store.path)
            )
        elif s.store_error is not None:
            self.detail.review.set_storage(
                f"Reviews of this file cannot be saved: {describe_error(s.store_error)}"
            )
        else:
            self.detail.review.set_storage("Reviews are kept in memory only.")

    def show_storage(self) -> None:
        """A small dialog with the folder of the review journals and a button that opens it."""
        s = self.session
        path = s.store.path if s.store is not None else None
        d = self.dialog = QDialog(self._parent)
        d.setWindowTitle("Where reviews are kept")
        text = (
            f"Reviews of this file are saved as you make them in<br><b>{path}</b><br><br>"
            "The journal holds the status, note, reviewer and time of each review and a hash of each "
            "post, never post text. Notes are stored as typed (not encrypted): keep this folder on an "
            "encrypted disk."
            if path
            else "No file is open, or its reviews cannot be saved."
        )
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextInteractionFlags(
            label.textInteractionFlags() | label.textInteractionFlags().TextSelectableByMouse
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(d.reject)
        if path is not None:
            folder = QPushButton("Open the folder")
            folder.clicked.connect(
                lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))
            )
            buttons.addButton(folder, QDialogButtonBox.ButtonRole.ActionRole)
        lay = QVBoxLayout(d)
        lay.addWidget(label)
        lay.addWidget(buttons)
        d.resize(560, 220)
        d.open()
