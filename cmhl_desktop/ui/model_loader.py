"""Loading a model for the window, on a background job: the checkpoint with a scorer tuned for a
responsive window, and Captum imported up front. Everything that touches torch/transformers/captum
is imported inside these functions, so the window appears before any of it is loaded. A folder that
is not a usable checkpoint gets a clear message, and the current model stays."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from cmhl_desktop.core import paths
from cmhl_desktop.core.loaded_model import LoadedModel
from cmhl_desktop.ui.errors import ErrorReporter, describe_error, is_expected, log_exception
from cmhl_desktop.ui.jobs import JobRunner


class ModelLoader(QObject):
    """`loaded(LoadedModel)` when a checkpoint is ready; `failed(message)` when one is not (the
    message box is shown here). `current` tells which model stays when loading fails."""

    loaded = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        jobs: JobRunner,
        errors: ErrorReporter,
        label: QLabel,
        status: Callable[[str, int], None],
        current: Callable[[], LoadedModel | None],
    ) -> None:
        super().__init__(jobs)
        self.jobs, self.errors, self.label, self.status, self.current = jobs, errors, label, status, current

    def autoload(self, *candidates: Path | None) -> None:
        """Load the first folder given (the command line's, the last one used), else the shipped one."""
        path = next((p for p in candidates if p is not None), None) or paths.default_checkpoint()
        if not Path(path).is_dir():
            self.label.setText("Model: none")
            self.status("No model found: choose a checkpoint folder in Model → Choose checkpoint folder…", 0)
            self.failed.emit(f"{path}: not a folder")
            return
        self.load(path)

    def load(self, path: str | Path) -> None:
        if self.jobs.running("load") or self.jobs.closing:
            return
        if self.jobs.running("score") or self.jobs.running("explain-all"):
            self.errors.show(
                "Model", "Wait for the running task to finish (or cancel it) before changing the model."
            )
            return
        path = Path(path)
        self.label.setText(f"Model: loading {path.name}…")
        self.status(f"Loading model {path.name}…", 0)
        self.jobs.start(
            "load",
            lambda state, emit: load_for_window(path),
            on_done=self.loaded.emit,
            on_error=lambda e: self._failed(path, e),
        )

    def _failed(self, path: Path, e: BaseException) -> None:
        msg = describe_error(e)
        if not is_expected(e):
            log_exception("loading a model", e)
        current = self.current()
        self.label.setText(f"Model: {current.name}" if current else "Model: none")
        self.status("The model could not be loaded.", 8000)
        stays = "The current model stays loaded." if current else "Choose another folder in the Model menu."
        self.errors.show(
            "Cannot load model", f"The folder {path} is not a usable CMHL checkpoint:\n\n{msg}\n\n{stays}"
        )
        self.failed.emit(msg)


GUI_CHUNK = 256  # posts per streamed chunk: results appear often, an explanation waits one chunk at most


def load_for_window(path: str | Path) -> LoadedModel:
    """Load a checkpoint folder for the window (runs on a worker). Raises CheckpointError."""
    model = LoadedModel.load(path, gui_scoring_options())
    warm_up_attribution()
    return model


def warm_up_attribution() -> None:
    """Import Captum (and the matplotlib/scipy it pulls in) now, on the loading thread: imported later,
    on the first explanation, its module initialisation holds the GIL long enough to stall the window
    in the middle of a scoring run."""
    try:
        import captum.attr  # noqa: F401

        import cmhl_desktop.core.attribution  # noqa: F401
    except Exception:  # attribution is optional for loading; its errors show when it is used
        pass


def gui_scoring_options():
    """Scoring options for the window: smaller chunks than the CLI (results stream sooner, the model
    lock is released more often) and one core left to the GUI thread, so the window never stalls
    behind torch's busy threads. CMHL_SCORING_THREADS overrides the thread count."""
    from cmhl_desktop.core.scoring import ScoringOptions

    env = os.environ.get("CMHL_SCORING_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        threads = int(env)
    else:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        threads = max(1, cores - 1)
    return ScoringOptions(chunk=GUI_CHUNK, threads=threads)
