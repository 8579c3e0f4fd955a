"""Qt-free input readers: .xlsx, .csv/.tsv, .txt, a folder of .txt files, .jsonl, and our own exports.

Every reader returns an `InputTable` (core/table.py) that keeps the input as it was (header with
duplicates, every row in order, cell values untouched but for the one read-time normalisation of
`text_norm`) so the export can write it back beside the results. Problems are `InputError`s that
name the file (never the post text), the line or sheet, and what to do; what was repaired or chosen
for the user is in `table.warnings` and `table.notes`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from cmhl_desktop.core.decoding import COMMON_ENCODINGS, Decoded, DecodeError, decode_bytes, repair_warning
from cmhl_desktop.core.read_csv import choose_delimiter, dialect_line, quote_warning, read_records
from cmhl_desktop.core.read_xlsx import SheetInfo, open_workbook, read_xlsx, sheet_infos
from cmhl_desktop.core.reopen import reopen_scored
from cmhl_desktop.core.results import result_block
from cmhl_desktop.core.table import (
    KINDS,
    InputError,
    InputTable,
    detect_header,
    guess_text_column,
    guess_text_columns,
    headerless,
    rectangular,
    resolve_column,
)
from cmhl_desktop.core.text_norm import normalize_cell, normalize_text

__all__ = [
    "COMMON_ENCODINGS",
    "KINDS",
    "SUFFIXES",
    "InputError",
    "InputTable",
    "SheetInfo",
    "guess_text_column",
    "list_sheets",
    "preview_input",
    "read_input",
    "sheet_infos",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".tsv", ".txt", ".jsonl")
PREVIEW_BYTES = 1 << 20  # a preview decodes at most the first MiB of a text file
Column = str | int


# --------------------------------------------------------------------------- public entry points


def read_input(
    path: str | Path,
    sheet: str | None = None,
    column: Column | Sequence[Column] | None = None,
    limit: int | None = None,
    *,
    encoding: str | None = None,
    header: bool | None = None,
) -> InputTable:
    """Read an input file or folder.

    column: the text column, a name or 0-based index (int or digit string), or a list of them to
    build each post from several columns joined in that order (title + body); None guesses (a
    forum dump's title + selftext are joined). limit: only the first N data rows. encoding: a
    Python codec name for text files; None/"auto" detects it. header: whether the first row of a
    .csv/.tsv/.xlsx is a header; None detects it. Raises InputError."""
    return _read(Path(path), sheet, column, limit, encoding, header, max_bytes=None)


def preview_input(
    path: str | Path,
    sheet: str | None = None,
    *,
    rows: int = 20,
    encoding: str | None = None,
    header: bool | None = None,
    column: Column | Sequence[Column] | None = None,
) -> InputTable:
    """The first `rows` rows for a preview, from a bounded read: a text file's first MiB only, a
    workbook's rows streamed; no hash (`sha256` is ""). Same guesses as `read_input`."""
    return _read(Path(path), sheet, column, rows, encoding, header, max_bytes=PREVIEW_BYTES)


def list_sheets(path: str | Path) -> list[str]:
    """Sheet names of a workbook (an empty list for other inputs)."""
    path = Path(path)
    if path.suffix.lower() not in EXCEL_SUFFIXES or path.is_dir():
        return []
    wb = open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _read(
    path: Path,
    sheet: str | None,
    column: Column | Sequence[Column] | None,
    limit: int | None,
    encoding: str | None,
    header: bool | None,
    max_bytes: int | None,
) -> InputTable:
    if not path.exists():
        raise InputError(f"{path.name}: no such file or folder")
    if path.is_dir():
        table = _read_folder(path, limit, encoding)
    else:
        suffix = path.suffix.lower()
        if suffix in EXCEL_SUFFIXES:
            table = read_xlsx(path, sheet, limit, header, hash_file=max_bytes is None)
        elif suffix in (".csv", ".tsv"):
            table = _read_csv(path, limit, encoding, header, max_bytes)
        elif suffix == ".txt":
            table = _read_txt(path, limit, encoding, max_bytes)
        elif suffix == ".jsonl":
            table = _read_jsonl(path, limit, encoding, max_bytes)
        elif suffix == ".xls":
            raise InputError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx in Excel")
        else:
            raise InputError(f"{path.name}: unsupported file type; use one of {', '.join(SUFFIXES)}")

    table = reopen_scored(table) or table
    if column is not None:
        wanted = [column] if isinstance(column, (str, int)) else list(column)
        if not wanted:
            raise InputError(f"{path.name}: no text column given")
        table.set_text_columns([resolve_column(path.name, table.columns, c) for c in wanted])
    elif table.kind in ("xlsx", "csv", "tsv", "jsonl"):  # txt and folder inputs know their column
        table.set_text_columns(guess_text_columns(table.columns, table.rows))
    return table


# --------------------------------------------------------------------------- helpers


def _read_bytes(path: Path, max_bytes: int | None = None) -> tuple[bytes, bool]:
    """(bytes, whether the file goes on past them). A bounded read ends at a line end."""
    try:
        if max_bytes is None:
            return path.read_bytes(), False
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(f"{path.name}: cannot read the file ({e.strerror or e})") from e
    if len(data) <= max_bytes:
        return data, False
    cut = data.rfind(b"\n", 0, max_bytes) + 1
    if cut <= 0:
        return data[:max_bytes], True
    if cut % 2 and data[cut : cut + 1] == b"\x00":
        cut += 1  # UTF-16-LE: the line end is two bytes
    return data[:cut], True


def _decode(path: Path, data: bytes, encoding: str | None, warnings: list[str]) -> Decoded:
    try:
        d = decode_bytes(data, encoding)
    except DecodeError as e:
        raise InputError(f"{path.name}: {e}") from None
    w = repair_warning(path, d)
    if w:
        warnings.append(w)
    return d


def _split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits on \x0b, \x1c, U+2028 ..., which can be inside a post.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start a new post
    return lines


def _is_header(first: list[object], rows: list[list[object]]) -> bool:
    """Our own export always has its header; anything else is judged by `detect_header`."""
    return result_block([str(c) for c in first]) is not None or detect_header(first, rows)


def _sha(data: bytes, partial: bool) -> str:
    return "" if partial else hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- csv / tsv


def _read_csv(
    path: Path, limit: int | None, encoding: str | None, header: bool | None, max_bytes: int | None
) -> InputTable:
    data, partial = _read_bytes(path, max_bytes)
    warnings: list[str] = []
    d = _decode(path, data, encoding, warnings)
    sep, text = dialect_line(d.text.replace("\x00", ""))
    if not text.strip(" \r\n"):
        raise InputError(f"{path.name}: the file is empty (no header)")
    # The default 128 KiB field limit would reject a very long post; 2**31-1 fits a C long everywhere.
    import csv

    csv.field_size_limit(2**31 - 1)
    delimiter = sep or choose_delimiter(text, path.suffix.lower())
    take = None if limit is None else limit + 2  # the header, and a first row that may be data
    records, bad_quotes = read_records(text, delimiter, take)
    if partial and records and (take is None or sum(bool(r) for _, r in records) < take):
        cut_line = records.pop()[0]  # the last record of a bounded read may be cut short
        bad_quotes = [n for n in bad_quotes if n < cut_line]
    w = quote_warning(path.name, bad_quotes)
    if w:
        warnings.append(w)
    it = iter(records)
    first: list[object] | None = None
    for _, r in it:
        if r:  # skip blank lines above the header
            first = [normalize_text(c) for c in r]
            break
    if first is None:
        raise InputError(f"{path.name}: the file is empty (no header)")
    # With several columns a blank line holds no cells: skip it, as spreadsheet apps do. In a
    # single-column file it is an empty post and is kept.
    rows: list[list[object]] = [[normalize_text(c) for c in r] for _, r in it if r or delimiter is None]
    has_header = header if header is not None else _is_header(first, rows)
    if not has_header:
        first, rows = headerless(first, rows)
    if limit is not None:
        rows = rows[:limit]
    columns = rectangular(path.name, first, rows, "")
    kind = "tsv" if delimiter == "\t" else "csv"
    return InputTable(
        path,
        None,
        columns,
        rows,
        0,
        _sha(data, partial),
        kind,
        encoding=d.encoding,
        delimiter=delimiter,
        header=has_header,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- txt, folder, jsonl


def _read_txt(path: Path, limit: int | None, encoding: str | None, max_bytes: int | None) -> InputTable:
    data, partial = _read_bytes(path, max_bytes)
    warnings: list[str] = []
    d = _decode(path, data, encoding, warnings)
    if not d.text:
        raise InputError(f"{path.name}: the file is empty")
    lines = _split_lines(d.text)
    lines = lines[:limit] if limit is not None else lines
    rows: list[list[object]] = [[normalize_text(line)] for line in lines]
    return InputTable(
        path, None, ["text"], rows, 0, _sha(data, partial), "txt", encoding=d.encoding, warnings=warnings
    )


def _read_folder(path: Path, limit: int | None, encoding: str | None) -> InputTable:
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
    warnings: list[str] = []
    for i, p in enumerate(files):
        data, _ = _read_bytes(p)
        name = p.name.encode("utf-8", "surrogateescape")
        # Length-prefixed so that moving bytes between a name and a content changes the hash.
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
        if limit is None or i < limit:
            d = _decode(p, data, encoding, warnings)
            rows.append([normalize_text(p.name), normalize_text(d.text.rstrip("\r\n"))])
    return InputTable(path, None, ["file", "text"], rows, 1, h.hexdigest(), "folder", warnings=warnings)


def _deep(v: object) -> object:
    """Normalise the strings of a JSON value, nested ones included."""
    if isinstance(v, str):
        return normalize_text(v)
    if isinstance(v, dict):
        return {normalize_text(k): _deep(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deep(x) for x in v]
    return normalize_cell(v)


def _read_jsonl(path: Path, limit: int | None, encoding: str | None, max_bytes: int | None) -> InputTable:
    data, partial = _read_bytes(path, max_bytes)
    warnings: list[str] = []
    d = _decode(path, data, encoding, warnings)
    objects: list[dict] = []
    for n, line in enumerate(_split_lines(d.text), start=1):
        if limit is not None and len(objects) >= limit:
            break
        if not line.strip():
            continue  # blank lines (a trailing one, most often) carry no object
        try:
            obj = json.loads(line)  # integers stay exact (19-digit ids); see excel_text for export
        except json.JSONDecodeError as e:
            raise InputError(
                f"{path.name}: line {n} is not valid JSON ({e.msg}); each line must be one JSON object"
            ) from e
        if not isinstance(obj, dict):
            raise InputError(f"{path.name}: line {n} is not a JSON object; each line must be one object")
        objects.append(_deep(obj))  # type: ignore[arg-type]
    if not objects:
        raise InputError(f"{path.name}: the file is empty (no header)")
    columns: dict[str, None] = {}  # an ordered set: keys in first-seen order
    for obj in objects:
        columns.update(dict.fromkeys(obj))
    names = list(columns)
    rows: list[list[object]] = [[obj.get(k) for k in names] for obj in objects]
    return InputTable(
        path, None, names, rows, 0, _sha(data, partial), "jsonl", encoding=d.encoding, warnings=warnings
    )
