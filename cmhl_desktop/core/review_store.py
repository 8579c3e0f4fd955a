"""Write-through storage of a reviewer's decisions, one file per input (Qt-free).

A review is (row index, status, note, reviewer). It is appended to a JSON-lines file as soon as it is
made, flushed and fsync'ed, so a crash or a power cut loses nothing that was on screen. The file holds
ONLY the review fields and the row index: never post text or anything else from the input.

Files live in `<data dir>/reviews/<key>.jsonl`, where the key is the input's sha256 (plus a short
hash of the sheet name for a workbook's sheet, since two sheets of one file are different inputs).
The data dir is passed in by the caller (the GUI passes QStandardPaths' AppDataLocation); the
environment variable CMHL_DATA_DIR overrides it (tests, portable installs).

Reading is forgiving: a torn last line (power cut mid-write) or a hand-edited line is skipped, the
last entry for a row wins. When the log has grown well past the number of rows it describes it is
compacted by an atomic rewrite (temp file, fsync, os.replace).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cmhl_desktop.core.results import REVIEW_STATUSES

ENV_DATA_DIR = "CMHL_DATA_DIR"
FORMAT = "cmhl-review 1"
_KEY_RE = re.compile(r"^[0-9a-f]{16,128}(\.[0-9a-f]{8})?$")
COMPACT_MIN_LINES = 200  # compact when the log has this many lines and more than twice the live rows


@dataclass(frozen=True)
class Review:
    status: str = "unreviewed"
    note: str = ""
    reviewer: str = ""
    time: float = 0.0  # seconds since the epoch of the last change

    @property
    def is_default(self) -> bool:
        return self.status == "unreviewed" and not self.note and not self.reviewer


def resolve_data_dir(default: str | os.PathLike[str] | None) -> Path:
    """CMHL_DATA_DIR when set, else `default`; raises ValueError when neither is given."""
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        return Path(env)
    if default is None or str(default) == "":
        raise ValueError(f"no data folder: pass one or set {ENV_DATA_DIR}")
    return Path(default)


def store_key(input_sha256: str, sheet: str | None = None) -> str:
    sha = input_sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{16,128}", sha):
        raise ValueError("input_sha256 must be a hex digest")
    if sheet:
        return f"{sha}.{hashlib.sha256(sheet.encode('utf-8')).hexdigest()[:8]}"
    return sha


class ReviewStore:
    """The review log of one input. Thread-safe; every `set` is durable when it returns."""

    def __init__(self, data_dir: str | os.PathLike[str] | None, input_sha256: str, sheet: str | None = None):
        self.folder = resolve_data_dir(data_dir) / "reviews"
        self.key = store_key(input_sha256, sheet)
        assert _KEY_RE.match(self.key)
        self.path = self.folder / f"{self.key}.jsonl"
        self._lock = threading.Lock()
        self._reviews: dict[int, Review] = {}
        self._lines = 0
        self._load()

    # ------------------------------------------------------------------ reading

    def _load(self) -> None:
        if not self.path.is_file():
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                self._lines += 1
                entry = _parse(line)
                if entry is not None:
                    row, review = entry
                    self._reviews[row] = review
        if self._lines >= COMPACT_MIN_LINES and self._lines > 2 * max(1, len(self._reviews)):
            self.compact()

    def all(self) -> dict[int, Review]:
        """Every row with a stored review (rows back at the default are left out)."""
        with self._lock:
            return {r: v for r, v in self._reviews.items() if not v.is_default}

    def get(self, row: int) -> Review | None:
        with self._lock:
            return self._reviews.get(row)

    def __len__(self) -> int:
        return len(self.all())

    # ------------------------------------------------------------------ writing

    def set(self, row: int, status: str, note: str = "", reviewer: str = "") -> Review:
        """Record a review and make it durable (append + flush + fsync) before returning."""
        if status not in REVIEW_STATUSES:
            raise ValueError(f"unknown review status {status!r}; expected one of {REVIEW_STATUSES}")
        if not isinstance(row, int) or row < 0:
            raise ValueError("row must be a non-negative int")
        review = Review(status, str(note), str(reviewer), round(time.time(), 3))
        with self._lock:
            old = self._reviews.get(row)
            if old is not None and (old.status, old.note, old.reviewer) == (status, note, reviewer):
                return old  # nothing changed: no write
            line = json.dumps(
                {
                    "row": row,
                    "status": status,
                    "note": review.note,
                    "reviewer": review.reviewer,
                    "t": review.time,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            self.folder.mkdir(parents=True, exist_ok=True)
            new_file = not self.path.exists()
            with open(self.path, "a", encoding="utf-8") as f:
                if new_file:
                    f.write(json.dumps({"format": FORMAT}) + "\n")
                    self._lines += 1
                elif self._needs_newline():
                    f.write("\n")  # a torn last line: start cleanly on the next one
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
            if new_file:
                _fsync_dir(self.folder)
            self._lines += 1
            self._reviews[row] = review
        return review

    def _needs_newline(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() == 0:
                    return False
                f.seek(-1, os.SEEK_END)
                return f.read(1) != b"\n"
        except OSError:
            return False

    def compact(self) -> None:
        """Rewrite the log with one line per row, atomically."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{self.key}.", suffix=".part")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(json.dumps({"format": FORMAT}) + "\n")
                    n = 1
                    for row in sorted(self._reviews):
                        v = self._reviews[row]
                        if v.is_default:
                            continue
                        f.write(
                            json.dumps(
                                {
                                    "row": row,
                                    "status": v.status,
                                    "note": v.note,
                                    "reviewer": v.reviewer,
                                    "t": v.time,
                                },
                                ensure_ascii=False,
                                separators=(",", ":"),
                            )
                            + "\n"
                        )
                        n += 1
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
                _fsync_dir(self.folder)
                self._lines = n
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


def _parse(line: str) -> tuple[int, Review] | None:
    line = line.strip()
    if not line:
        return None
    try:
        d = json.loads(line)
    except ValueError:
        return None  # torn or hand-edited line
    if not isinstance(d, dict) or "row" not in d:
        return None
    row, status = d.get("row"), d.get("status")
    if not isinstance(row, int) or row < 0 or status not in REVIEW_STATUSES:
        return None
    try:
        t = float(d.get("t", 0.0))
    except (TypeError, ValueError):
        t = 0.0
    return row, Review(status, str(d.get("note", "")), str(d.get("reviewer", "")), t)


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
