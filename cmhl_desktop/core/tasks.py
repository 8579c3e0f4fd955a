"""Progress and cancellation for long work (Orange3's TaskState pattern).

Long work is a plain function `run(..., state: TaskState)` that calls `state.set_progress(done, total)`
and checks `state.cancelled` between steps. The CLI wraps it with tqdm, the GUI with a Qt worker,
tests with a plain instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancelled(Exception):
    """Raised inside long work when the user cancelled; callers clean up and leave nothing behind."""


class TaskState:
    def __init__(self, on_progress: Callable[[int, int], None] | None = None) -> None:
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self.done = 0
        self.total = 0

    def set_progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self._on_progress is not None:
            self._on_progress(done, total)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise Cancelled if cancellation was requested (call between steps)."""
        if self._cancel.is_set():
            raise Cancelled()
