"""Finding a document's reviews when it is opened (Qt-free): its own journal, a changed version of
the file, an older journal format, or another journal that reviewed the same posts (the input of a
reopened export, a renamed copy). Reviews follow posts by identity (`review_store.post_keys`), never
silently dropped: a review whose post is no longer in the file stays in the journal, and the message
says so.

    opened = open_reviews(data_dir, table, keys)
    opened.by_row        # {row: Review} to put on the results
    opened.message       # e.g. "posts.csv changed since it was last opened: 12 reviews carried
                         #  over, 1 post is new." ("" when there is nothing to say)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .results import PostResult
from .review_store import (
    Review,
    ReviewStore,
    journal_path,
    journals,
    legacy_reviews,
    read_journal,
    read_seen,
    read_seen_id_column,
)


@dataclass
class OpenedReviews:
    store: ReviewStore
    by_row: dict[int, Review] = field(default_factory=dict)
    message: str = ""  # what happened to the reviews, in plain words (no post text)
    carried: int = 0  # reviews put on posts of this version
    new: int = -1  # posts not in the version seen before (-1: not known)
    gone: int = 0  # reviewed posts that are no longer in the file (their reviews are kept)
    source: str = ""  # where carried reviews came from: "" (this document), a file name, "legacy"


def _n(k: int, one: str, many: str | None = None) -> str:
    return f"{k:,} {one if k == 1 else (many or one + 's')}"


def _new_posts(keys: Sequence[str], seen: tuple[str, list[str]] | None) -> int:
    if seen is None:
        return -1
    before = set(seen[1])
    return sum(k not in before for k in keys)


def _summary(carried: int, new: int, gone: int) -> str:
    parts = [_n(carried, "review") + " carried over"]
    if new >= 0:
        parts.append(_n(new, "post is new", "posts are new"))
    text = ", ".join(parts) + "."
    if gone:
        text += f" {_n(gone, 'reviewed post is', 'reviewed posts are')} no longer in the file (the reviews are kept)."
    return text


def open_reviews(data_dir: str | os.PathLike[str] | None, table, keys: Sequence[str]) -> OpenedReviews:
    """The reviews of `table` (an `InputTable`) whose rows have the post `keys`: its own journal
    (by path and sheet), carried over to this version of the file when it changed; when it has
    none, a first-format journal of the same file, else the journal that reviewed the most of these
    posts. Carried reviews are written to this document's journal at once. Raises OSError /
    ValueError when the journal cannot be opened or written."""
    source = Path(table.source)
    store = ReviewStore(data_dir, source, table.sheet, source.name)
    out = OpenedReviews(store)
    stored = store.all()
    seen = store.seen()
    where = {k: i for i, k in enumerate(keys)}
    if stored:
        if seen is not None and seen[0] != table.sha256:
            out.carried = sum(k in where for k in stored)
            out.gone = len(stored) - out.carried
            out.new = _new_posts(keys, seen)
            out.message = f"{source.name} changed since it was last opened: " + _summary(
                out.carried, out.new, out.gone
            )
    else:
        legacy = legacy_reviews(data_dir, table.sha256, table.sheet)
        moved = [(keys[r], v) for r, v in legacy.items() if r < len(keys)]
        if moved:
            store.set_many(moved)
            out.carried, out.source = len(moved), "legacy"
            out.message = (
                f"{_n(len(moved), 'review')} restored from the previous review journal of {source.name}."
            )
        else:
            _carry_from_other(data_dir, store, keys, where, out)
        stored = store.all()
    id_col = getattr(table, "id_column", None)
    id_name = None if id_col is None else str(table.columns[id_col])
    before = seen.id_column if seen is not None else None
    out.by_row = {where[k]: v for k, v in stored.items() if k in where}
    if stored and not out.by_row and before != id_name:
        # The reviews were kept under another choice of Post id: say so (or they look lost), and keep
        # remembering that choice so that the open dialog offers it again.
        was = "the post text" if before is None else f"the id column '{before}'"
        out.message = (
            f"{_n(len(stored), 'review')} of {source.name} {'was' if len(stored) == 1 else 'were'} kept "
            f"with posts recognised by {was}: "
            "open the file again with that choice of Post id to see them (nothing was lost)."
        )
    elif seen is None or seen[0] != table.sha256 or before != id_name:
        store.write_seen(table.sha256, keys, id_name)
    return out


def remembered_id_column(data_dir, path: str | os.PathLike[str], sheet: str | None = None) -> str | None:
    """The Post id column this document's reviews were last kept under (None: the post text, or no
    journal), so that an open dialog can offer the same choice again."""
    if data_dir is None:  # reviews are not kept
        return None
    return read_seen_id_column(journal_path(data_dir, path, sheet).with_suffix(".posts"))


def _carry_from_other(
    data_dir, store: ReviewStore, keys: Sequence[str], where: dict[str, int], out: OpenedReviews
) -> None:
    """Carry over the reviews of the journal that reviewed the most of these posts (if any)."""
    best: tuple[int, Path, dict[str, Review], str] | None = None
    for path in journals(data_dir):
        if path == store.path:
            continue
        reviews, _, name = read_journal(path)
        hits = sum(k in where and not v.is_default for k, v in reviews.items())
        if hits and (best is None or hits > best[0]):
            best = (hits, path, reviews, name)
    if best is None:
        return
    _, path, reviews, name = best
    moved = [
        (k, Review(v.status, v.note, v.reviewer, v.time, where[k]))
        for k, v in reviews.items()
        if k in where and not v.is_default
    ]
    store.set_many(moved)
    out.carried, out.source = len(moved), name or path.name
    out.new = _new_posts(keys, read_seen(path.with_suffix(".posts")))
    out.message = f"Reviews found for posts of {out.source}: " + _summary(out.carried, out.new, 0)


def is_reviewed(r: PostResult) -> bool:
    """Whether a result carries a review (a status other than unreviewed, or a note)."""
    return r.review_status != "unreviewed" or bool(r.review_note)


def review_of(r: PostResult, row: int = -1) -> Review:
    """The review a result carries."""
    return Review(r.review_status, r.review_note, r.reviewer, r.review_time, row)


def apply_review(r: PostResult, rev: Review) -> None:
    """Put a review on a result, in place."""
    r.review_status, r.review_note, r.reviewer, r.review_time = rev.status, rev.note, rev.reviewer, rev.time


def merge_reviews(results: Sequence, journal: dict[int, Review]) -> dict[int, Review]:
    """A reopened export's reviews (on `results`, from its cells) against the journal's (`journal`,
    by row): each post gets the newer of the two (a cell without a time loses to the journal), in
    place. Returns the cell reviews the journal lacks or has older, by row, to be written to it."""
    newer: dict[int, Review] = {}
    for i, r in enumerate(results):
        if r is None:
            continue
        cell = review_of(r, i)
        kept = journal.get(i)
        if kept is not None and (kept.time >= cell.time or cell.is_default):
            apply_review(r, kept)
        elif not cell.is_default and not cell.same(kept):
            newer[i] = cell
    return newer
