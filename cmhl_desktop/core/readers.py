"""Qt-free input readers: .xlsx, .csv/.tsv, .txt, a folder of .txt files, .jsonl, and our own exports.

Every reader returns an `InputTable` that keeps the input exactly as it was (header with duplicates,
every row in order, cell values untouched) so the export can write it back beside the results.
Errors are `InputError`s that name the file (never the post text) and the row or line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cmhl.data import sha256_file

from cmhl_desktop.core.results import PostResult

KINDS = ("xlsx", "csv", "tsv", "txt", "folder", "jsonl", "scored")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".tsv", ".txt", ".jsonl")
# Tried in order; latin-1 decodes any byte string, so it is the last resort.
ENCODINGS = ("utf-8-sig", "utf-8", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls are OLE2 files
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (a spreadsheet saved as .xlsx?)",
    OLE2_MAGIC: "an old .xls workbook or an encrypted file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x1f\x8b": "a gzip archive",
}
_TEXT_NAMES = ("text", "post", "body", "content", "message", "comment", "selftext")
_NUMBER_OR_DATE = re.compile(
    r"[+-]?[\d.,\s]+%?"  # numbers, with thousands separators or a percent sign
    r"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm]|Z)?)?"  # dates
    r"|\d{1,2}:\d{2}(:\d{2})?\s*([AaPp][Mm])?"  # times
)


class InputError(ValueError):
    """The input cannot be read; the message names the file and, where it helps, the row or line."""


@dataclass
class InputTable:
    source: Path
    sheet: str | None
    columns: list[str]  # the header as in the file, duplicates kept
    rows: list[list[object]]  # original cell values, untouched; every row has len(columns) cells
    text_column: int
    sha256: str  # of the input file's bytes; for a folder, of the sorted names and contents
    kind: str  # one of KINDS
    results: list[PostResult] | None = None  # filled when the input is one of our own exports
    encoding: str | None = None  # text inputs: the encoding that decoded the file
    delimiter: str | None = None  # csv/tsv: the delimiter used
    meta: dict[str, str] = field(default_factory=dict)  # an exported workbook's run sheet

    @property
    def text_column_name(self) -> str:
        return self.columns[self.text_column]

    def texts(self) -> list[str]:
        return [_as_text(row[self.text_column]) for row in self.rows]


def _as_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------- public entry points


def read_input(
    path: str | Path,
    sheet: str | None = None,
    column: str | int | None = None,
    limit: int | None = None,
) -> InputTable:
    """Read an input file or folder. `column` is a name or a 0-based index (int or digit string);
    without it the text column is guessed. `limit` reads only the first N data rows (previews)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path.name}: no such file or folder")
    if path.is_dir():
        table = _read_folder(path, limit)
    else:
        suffix = path.suffix.lower()
        if suffix in EXCEL_SUFFIXES:
            table = _read_xlsx(path, sheet, limit)
        elif suffix in (".csv", ".tsv"):
            table = _read_csv(path, limit)
        elif suffix == ".txt":
            table = _read_txt(path, limit)
        elif suffix == ".jsonl":
            table = _read_jsonl(path, limit)
        elif suffix == ".xls":
            raise InputError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx")
        else:
            raise InputError(f"{path.name}: unsupported file type; use one of {', '.join(SUFFIXES)}")

    # Imported here: export.py imports this module (for InputTable), so a top-level import would cycle.
    from cmhl_desktop.core.export import reopen_scored

    table = reopen_scored(table) or table
    if column is not None:
        table.text_column = _resolve_column(table, column)
    elif table.kind in ("xlsx", "csv", "tsv", "jsonl"):  # txt and folder inputs know their column
        table.text_column = guess_text_column(table.columns, table.rows)
    return table


def list_sheets(path: str | Path) -> list[str]:
    """Sheet names of a workbook (an empty list for other inputs)."""
    path = Path(path)
    if path.suffix.lower() not in EXCEL_SUFFIXES or path.is_dir():
        return []
    wb = _open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


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
                if " " in s or "\n" in s:
                    if not _NUMBER_OR_DATE.fullmatch(s):
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


def _resolve_column(table: InputTable, column: str | int) -> int:
    cols = table.columns
    if isinstance(column, str):
        if column in cols:
            return cols.index(column)  # first of duplicates
        folded = [c.strip().casefold() for c in cols]
        if folded.count(column.strip().casefold()) == 1:
            return folded.index(column.strip().casefold())
        if not column.strip().isdigit():
            raise InputError(
                f"{table.source.name}: no column {column!r}; columns are: {', '.join(map(repr, cols))}"
            )
        column = int(column.strip())
    if not 0 <= column < len(cols):
        raise InputError(
            f"{table.source.name}: column index {column} out of range; "
            f"there are {len(cols)} columns: {', '.join(map(repr, cols))}"
        )
    return column


# --------------------------------------------------------------------------- helpers


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"{path.name}: cannot read the file ({e.strerror or e})") from e


def _check_text_bytes(path: Path, data: bytes) -> None:
    """Refuse binary files that a text reader would otherwise decode as latin-1 garbage."""
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{path.name}: this is {what}, not a text file")
    head = data[:65536]
    if len(head) < 256:
        return  # too little to judge; a tiny odd file fails later with its own message
    # A few stray NULs are tolerated (removed later); many control bytes mean binary.
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if control / len(head) > 0.1:
        raise InputError(f"{path.name}: looks like a binary file, not text")


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode with the first encoding that works; UTF-16 only when a BOM says so (Excel's
    "Unicode text"). NUL characters are dropped: they are never meaningful in a post."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").replace("\x00", ""), "utf-16"
        except UnicodeDecodeError as e:
            raise InputError(f"{path.name}: invalid UTF-16 text") from e
    _check_text_bytes(path, data)
    for enc in ENCODINGS:
        try:
            return data.decode(enc).replace("\x00", ""), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits on \x0b, \x1c, U+2028 ..., which can be inside a post.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start a new post
    return lines


def _rectangular(path: Path, header: list[object], rows: list[list[object]], fill: object) -> list[str]:
    """Pad short rows; give cells beyond the header an unnamed column (never drop data)."""
    width = max([len(header), *(len(r) for r in rows)]) if rows else len(header)
    columns = ["" if h is None else str(h) for h in header] + [""] * (width - len(header))
    for r in rows:
        if len(r) < width:
            r.extend([fill] * (width - len(r)))
    if not columns:
        raise InputError(f"{path.name}: no header")
    return columns


# --------------------------------------------------------------------------- xlsx


def _open_workbook(path: Path):
    import openpyxl  # imported lazily: the CLI's --help should not pay for it

    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == OLE2_MAGIC:
        raise InputError(
            f"{path.name}: the workbook is password-protected (encrypted) or an old .xls file; "
            "remove the password or save it as .xlsx in Excel, then open it again"
        )
    try:
        # data_only=True: a formula cell gives the value Excel last computed (what the user saw);
        # a text cell that merely looks like a formula stays the literal text either way.
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as e:
        # SyntaxError covers xml ParseError from a damaged sheet inside the zip.
        raise InputError(f"{path.name}: not a readable .xlsx workbook (corrupt or wrong format)") from e
    except Exception as e:  # openpyxl raises many kinds on damaged files
        raise InputError(f"{path.name}: not a readable .xlsx workbook ({type(e).__name__})") from e


def _read_xlsx(path: Path, sheet: str | None, limit: int | None) -> InputTable:
    wb = _open_workbook(path)
    try:
        names = list(wb.sheetnames)
        meta = _read_run_sheet(wb)
        if sheet is None:
            # Our own export opens on its results sheet; anything else on its first sheet.
            sheet = "results" if meta and "results" in names else names[0]
        if sheet != "results":
            meta = {}
        if sheet not in names:
            raise InputError(f"{path.name}: no sheet {sheet!r}; sheets are: {', '.join(map(repr, names))}")
        ws = wb[sheet]
        if not hasattr(ws, "iter_rows"):
            raise InputError(f"{path.name}: sheet {sheet!r} is a chart, not a table")
        ws.reset_dimensions()  # trust the cells, not the <dimension> tag some writers get wrong
        it = ws.iter_rows(values_only=True)
        header: list[object] | None = None
        for r in it:
            if any(v is not None for v in r):
                header = list(r)
                break
        if header is None:
            raise InputError(f"{path.name}: sheet {sheet!r} is empty (no header)")
        rows = [list(r) for r in (it if limit is None else itertools.islice(it, limit))]
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{path.name}: the workbook is damaged ({type(e).__name__})") from e
    finally:
        wb.close()
    while rows and all(v is None for v in rows[-1]):
        rows.pop()  # formatting often extends a sheet's rows past the data
    columns = _rectangular(path, header, rows, None)
    while len(columns) > 1 and columns[-1] == "" and all(r[-1] is None for r in rows):
        columns.pop()  # an empty unnamed trailing column is formatting, not data
        for r in rows:
            r.pop()
    return InputTable(path, sheet, columns, rows, 0, sha256_file(path), "xlsx", meta=meta)


def _read_run_sheet(wb) -> dict[str, str]:
    """Key/value pairs of an exported workbook's run sheet, {} for any other workbook."""
    if "run" not in wb.sheetnames:
        return {}
    meta = {}
    for r in itertools.islice(wb["run"].iter_rows(values_only=True), 500):
        if len(r) >= 2 and isinstance(r[0], str):
            meta[r[0]] = "" if r[1] is None else str(r[1])
    return meta if meta.get("format", "").startswith("cmhl-desktop export") else {}


# --------------------------------------------------------------------------- csv / tsv


def _choose_delimiter(text: str, suffix: str) -> str | None:
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


def _read_csv(path: Path, limit: int | None) -> InputTable:
    data = _read_bytes(path)
    text, encoding = _decode(path, data)
    if not text.strip(" \r\n"):
        raise InputError(f"{path.name}: the file is empty (no header)")
    # The default 128 KiB field limit would reject a very long post; 2**31-1 fits a C long everywhere.
    csv.field_size_limit(2**31 - 1)
    delimiter = _choose_delimiter(text, path.suffix.lower())
    # A single-column file: NUL never occurs (removed above), so nothing is split.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or "\x00")
    try:
        header: list[object] | None = None
        for r in reader:
            if r:  # skip blank lines above the header
                header = list(r)
                break
        if header is None:
            raise InputError(f"{path.name}: the file is empty (no header)")
        if delimiter is not None:
            # With several columns a blank line holds no cells: skip it, as spreadsheet apps do.
            # In a single-column file it is an empty post and is kept.
            records = (r for r in reader if r)
        else:
            records = iter(reader)
        if limit is not None:
            records = itertools.islice(records, limit)
        rows: list[list[object]] = [list(r) for r in records]
    except csv.Error as e:
        raise InputError(f"{path.name}: line {reader.line_num}: {e}") from e
    columns = _rectangular(path, header, rows, "")
    kind = "tsv" if delimiter == "\t" else "csv"
    sha = hashlib.sha256(data).hexdigest()
    return InputTable(path, None, columns, rows, 0, sha, kind, encoding=encoding, delimiter=delimiter)


# --------------------------------------------------------------------------- txt, folder, jsonl


def _read_txt(path: Path, limit: int | None) -> InputTable:
    data = _read_bytes(path)
    text, encoding = _decode(path, data)
    if not text:
        raise InputError(f"{path.name}: the file is empty")
    lines = _split_lines(text)[:limit] if limit is not None else _split_lines(text)
    rows: list[list[object]] = [[line] for line in lines]
    return InputTable(
        path, None, ["text"], rows, 0, hashlib.sha256(data).hexdigest(), "txt", encoding=encoding
    )


def _read_folder(path: Path, limit: int | None) -> InputTable:
    # Hidden files are skipped: macOS leaves binary "._name.txt" files on shared drives.
    try:
        files = sorted(
            (
                p
                for p in path.iterdir()
                if p.suffix.lower() == ".txt" and p.is_file() and not p.name.startswith(".")
            ),
            key=lambda p: p.name,
        )
    except OSError as e:
        raise InputError(f"{path.name}: cannot list the folder ({e.strerror or e})") from e
    if not files:
        raise InputError(f"{path.name}: the folder has no .txt files")
    h = hashlib.sha256()
    rows: list[list[object]] = []
    for i, p in enumerate(files):
        data = _read_bytes(p)
        name = p.name.encode("utf-8", "surrogateescape")
        # Length-prefixed so that moving bytes between a name and a content changes the hash.
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
        if limit is None or i < limit:
            text, _ = _decode(p, data)
            rows.append([p.name, text.rstrip("\r\n")])
    return InputTable(path, None, ["file", "text"], rows, 1, h.hexdigest(), "folder")


def _read_jsonl(path: Path, limit: int | None) -> InputTable:
    data = _read_bytes(path)
    text, encoding = _decode(path, data)
    objects: list[dict] = []
    for n, line in enumerate(_split_lines(text), start=1):
        if limit is not None and len(objects) >= limit:
            break
        if not line.strip():
            continue  # blank lines (a trailing one, most often) carry no object
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path.name}: line {n} is not valid JSON ({e.msg})") from e
        if not isinstance(obj, dict):
            raise InputError(f"{path.name}: line {n} is not a JSON object")
        objects.append(obj)
    if not objects:
        raise InputError(f"{path.name}: the file is empty (no header)")
    columns: dict[str, None] = {}  # an ordered set: keys in first-seen order
    for obj in objects:
        columns.update(dict.fromkeys(obj))
    names = list(columns)
    rows: list[list[object]] = [[obj.get(k) for k in names] for obj in objects]
    return InputTable(
        path, None, names, rows, 0, hashlib.sha256(data).hexdigest(), "jsonl", encoding=encoding
    )
