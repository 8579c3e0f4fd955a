"""Where the scorer's arithmetic runs: the device, the CPU threads, glibc's malloc thresholds.
Process-wide settings, kept apart from the scoring logic (`scoring.py`) that uses them."""

from __future__ import annotations

import contextlib
import os
import sys

import torch


def resolve_device(device: str) -> torch.device:
    """ "auto" -> cuda when available, else cpu. Raises ValueError when "cuda" is asked for and
    there is none."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available to torch on this machine; use --device cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def default_threads() -> int:
    """The CPU cores this process may use (affinity-aware), capped at torch's own default."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, _TORCH_DEFAULT_THREADS))


_TORCH_DEFAULT_THREADS = max(1, torch.get_num_threads())
_MALLOC_TUNED = False


def tune_malloc() -> bool:
    """glibc only: raise the mmap and trim thresholds (128 MB / 256 MB) so the activation buffers of
    one batch are reused by the next instead of being unmapped and faulted in again. Process-wide,
    done once; a no-op (False) elsewhere."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok = libc.mallopt(M_MMAP_THRESHOLD, 128 << 20) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1
    except (OSError, AttributeError):  # musl or no libc.so.6
        return False
    _MALLOC_TUNED = ok
    return ok


@contextlib.contextmanager
def torch_threads(n: int):
    prev = torch.get_num_threads()
    if n != prev:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != prev:
            torch.set_num_threads(prev)
