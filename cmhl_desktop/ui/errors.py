"""Error reporting for the window: messages and log records that can never contain post text.

Exceptions raised by the project's own code (an unreadable input, an export that cannot be written,
a bad checkpoint, a review that cannot be saved) carry file names and row numbers only, so their
message is shown. Anything else may quote a post (a tokenizer error, say): it is reported by type,
and logged by type and code location only.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("cmhl_desktop.ui")


def describe_error(e: BaseException) -> str:
    """A message for the user that cannot contain post text."""
    from cmhl_desktop.core.export import ExportError
    from cmhl_desktop.core.session import SessionError

    safe: tuple[type[BaseException], ...] = (
        ExportError,
        SessionError,
        FileNotFoundError,
        PermissionError,
        IsADirectoryError,
    )
    if isinstance(e, safe + _heavy_safe_types()) and str(e):
        return str(e)
    if isinstance(e, MemoryError):
        return "Out of memory."
    return f"An unexpected error occurred ({type(e).__name__}). Details without post text are in the log."


def _heavy_safe_types() -> tuple[type[BaseException], ...]:
    """Our error types whose modules import torch: only where it is loaded already (an error of
    theirs can only have been raised then), so reporting an error never waits for torch."""
    import sys

    out: list[type[BaseException]] = []
    for module, name in (
        ("cmhl_desktop.core.readers", "InputError"),
        ("cmhl_desktop.core.flags", "PolicyError"),
        ("cmhl_desktop.core.attribution", "AttributionError"),
        ("cmhl.checkpoint", "CheckpointError"),
    ):
        mod = sys.modules.get(module)
        if mod is not None:
            out.append(getattr(mod, name))
    return tuple(out)


def log_exception(context: str, e: BaseException) -> None:
    """Log the type and the code location only: exception messages may quote post text."""
    frames = "".join(traceback.format_tb(e.__traceback__)[-6:])
    log.error("%s failed: %s\n%s", context, type(e).__name__, frames)


def is_expected(e: BaseException) -> bool:
    """A user-fixable problem (bad file, full disk, bad folder): shown, not logged as a fault."""
    return isinstance(e, (ValueError, OSError))


class ErrorReporter(QObject):
    """Shows errors as window-modal, non-blocking message boxes (never with post text) and keeps
    them in `boxes` until closed; `shown(title, message)` for listeners (the smoke test, tests).
    With interactive=False nothing pops up (the smoke test and benchmarks run unattended)."""

    shown = Signal(str, str)

    def __init__(self, parent: QWidget, interactive: bool = True) -> None:
        super().__init__(parent)
        self._parent = parent
        self.interactive = interactive
        self.boxes: list[QMessageBox] = []
        self.last: tuple[str, str] | None = None

    def show(self, title: str, message: str) -> None:
        self.last = (title, message)
        log.warning("%s: %s", title, message.splitlines()[0] if message else "")
        self.shown.emit(title, message)
        if not self.interactive:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self._parent
        )
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.boxes.append(box)
        box.finished.connect(lambda _r, b=box: self.boxes.remove(b) if b in self.boxes else None)
        box.open()

    def failed(self, title: str, context: str, prefix: str = "") -> Callable[[BaseException], None]:
        """An on_error callback: log an unexpected error (by type), then show `prefix` + its message."""

        def report(e: BaseException) -> None:
            if not is_expected(e):
                log_exception(context, e)
            self.show(title, prefix + describe_error(e))

        return report
