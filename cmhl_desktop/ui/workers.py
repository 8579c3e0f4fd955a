"""Running the core's long work off the GUI thread.

The core's long work is a plain function taking a `TaskState` (progress + cancellation). `Task` runs
such a function on its own QThread through a QObject worker; the worker's signals reach the Task (a
QObject living on the GUI thread) through queued connections, and the Task calls plain Python
callbacks there — so callbacks never run on the worker thread. Progress and chunks arrive while the
work runs; its outcome (done, error or cancelled) is delivered once its thread has stopped, so
whoever hears of it sees no task of its own still running. `jobs.JobRunner` is the window's one user.

Every Task is kept in a registry until its thread has finished, so the window can cancel and join
them on close and the tests can assert that no thread outlives a test.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from cmhl_desktop.core.tasks import Cancelled, TaskState

log = logging.getLogger(__name__)

_running: set[Task] = set()


def running_tasks() -> list[Task]:
    return list(_running)


class _Worker(QObject):
    progress = Signal(int, int)
    chunk = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    was_cancelled = Signal()

    def __init__(self, fn: Callable[..., Any], state: TaskState, nice: int = 0) -> None:
        super().__init__()
        self._fn = fn
        self._state = state
        self._nice = nice

    @Slot()
    def run(self) -> None:
        if self._nice:
            lower_thread_priority(self._nice)
        try:
            result = self._fn(self._state, self.chunk.emit)
        except Cancelled:
            self.was_cancelled.emit()
        except BaseException as e:  # reported on the GUI thread; never kill the app from a worker
            self.failed.emit(e)
        else:
            if self._state.cancelled:
                self.was_cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            QThread.currentThread().quit()


class Task(QObject):
    """One piece of long work on its own thread.

    `fn(state, emit_chunk)` runs on the worker thread; the callbacks run on the GUI thread:
    on_progress(done, total) and on_chunk(obj) while it runs; then, after the thread has stopped,
    one of on_done(result), on_error(exc), on_cancelled()."""

    def __init__(
        self,
        name: str,
        fn: Callable[[TaskState, Callable[[object], None]], Any],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        on_chunk: Callable[[object], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        parent: QObject | None = None,
        nice: int = 0,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self._callbacks = {
            "progress": on_progress,
            "chunk": on_chunk,
            "done": on_done,
            "error": on_error,
            "cancelled": on_cancelled,
        }
        self.state = TaskState()
        self._worker = _Worker(fn, self.state, nice)
        self.state._on_progress = self._worker.progress.emit  # emitted on the worker thread
        self._thread = QThread()
        self._thread.setObjectName(f"cmhl-{name}")
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.chunk.connect(self._on_chunk)
        self._worker.succeeded.connect(self._on_done)
        self._worker.failed.connect(self._on_error)
        self._worker.was_cancelled.connect(self._on_cancelled)
        self._thread.finished.connect(self._on_thread_finished)
        self.outcome: str | None = None  # done | error | cancelled
        self.error: BaseException | None = None
        self._result: object = None

    def start(self) -> Task:
        _running.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.state.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the thread has stopped, then deliver its queued signals. Used on close/tests."""
        ok = self._thread.wait(timeout_ms)
        QCoreApplication.sendPostedEvents()
        return ok

    def _call(self, key: str, *args: object) -> None:
        cb = self._callbacks.get(key)
        if cb is None:
            return
        try:
            cb(*args)
        except Exception:
            log.exception("task %s: %s callback failed", self.name, key)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if not self.state.cancelled:
            self._call("progress", done, total)

    @Slot(object)
    def _on_chunk(self, obj: object) -> None:
        if not self.state.cancelled:
            self._call("chunk", obj)

    @Slot(object)
    def _on_done(self, result: object) -> None:
        self.outcome, self._result = "done", result

    @Slot(object)
    def _on_error(self, exc: BaseException) -> None:
        self.outcome, self.error = "error", exc

    @Slot()
    def _on_cancelled(self) -> None:
        self.outcome = "cancelled"

    @Slot()
    def _on_thread_finished(self) -> None:
        _running.discard(self)
        if self.outcome == "done":
            self._call("done", self._result)
        elif self.outcome == "error":
            self._call("error", self.error)
        else:  # cancelled (or a thread that stopped without a word: treat it as cancelled)
            self._call("cancelled")
        self._result = None
        self._worker.deleteLater()
        self._thread.deleteLater()


def lower_thread_priority(step: int) -> None:
    """Make the calling thread yield the CPU to the GUI thread (Linux: a per-thread nice value;
    elsewhere nothing). Model work runs on it, so the window keeps the CPU it needs to repaint."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except OSError:
        pass


def cancel_all_and_wait(timeout_ms: int = 30_000) -> bool:
    """Cancel every running task and join its thread (window close, test teardown)."""
    tasks = running_tasks()
    for t in tasks:
        t.cancel()
    ok = True
    for t in tasks:
        ok &= t.wait(timeout_ms)
    QCoreApplication.sendPostedEvents()
    return ok
