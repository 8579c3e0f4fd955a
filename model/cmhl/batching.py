"""The one batch packer: items sorted by width and packed so that rows x padded width stays within a
token budget. Scoring, evaluation and attribution all batch through it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def bucket_width(n: int) -> int:
    """Padded width of a batch whose longest window has n tokens: exact up to 16, then the next
    multiple of 8 (up to 128), then of 16. Few distinct shapes mean oneDNN reuses its compiled
    kernels (a new matmul shape costs a JIT compile, ~2 MB cached each, 10-40% of a batch's time)."""
    if n <= 16:
        return n
    step = 8 if n <= 128 else 16
    return -(-n // step) * step


def pack_by_width(
    items: Sequence[T],
    budget: int,
    width: Callable[[T], int],
    rows: Callable[[T], int] = lambda _: 1,
    max_rows: int | None = None,
) -> list[tuple[int, list[T]]]:
    """(padded width, items) batches, narrowest first: items sorted by `width` and packed greedily
    while (rows so far + rows(item)) x width(item) <= budget and rows <= max_rows. An item too big
    for the budget is a batch of its own."""
    out: list[tuple[int, list[T]]] = []
    cur: list[T] = []
    n = 0
    w_cur = 0
    for it in sorted(items, key=width):
        w, r = width(it), rows(it)
        if cur and ((n + r) * w > budget or (max_rows is not None and n + r > max_rows)):
            out.append((w_cur, cur))
            cur, n = [], 0
        cur.append(it)
        n += r
        w_cur = w  # ascending: the newest item is the widest
    if cur:
        out.append((w_cur, cur))
    return out


def plan_windows(encoded, token_budget: int, max_batch: int, max_width: int | None = None):
    """(padded width, [(post, window), ...]) batches of every window of `encoded` (a list of
    `cmhl.windows.EncodedPost`), widths bucketed (`bucket_width`) and capped at `max_width`."""
    cap = max_width if max_width is not None else 1 << 30

    def width(pw: tuple[int, int]) -> int:
        return min(bucket_width(len(encoded[pw[0]].windows[pw[1]])), cap)

    items = [(p, w) for p, e in enumerate(encoded) for w in range(len(e.windows))]
    return pack_by_width(items, token_budget, width, max_rows=max_batch)
