"""Write-through storage of a reviewer's decisions, one journal per document (Qt-free).

A review is (status, note, reviewer, time) of one *post*, keyed by the post's identity, not by its
row: `post_keys` gives each row a key from its text's hash (or from a chosen id column), the k-th
repeat of the same text getting "#k" (its row order breaks the tie). So a review follows its post
when rows are added, removed or moved in a new version of the file (reviews.py matches them and says
what changed). A review is appended to a JSON-lines file as soon as it is committed, flushed and
fsync'ed, so a crash or a power cut loses nothing that was committed. The file holds ONLY the review
fields, the post's key (a hash) and its row: never post text.

Files live in `<data dir>/reviews/`: `doc-<key>.jsonl` (the journal) and `doc-<key>.posts` (the
keys of the version of the file last seen, to say which posts are new), where the key is a hash of
the document's resolved path and sheet. The data dir is passed in by the caller (the GUI passes
QStandardPaths' AppDataLocation); the environment variable CMHL_DATA_DIR overrides it. Journals of
the first format (`<input sha256>.jsonl`, keyed by row) are still read (`legacy_reviews`).

Reading is forgiving: a torn last line (power cut mid-write) or a hand-edited line is skipped, the
last entry for a post wins. When the log has grown well past the number of posts it describes it is
compacted by an atomic rewrite (temp file, fsync, os.replace), on opening and on `compact()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cmhl_desktop.core.results import REVIEW_STATUSES

ENV_DATA_DIR = "CMHL_DATA_DIR"
FORMAT = "cmhl-review 2"
LEGACY_FORMAT = "cmhl-review 1"
_POST_KEY_RE = re.compile(r"^[ti]:[0-9a-f]{20}(#[0-9]{1,9})?$")
COMPACT_MIN_LINES = 200  # compact when the log has this many lines and more than twice the live posts


@dataclass(frozen=True)
class Review:
    status: str = "unreviewed"
    note: str = ""
    reviewer: str = ""
    time: float = 0.0  # seconds since the epoch of the last change
    row: int = -1  # the post's row (0-based) when the review was made; informative only

    @property
    def is_default(self) -> bool:
        return self.status == "unreviewed" and not self.note and not self.reviewer

    def same(self, other: Review | None) -> bool:
        """The same decision (status, note, reviewer), whenever and wherever it was made."""
        return other is not None and (self.status, self.note, self.reviewer) == (
            other.status,
            other.note,
            other.reviewer,
        )


def resolve_data_dir(default: str | os.PathLike[str] | None) -> Path:
    """CMHL_DATA_DIR when set, else `default`; raises ValueError when neither is given."""
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        return Path(env)
    if default is None or str(default) == "":
        raise ValueError(f"no data folder: pass one or set {ENV_DATA_DIR}")
    return Path(default)


def _h(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def post_keys(texts: Sequence[str], ids: Sequence[object] | None = None) -> list[str]:
    """One identity per row: "i:<hash of the id cell>" where an id column is given and the cell is
    not blank, else "t:<hash of the text>"; the k-th repeat of a key (k >= 1, in row order) gets
    "#k". 80-bit hashes: never the text itself."""
    seen: dict[str, int] = {}
    out = []
    for i, t in enumerate(texts):
        v = ids[i] if ids is not None else None
        base = "i:" + _h(str(v)) if v is not None and str(v).strip() else "t:" + _h(t)
        k = seen.get(base, 0)
        seen[base] = k + 1
        out.append(base if k == 0 else f"{base}#{k}")
    return out


def document_key(source: str | os.PathLike[str], sheet: str | None = None) -> str:
    """The journal's key: a hash of the resolved path (and the sheet: two sheets are two documents)."""
    return hashlib.sha256(
        f"{Path(source).resolve()}\x00{sheet or ''}".encode("utf-8", "surrogatepass")
    ).hexdigest()[:32]


def store_key(input_sha256: str, sheet: str | None = None) -> str:
    """The key of a first-format journal (by the input's sha256). Raises ValueError for a non-hex sha."""
    sha = input_sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{16,128}", sha):
        raise ValueError("input_sha256 must be a hex digest")
    if sheet:
        return f"{sha}.{hashlib.sha256(sheet.encode('utf-8')).hexdigest()[:8]}"
    return sha


class ReviewStore:
    """The review journal of one document. Thread-safe; every `set` is durable when it returns.

    source, sheet: the document (its journal is found by them). name: the file name recorded in the
    journal's first line, so a carried-over review can say where it came from."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None,
        source: str | os.PathLike[str],
        sheet: str | None = None,
        name: str = "",
    ) -> None:
        self.path = journal_path(data_dir, source, sheet)
        self.folder = self.path.parent
        self.index_path = self.path.with_suffix(".posts")
        self.name = name or Path(source).name
        self._lock = threading.Lock()
        self._reviews: dict[str, Review] = {}
        self._lines = 0
        self._reviews, self._lines, _ = read_journal(self.path)
        if self._lines >= COMPACT_MIN_LINES and self._lines > 2 * max(1, len(self._reviews)):
            self.compact()

    # ------------------------------------------------------------------ reading

    def all(self) -> dict[str, Review]:
        """Every post with a stored review, by post key (posts back at the default are left out)."""
        with self._lock:
            return {k: v for k, v in self._reviews.items() if not v.is_default}

    def get(self, key: str) -> Review | None:
        with self._lock:
            return self._reviews.get(key)

    def __len__(self) -> int:
        return len(self.all())

    def seen(self) -> Seen | None:
        """(input sha256, post keys, id column) of the version of the document last seen; None if never."""
        return read_seen(self.index_path)

    # ------------------------------------------------------------------ writing

    def set(
        self, key: str, row: int, status: str, note: str = "", reviewer: str = "", t: float | None = None
    ) -> Review:
        """Record a post's review and make it durable (append + flush + fsync) before returning.
        `t`: the time of the decision (default now; a carried-over review keeps its own). Raises
        ValueError for an unknown status, a bad key or row, OSError when the disk refuses."""
        review = _check(key, row, status, note, reviewer, t)
        with self._lock:
            if review.same(self._reviews.get(key)):
                return self._reviews[key]  # nothing changed: no write
            self._append([(key, review)])
            self._reviews[key] = review
        return review

    def set_many(self, reviews: Iterable[tuple[str, Review]]) -> int:
        """Record several reviews at once (carried over from another version), one fsync; returns
        how many were written (unchanged ones are skipped)."""
        todo = []
        with self._lock:
            for key, rev in reviews:
                rev = _check(key, rev.row, rev.status, rev.note, rev.reviewer, rev.time or None)
                if not rev.same(self._reviews.get(key)):
                    todo.append((key, rev))
            if todo:
                self._append(todo)
                self._reviews.update(todo)
        return len(todo)

    def _append(self, entries: list[tuple[str, Review]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        new_file = not self.path.exists()
        # 0o600 like the compacted journal (mkstemp) and the scores cache: notes are case records
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            if new_file:
                f.write(_header(self.name) + "\n")
                self._lines += 1
            elif _needs_newline(self.path):
                f.write("\n")  # a torn last line: start cleanly on the next one
            f.write("".join(_line(k, v) + "\n" for k, v in entries))
            f.flush()
            os.fsync(f.fileno())
        if new_file:
            _fsync_dir(self.folder)
        self._lines += len(entries)

    def write_seen(self, input_sha256: str, keys: Sequence[str], id_column: str | None = None) -> None:
        """Remember the post keys of this version of the document and the id column they were made
        from (None: the post text), atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        head = "sha256 " + input_sha256 + "\n"
        if id_column is not None:
            head += "id_column " + json.dumps(id_column) + "\n"
        _atomic_text(self.index_path, head + "".join(k + "\n" for k in keys))

    def compact(self) -> None:
        """Rewrite the journal with one line per reviewed post, atomically."""
        with self._lock:
            live = [
                (k, v) for k, v in sorted(self._reviews.items(), key=lambda kv: kv[1].row) if not v.is_default
            ]
            if not self.path.exists():
                return
            _atomic_text(self.path, _header(self.name) + "\n" + "".join(_line(k, v) + "\n" for k, v in live))
            self._lines = 1 + len(live)

    def lines(self) -> int:
        """Lines in the journal now (its header included)."""
        return self._lines


# --------------------------------------------------------------------------- other journals


def read_journal(path: Path) -> tuple[dict[str, Review], int, str]:
    """(reviews by post key, lines read, the file name its header records) of a journal; empty
    when there is none."""
    reviews: dict[str, Review] = {}
    lines, name = 0, ""
    if not path.is_file():
        return reviews, 0, ""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            lines += 1
            if lines == 1:
                try:
                    name = str(json.loads(line).get("input", ""))
                except (ValueError, AttributeError):
                    pass
            entry = _parse(line)
            if entry is not None:
                reviews[entry[0]] = entry[1]
    return reviews, lines, name


class Seen(NamedTuple):
    """A journal's `.posts` file: the version of the document last seen."""

    sha256: str
    keys: list[str]
    id_column: str | None  # the column the keys were made from (None: the post text)


def journal_path(data_dir: str | os.PathLike[str] | None, source: str | os.PathLike[str], sheet=None) -> Path:
    """The journal of a document (its `.posts` file has the same name with that suffix)."""
    return resolve_data_dir(data_dir) / "reviews" / f"doc-{document_key(source, sheet)}.jsonl"


def read_seen(index_path: Path) -> Seen | None:
    """A journal's `.posts` file; None when there is none."""
    try:
        lines = index_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if not lines or not lines[0].startswith("sha256 "):
        return None
    keys = [k for k in lines[1:] if _POST_KEY_RE.match(k)]
    return Seen(lines[0][7:].strip(), keys, _id_column(lines[1] if len(lines) > 1 else ""))


def read_seen_id_column(index_path: Path) -> str | None:
    """Only the id column of a `.posts` file (its first two lines; the keys may be many)."""
    try:
        with open(index_path, encoding="utf-8") as f:
            f.readline()
            return _id_column(f.readline())
    except OSError:
        return None


def _id_column(line: str) -> str | None:
    if not line.startswith("id_column "):
        return None
    try:
        name = json.loads(line[10:])
    except ValueError:
        return None
    return name if isinstance(name, str) else None


def journals(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Every journal of this data folder (newest first)."""
    folder = resolve_data_dir(data_dir) / "reviews"
    try:
        found = list(folder.glob("doc-*.jsonl"))
    except OSError:
        return []
    return sorted(found, key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)


def legacy_reviews(
    data_dir: str | os.PathLike[str] | None, input_sha256: str, sheet: str | None
) -> dict[int, Review]:
    """The reviews of a first-format journal (keyed by the input's sha256, entries by row)."""
    path = resolve_data_dir(data_dir) / "reviews" / f"{store_key(input_sha256, sheet)}.jsonl"
    if not path.is_file():
        return {}
    out: dict[int, Review] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                d = json.loads(line)
                row, status = d["row"], d["status"]
                if isinstance(row, int) and row >= 0 and status in REVIEW_STATUSES:
                    out[row] = Review(
                        status,
                        str(d.get("note", "")),
                        str(d.get("reviewer", "")),
                        float(d.get("t", 0.0)),
                        row,
                    )
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
    return {r: v for r, v in out.items() if not v.is_default}


# --------------------------------------------------------------------------- lines


def _check(key: str, row: int, status: str, note: str, reviewer: str, t: float | None) -> Review:
    if status not in REVIEW_STATUSES:
        raise ValueError(f"unknown review status {status!r}; expected one of {REVIEW_STATUSES}")
    if not isinstance(key, str) or not _POST_KEY_RE.match(key):
        raise ValueError("a review needs a post key from post_keys()")
    if not isinstance(row, int) or row < 0:
        raise ValueError("row must be a non-negative int")
    return Review(status, str(note), str(reviewer), round(time.time() if t is None else float(t), 3), row)


def _header(name: str) -> str:
    return json.dumps({"format": FORMAT, "input": name}, ensure_ascii=False)


def _line(key: str, v: Review) -> str:
    d = {"key": key, "row": v.row, "status": v.status, "note": v.note, "reviewer": v.reviewer, "t": v.time}
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _parse(line: str) -> tuple[str, Review] | None:
    line = line.strip()
    if not line:
        return None
    try:
        d = json.loads(line)
    except ValueError:
        return None  # torn or hand-edited line
    if not isinstance(d, dict) or "key" not in d:
        return None
    key, row, status = d.get("key"), d.get("row", -1), d.get("status")
    if not isinstance(key, str) or not _POST_KEY_RE.match(key) or status not in REVIEW_STATUSES:
        return None
    try:
        t = float(d.get("t", 0.0))
    except (TypeError, ValueError):
        t = 0.0
    row = row if isinstance(row, int) and row >= 0 else -1
    return key, Review(status, str(d.get("note", "")), str(d.get("reviewer", "")), t, row)


def _needs_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:
        return False


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make a new or renamed file's directory entry durable (POSIX; a no-op where unsupported)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
