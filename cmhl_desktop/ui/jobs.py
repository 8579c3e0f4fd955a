"""The window's one background-job runner (Orange3's `ConcurrentWidgetMixin`, Anki's `QueryOp`).

A job is a plain function `fn(state, emit)` — the session's long work, which reports progress and
checks for cancellation through `state` (core/tasks.py) — run on its own thread by `workers.Task`.
At most one job of a kind runs at a time. "Exclusive" jobs (reading, scoring, explaining every
flagged post, exporting) make the window busy: they show the progress row, answer Cancel / Esc and
keep the window from starting another. The others (loading a model, explaining the post on screen)
run beside them quietly. Chunks and progress arrive while a job runs; its outcome (done, error,
cancelled) once its thread has stopped, so a listener never sees a busy window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from cmhl_desktop.ui import workers

MODEL_NICE = 5  # model work runs at a lower OS priority than the window (Linux)


class ProgressRow(QWidget):
    """A progress bar, what is going on, and Cancel; hidden while no exclusive job runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setMinimumWidth(120)
        self.label = QLabel("")  # never widens the window while a job runs (the text is also its tooltip)
        self.label.setMinimumWidth(80)  # an explicit minimum: the layout may narrow it below its text
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.cancel_button)
        self.hide()

    def begin(self, label: str, indeterminate: bool) -> None:
        self.show()
        self.cancel_button.setEnabled(True)
        self.label.setText(label)
        self.label.setToolTip(label)
        self.bar.setRange(0, 0 if indeterminate else 100)
        self.bar.setValue(0)

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)


@dataclass
class _Job:
    task: workers.Task
    exclusive: bool
    started: float


class JobRunner(QObject):
    """Runs the window's jobs; `changed` after one starts or ends (the window updates its actions)."""

    changed = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.progress_row = ProgressRow()
        self.progress_row.cancel_button.clicked.connect(self.cancel_current)
        self._jobs: dict[str, _Job] = {}
        self.closing = False  # set by shutdown(): nothing new starts

    def start(
        self,
        kind: str,
        fn: Callable[[Any, Callable[[object], None]], Any],
        *,
        exclusive: bool = False,
        label: str = "",
        indeterminate: bool = False,
        progress_text: Callable[[int, int, float], str] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_chunk: Callable[[object], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        model_work: bool = False,
    ) -> bool:
        """Start a job of `kind` unless one is running (or the window is closing); returns whether
        it started. Exclusive jobs show `label` in the progress row, and `progress_text(done,
        total, per second)` as they go. model_work: run at a lower OS priority than the window."""
        if self.closing or kind in self._jobs:
            return False

        def progress(done: int, total: int) -> None:
            if exclusive:
                self.progress_row.set_progress(done, total)
                if progress_text is not None:
                    rate = done / max(1e-6, time.perf_counter() - job.started)
                    self.progress_row.label.setText(progress_text(done, total, rate))
            if on_progress is not None:
                on_progress(done, total)

        def ended(callback: Callable[..., None] | None) -> Callable[..., None]:
            def end(*args: object) -> None:
                self._jobs.pop(kind, None)
                if not any(j.exclusive for j in self._jobs.values()):
                    self.progress_row.hide()
                self.changed.emit()  # before the callback: it may start the next job
                if callback is not None:
                    callback(*args)

            return end

        task = workers.Task(
            kind,
            fn,
            on_progress=progress,
            on_chunk=on_chunk,
            on_done=ended(on_done),
            on_error=ended(on_error),
            on_cancelled=ended(on_cancelled),
            parent=self,
            nice=MODEL_NICE if model_work else 0,
        )
        job = _Job(task, exclusive, time.perf_counter())
        self._jobs[kind] = job
        if exclusive:
            self.progress_row.begin(label, indeterminate)
        task.start()
        self.changed.emit()
        return True

    def running(self, kind: str) -> bool:
        return kind in self._jobs

    def busy(self) -> bool:
        """An exclusive job is running: no other may start, nothing may be opened or exported."""
        return any(j.exclusive for j in self._jobs.values())

    def cancel_current(self) -> None:
        """Cancel the running exclusive job (the Cancel button, Esc)."""
        for job in self._jobs.values():
            if job.exclusive:
                job.task.cancel()
                self.progress_row.label.setText("Cancelling…")
                self.progress_row.cancel_button.setEnabled(False)
                return

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Cancel and join every job (a finishing job may have started another: loop until none)."""
        self.closing = True
        for _ in range(10):
            tasks = [j.task for j in self._jobs.values()]
            if not tasks:
                break
            for t in tasks:
                t.cancel()
            for t in tasks:
                t.wait(timeout_ms)
