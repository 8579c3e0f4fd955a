"""Reading .csv/.tsv text into records, with the line each record starts on.

- Delimiter: Excel's dialect line (`sep=;` as the first line) when there is one, else sniffed.
- Quotes: a quote that opens a field and is never closed (or closes only lines later, in what are
  plainly further records) would glue the following posts into one cell. Such a field is read as
  its line alone, the reading goes on row by row from the next line, and a warning names the line
  where the quote opens. A stray quote within one line is read as spreadsheet apps read it.
"""

from __future__ import annotations

import csv
import io
import itertools
import re

DELIMITERS = (",", ";", "\t", "|")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_SEP_LINE = re.compile(r'\A\ufeff?"?sep=(.)"?[ \t]*(?:\r\n|\r|\n|\Z)', re.IGNORECASE)
_ID_LIKE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_INT_LIKE = re.compile(r"[+-]?\d+")


def dialect_line(text: str) -> tuple[str | None, str]:
    """(delimiter, text without the line) for Excel's `sep=X` first line, else (None, text)."""
    m = _SEP_LINE.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end() :]


def choose_delimiter(text: str, suffix: str) -> str | None:
    """The delimiter that splits the header into >= 2 fields, preferring one that also splits the
    first records consistently, then the extension's (.tsv: tab, else comma); csv.Sniffer breaks
    remaining ties. None when no candidate splits the header: a single-column file."""
    default = "\t" if suffix == ".tsv" else ","
    ranked: list[tuple[tuple[bool, bool, float, int], str]] = []
    for d in DELIMITERS:
        records = [
            r for r in itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=d), 51) if r
        ]
        if not records or len(records[0]) < 2:
            continue
        body = records[1:]
        consistency = sum(len(r) == len(records[0]) for r in body) / len(body) if body else 1.0
        ranked.append(((consistency >= 0.9, d == default, consistency, len(records[0])), d))
    if not ranked:
        return None
    ranked.sort(key=lambda x: x[0], reverse=True)
    tied = [d for key, d in ranked if key[:2] == ranked[0][0][:2]]
    if len(tied) > 1:
        try:
            sniffed = csv.Sniffer().sniff(text[:65536], delimiters="".join(tied)).delimiter
            if sniffed in tied:
                return sniffed
        except csv.Error:
            pass
    return ranked[0][1]


class _Feed:
    """Lines for csv.reader, remembering how many it has handed out."""

    def __init__(self, lines: list[str], pos: int) -> None:
        self.lines, self.pos = lines, pos

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _one_line(line: str, delimiter: str, literal_quotes: bool) -> list[str]:
    kw = {"quoting": csv.QUOTE_NONE} if literal_quotes else {}
    return next(csv.reader([line], delimiter=delimiter, **kw), [])


def _id_shape(s: str) -> str | None:
    """'int' or 'word' for a field that looks like a record id, None otherwise."""
    s = s.strip()
    if _INT_LIKE.fullmatch(s):
        return "int"
    return "word" if _ID_LIKE.fullmatch(s) else None


def _glued(rec: list[str], span: list[str], delimiter: str) -> bool:
    """A record over 3+ lines whose middle lines each read as a whole record of the same width,
    starting with an id of the same shape as this record's: a quote left open swallowed them (the
    last line holds the quote that closed the field, so it proves nothing)."""
    width, shape = len(rec), _id_shape(rec[0]) if rec else None
    middle = [line for line in span[1:-1] if line.strip("\r\n")]
    if width < 2 or shape is None or not middle:
        return False
    for line in middle:
        fields = _one_line(line, delimiter, literal_quotes=True)
        if len(fields) != width or _id_shape(fields[0]) != shape:
            return False
    return True


def read_records(
    text: str, delimiter: str | None, limit: int | None = None
) -> tuple[list[tuple[int, list[str]]], list[int]]:
    """Records as (1-based line where the record starts, fields), blank lines included as [], and
    the lines where an unclosed quote was found and reading went on row by row. `delimiter` None:
    a single-column file (nothing is split). `limit`: stop after that many non-blank records."""
    d = delimiter or "\x00"  # NUL never occurs here (removed by the caller)
    lines = [m.group(0) for m in _LINE.finditer(text)]
    out: list[tuple[int, list[str]]] = []
    bad_quotes: list[int] = []
    n_records = 0
    feed = _Feed(lines, 0)
    reader = csv.reader(feed, delimiter=d, strict=True)
    while limit is None or n_records < limit:
        start = feed.pos
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # Within one line: a stray quote, read as spreadsheet apps do. Over several: a quote left open.
            multi = feed.pos - start > 1
            rec = _one_line(lines[start], d, literal_quotes=multi)
            if multi:
                bad_quotes.append(start + 1)
            feed = _Feed(lines, start + 1)
            reader = csv.reader(feed, delimiter=d, strict=True)
        else:
            if feed.pos - start > 1 and _glued(rec, lines[start : feed.pos], d):
                bad_quotes.append(start + 1)
                rec = _one_line(lines[start], d, literal_quotes=True)
                feed = _Feed(lines, start + 1)
                reader = csv.reader(feed, delimiter=d, strict=True)
        out.append((start + 1, rec))
        n_records += bool(rec)
    return out, bad_quotes


def quote_warning(name: str, lines: list[int]) -> str | None:
    """The warning for unclosed quotes (names the lines only), or None."""
    if not lines:
        return None
    shown = ", ".join(map(str, lines[:10])) + (" ..." if len(lines) > 10 else "")
    return (
        f"{name}: line{'s' if len(lines) > 1 else ''} {shown}: a quote opens a field and is not closed; "
        "read that line as one row (quote kept) and went on row by row. Check those rows, or fix the "
        "quote in the file"
    )
