"""Loading a model for the window, on a worker thread: the checkpoint with a scorer tuned for a
responsive window, and Captum imported up front. Everything that touches torch/transformers/captum
is imported inside these functions, so the window appears before any of it is loaded."""

from __future__ import annotations

import os
from pathlib import Path

from cmhl_desktop.core.session import LoadedModel

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
