"""After a crash: offer the last file with its saved scores, not a new scoring run.

The window marks itself running in its settings at start and not running on a clean close; the
input it opened last is remembered with how it was opened. When a start finds the mark still set,
a bar at the top of the window offers to reopen that file: its reviews come back from the journal
as always, and its scores from the data folder (`ScoringSession.save_scores` after every complete
run, `restore_scores` here), so nothing is scored again unless the file or the model changed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class RecoveryBar(QFrame):
    """`reopen(last input dict)` when the user accepts the offer."""

    reopen = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryBar")
        self.last: dict | None = None
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.reopen_button = QPushButton("Reopen with saved scores")
        self.dismiss_button = QPushButton("Dismiss")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.reopen_button)
        lay.addWidget(self.dismiss_button)
        self.reopen_button.clicked.connect(self._accept)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()

    def offer(self, last: dict | None) -> bool:
        """Show the offer for `last` (the settings' last input) when that file still exists."""
        if not last or not Path(last["path"]).exists():
            return False
        self.last = last
        self.label.setText(
            f"CMHL Desktop did not close properly last time. Reopen <b>{Path(last['path']).name}</b> "
            "with its saved scores and reviews (nothing is scored again)?"
        )
        self.show()
        return True

    def _accept(self) -> None:
        self.hide()
        if self.last is not None:
            self.reopen.emit(self.last)
