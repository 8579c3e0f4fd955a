"""The table every reader returns, the posts built from it, and the guesses made about its shape
(which row is the header, which columns hold the post).

A post is one text column, or several joined (a forum dump's title and body): `Post` keeps, for
every character of the joined text, the column and the offset in that column's cell it came from,
so word highlights computed on the post land on the right characters of the right cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cmhl_desktop.core.results import PostResult, WordScore
from cmhl_desktop.core.text_norm import is_placeholder

KINDS = ("xlsx", "csv", "tsv", "txt", "folder", "jsonl", "scored")
JOIN_SEPARATOR = "\n\n"  # between the parts of a post built from several columns
_TEXT_NAMES = ("text", "post", "body", "content", "message", "comment", "selftext")
# Header names that mark a row as a header whatever the rest of the row looks like.
_HEADER_WORDS = frozenset(
    {"id", "text", "post", "body", "title", "selftext", "date", "time", "author", "user", "name", "message"}
    | {"content", "comment", "created_utc", "subreddit", "score", "url", "post_id", "post_text"}
)
_TITLE_NAMES = ("title", "subject", "headline")
_BODY_NAMES = ("selftext", "body", "text", "post", "content", "message")
_NUMBER = re.compile(r"[+-]?[\d.,\s]+%?")
_DATE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm]|Z)?)?"  # dates
    r"|\d{1,2}:\d{2}(:\d{2})?\s*([AaPp][Mm])?"  # times
)


class InputError(ValueError):
    """The input cannot be read; the message names the file and, where it helps, the row, line or
    sheet, and what to do. It never quotes post text."""


def as_text(value: object) -> str:
    """A cell as text: None/NaN -> "", strings as they are, anything else through str()."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Segment:
    """One column's cell inside a post: text[start:end] == the cell's text."""

    column: int
    start: int
    end: int


@dataclass(frozen=True)
class Post:
    """The text the model reads for one row and where each part came from."""

    text: str
    segments: tuple[Segment, ...]

    def locate(self, offset: int) -> tuple[int, int] | None:
        """(column index, offset in that column's cell text) of a character offset of `text`;
        None inside a separator between columns."""
        for s in self.segments:
            if s.start <= offset < s.end or (offset == s.end == len(self.text)):
                return s.column, offset - s.start
        return None

    def words_by_column(self, words: Sequence[WordScore] | None) -> dict[int, list[WordScore]]:
        """Words (offsets into `text`) as words of each column's cell (offsets into that cell). A
        word that spans a separator is cut to the part in its first column."""
        out: dict[int, list[WordScore]] = {s.column: [] for s in self.segments}
        for w in words or ():
            for s in self.segments:
                if s.start <= w.start < s.end:
                    a, b = w.start - s.start, min(w.end, s.end) - s.start
                    out[s.column].append(WordScore(a, b, self.text[s.start + a : s.start + b], w.score))
                    break
        return out


def build_post(row: Sequence[object], columns: Sequence[int]) -> Post:
    """The post of one row. One column: its cell text, exactly. Several: the non-empty cells joined
    by a blank line, in the order given; placeholder cells ([deleted], [removed]) are left out when
    another cell has text, so a removed body does not hide its title."""
    if len(columns) == 1:
        t = as_text(row[columns[0]])
        return Post(t, (Segment(columns[0], 0, len(t)),))
    parts = [(j, as_text(row[j])) for j in columns]
    parts = [(j, t) for j, t in parts if t.strip()]
    real = [(j, t) for j, t in parts if not is_placeholder(t)]
    parts = real or parts[:1]
    segs, pos = [], 0
    for j, t in parts:
        if segs:
            pos += len(JOIN_SEPARATOR)
        segs.append(Segment(j, pos, pos + len(t)))
        pos += len(t)
    return Post(JOIN_SEPARATOR.join(t for _, t in parts), tuple(segs))


@dataclass
class InputTable:
    """An input as read: header (duplicates kept), every row in order with every cell (strings
    normalised once by `text_norm.normalize_cell`, nothing else changed), and which columns make
    the post. `rows[i]` has `len(columns)` cells."""

    source: Path
    sheet: str | None
    columns: list[str]  # the header as in the file, duplicates kept ("column N" without a header)
    rows: list[list[object]]  # original cell values; every row has len(columns) cells
    text_column: int  # the (first) text column
    sha256: str  # of the input file's bytes; for a folder, of the sorted names and contents
    kind: str  # one of KINDS
    results: list[PostResult] | None = None  # filled when the input is one of our own exports
    encoding: str | None = None  # text inputs: the encoding that decoded the file
    delimiter: str | None = None  # csv/tsv: the delimiter used
    meta: dict[str, str] = field(default_factory=dict)  # an exported workbook's run sheet
    joined: list[int] = field(default_factory=list)  # several text columns joined, in order
    header: bool = True  # False: the first row was data; columns are named "column 1", ...
    warnings: list[str] = field(default_factory=list)  # what was repaired (no post text)
    notes: list[str] = field(default_factory=list)  # choices made for the user (sheet, header)
    id_column: int | None = None  # the column that identifies a post for its review (None: its text)

    @property
    def text_column_name(self) -> str:
        return self.columns[self.text_column]

    @property
    def text_columns(self) -> list[int]:
        """The columns a post is built from (one, or several joined)."""
        return list(self.joined) if len(self.joined) > 1 else [self.text_column]

    def set_text_columns(self, columns: Sequence[int]) -> None:
        cols = list(dict.fromkeys(columns))
        self.text_column = cols[0]
        self.joined = cols if len(cols) > 1 else []

    def post(self, i: int) -> Post:
        """Row i's post with its column map."""
        return build_post(self.rows[i], self.text_columns)

    def posts(self) -> list[Post]:
        cols = self.text_columns
        return [build_post(r, cols) for r in self.rows]

    def texts(self) -> list[str]:
        """The post text of every row, in order (what is scored and shown)."""
        if len(self.text_columns) == 1:
            j = self.text_column
            return [as_text(row[j]) for row in self.rows]
        return [p.text for p in self.posts()]


# --------------------------------------------------------------------------- guesses


def _kind(v: object) -> str:
    """blank | number | date | sentence | label: the shape of one cell, for header detection."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "blank"
    if isinstance(v, bool):
        return "label"
    if isinstance(v, (int, float)):
        return "number"
    if not isinstance(v, str):
        return "date" if hasattr(v, "year") or hasattr(v, "hour") else "label"
    s = v.strip()
    if not s:
        return "blank"
    if _NUMBER.fullmatch(s) and any(c.isdigit() for c in s):
        return "number"
    if _DATE.fullmatch(s):
        return "date"
    words = [t for t in s.split() if any(c.isalpha() for c in t)]
    if len(words) >= 4 or (len(words) >= 3 and s[-1] in ".!?…") or (len(words) >= 2 and len(s) >= 40):
        return "sentence"
    return "label"


def detect_header(first: Sequence[object], rows: Sequence[Sequence[object]]) -> bool:
    """Whether `first` is a header row rather than the first row of data. It is data when, in a
    column whose cells are sentences (the posts), the first cell is a sentence too, and no column
    votes header: a label over numbers, dates or sentences ("id" over 1, 2, 3), or a usual header
    name. With no rows to compare, a header is assumed."""
    sample = rows[:50]
    if not sample:
        return True
    data_votes = header_votes = sentence_votes = 0
    for j, h in enumerate(first):
        hk = _kind(h)
        if hk == "label" and isinstance(h, str) and h.strip().casefold() in _HEADER_WORDS:
            header_votes += 1
            continue
        body = [_kind(r[j]) for r in sample if j < len(r)]
        body = [k for k in body if k != "blank"]
        if not body:
            continue
        top = max(set(body), key=body.count)
        if body.count(top) < 0.6 * len(body) or top == "label":
            continue
        if hk == top:
            data_votes += 1
            sentence_votes += top == "sentence"
        elif hk == "label":
            header_votes += 1
    return not (sentence_votes and data_votes and not header_votes)


def guess_text_column(columns: list[str], rows: list[list[object]]) -> int:
    """The most text-like column: the longest mean length of string cells that contain whitespace.
    Numbers, dates and cells without spaces (ids, aliases) count as zero. Ties and empty tables fall
    back to a text-like header name, then to the first column."""
    sample = rows[:500]
    best, best_score = -1, 0.0
    for j in range(len(columns)):
        total = 0
        for row in sample:
            v = row[j] if j < len(row) else None
            if isinstance(v, str):
                s = v.strip()
                if (" " in s or "\n" in s) and not (_NUMBER.fullmatch(s) or _DATE.fullmatch(s)):
                    total += len(s)
        score = total / max(1, len(sample))
        if score > best_score:
            best, best_score = j, score
    if best >= 0:
        return best
    for j, name in enumerate(columns):
        if any(hint in str(name).lower() for hint in _TEXT_NAMES):
            return j
    return 0


def guess_text_columns(columns: list[str], rows: list[list[object]]) -> list[int]:
    """The columns a post is built from: a forum dump's title and body (`title` + `selftext`, or
    `title` + `body`/`text`) joined in that order, otherwise `guess_text_column`'s one column."""
    folded = [str(c).strip().casefold() for c in columns]
    title = next((folded.index(n) for n in _TITLE_NAMES if folded.count(n) == 1), None)
    body = next((folded.index(n) for n in _BODY_NAMES if folded.count(n) == 1), None)
    if title is not None and body is not None:
        return [title, body]
    return [guess_text_column(columns, rows)]


def resolve_column(name: str, columns: list[str], column: str | int) -> int:
    """A column given by name (exact, then unique case-insensitive) or 0-based index (int or digit
    string). Raises InputError listing the columns."""
    if isinstance(column, str):
        if column in columns:
            return columns.index(column)  # first of duplicates
        folded = [c.strip().casefold() for c in columns]
        if folded.count(column.strip().casefold()) == 1:
            return folded.index(column.strip().casefold())
        if not column.strip().isdigit():
            raise InputError(f"{name}: no column {column!r}; columns are: {', '.join(map(repr, columns))}")
        column = int(column.strip())
    if not 0 <= column < len(columns):
        raise InputError(
            f"{name}: column index {column} out of range; "
            f"there are {len(columns)} columns: {', '.join(map(repr, columns))}"
        )
    return column


def rectangular(name: str, header: list[object], rows: list[list[object]], fill: object) -> list[str]:
    """Pad short rows; give cells beyond the header an unnamed column (never drop data)."""
    width = max([len(header), *(len(r) for r in rows)]) if rows else len(header)
    columns = ["" if h is None else str(h) for h in header] + [""] * (width - len(header))
    for r in rows:
        if len(r) < width:
            r.extend([fill] * (width - len(r)))
    if not columns:
        raise InputError(f"{name}: no header")
    return columns


def headerless(first: list[object], rows: list[list[object]]) -> tuple[list[object], list[list[object]]]:
    """(generated header, rows) for a table whose first row is data: names "column 1", "column 2"..."""
    width = max([len(first), *(len(r) for r in rows)])
    return [f"column {j + 1}" for j in range(width)], [list(first), *rows]
