"""Reading .xlsx/.xlsm workbooks (openpyxl, read-only streaming).

- The sheet: the one the user was looking at when the workbook was saved (the active sheet) when it
  is a visible table, else the first visible one; our own export opens on its results sheet.
  `sheet_infos` lists every sheet with what it is (visible, hidden, very hidden, chart).
- Text comes back as Excel shows it: ST_Xstring escapes (`_x000D_`) decoded, then the read-time
  normalisation of `text_norm`.
- "Strict Open XML" workbooks (Excel's other save format, which openpyxl does not read) are read
  through an in-memory copy with the transitional namespaces; the file itself is never changed.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cmhl.data import sha256_file

from cmhl_desktop.core.decoding import OLE2_MAGIC
from cmhl_desktop.core.excel_text import decode_xstring
from cmhl_desktop.core.results import result_block
from cmhl_desktop.core.table import InputError, InputTable, detect_header, headerless, rectangular
from cmhl_desktop.core.text_norm import normalize_text

EXPORT_FORMAT_PREFIX = "cmhl-desktop export"
_STRICT = (  # Strict -> Transitional namespaces (ECMA-376 Part 1, 2016, Annex A)
    (
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    ),
    (
        "http://purl.oclc.org/ooxml/officeDocument/relationships",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    ),
    (
        "http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
        "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
    ),
    (
        "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
        "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
    ),
    ("http://purl.oclc.org/ooxml/drawingml/", "http://schemas.openxmlformats.org/drawingml/2006/"),
)
STRICT_HELP = (
    "it is saved as 'Strict Open XML Spreadsheet'; open it in Excel and use File > Save As > "
    "'Excel Workbook (.xlsx)', then open that copy"
)


@dataclass(frozen=True)
class SheetInfo:
    """One sheet of a workbook, for choosing: `state` is visible | hidden | veryHidden."""

    name: str
    kind: str  # worksheet | chart
    state: str
    active: bool  # the sheet shown when the workbook was saved
    rows: int | None  # rows the sheet says it uses (None when unknown)

    def describe(self) -> str:
        """'posts (active, about 120 rows)', 'notes (hidden)', 'Chart1 (a chart, no table)'."""
        bits = []
        if self.kind != "worksheet":
            bits.append("a chart, no table")
        if self.state == "hidden":
            bits.append("hidden")
        elif self.state == "veryHidden":
            bits.append("very hidden: only macros show it")
        if self.active:
            bits.append("active when saved")
        if self.rows is not None and self.kind == "worksheet":
            bits.append(f"about {self.rows:,} rows")
        return f"{self.name} ({', '.join(bits)})" if bits else self.name


def _is_strict(zf: zipfile.ZipFile) -> bool:
    try:
        head = zf.read("_rels/.rels")[:4096] + zf.read("xl/workbook.xml")[:4096]
    except KeyError:
        return False
    return b"purl.oclc.org/ooxml" in head


def _transitional_copy(zf: zipfile.ZipFile) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for strict, transitional in _STRICT:
                    data = data.replace(strict.encode(), transitional.encode())
            z.writestr(info.filename, data)
    out.seek(0)
    return out


def open_workbook(path: Path, data_only: bool = True):
    """An openpyxl read-only workbook; InputError with what to do when it cannot be read.
    data_only=False: formula cells give their formula text instead of the value Excel saved."""
    import openpyxl  # imported lazily: the CLI's --help should not pay for it

    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == OLE2_MAGIC:
        raise InputError(
            f"{path.name}: the workbook is password-protected (encrypted) or an old .xls file; "
            "remove the password or save it as .xlsx in Excel, then open it again"
        )
    source: object = path
    strict = False
    try:
        with zipfile.ZipFile(path) as zf:
            strict = _is_strict(zf)
            if strict:
                source = _transitional_copy(zf)
    except (zipfile.BadZipFile, OSError, EOFError):
        pass  # openpyxl reports it below
    try:
        # data_only=True: a formula cell gives the value Excel last computed (what the user saw);
        # a text cell that merely looks like a formula stays the literal text either way.
        return openpyxl.load_workbook(source, read_only=True, data_only=data_only)
    except Exception as e:  # openpyxl raises many kinds on damaged files
        if strict:
            raise InputError(f"{path.name}: cannot read this workbook: {STRICT_HELP}") from e
        raise InputError(
            f"{path.name}: not a readable .xlsx workbook (corrupt or wrong format, {type(e).__name__}); "
            "open it in Excel and save it again as 'Excel Workbook (.xlsx)'"
        ) from e


def _infos(wb) -> list[SheetInfo]:
    active = wb.active
    out = []
    for ws in wb._sheets:
        is_table = hasattr(ws, "iter_rows")
        rows = None
        if is_table:
            try:
                rows = ws.max_row if ws.max_row and ws.max_row > 1 else None
            except Exception:
                rows = None
        out.append(
            SheetInfo(
                ws.title,
                "worksheet" if is_table else "chart",
                getattr(ws, "sheet_state", "visible") or "visible",
                ws is active,
                rows,
            )
        )
    return out


def sheet_infos(path: Path) -> list[SheetInfo]:
    """Every sheet of a workbook, in workbook order, with what it is."""
    wb = open_workbook(path)
    try:
        return _infos(wb)
    finally:
        wb.close()


def default_sheet(infos: list[SheetInfo], scored_export: bool) -> str:
    """Our export: its results sheet. Else the active sheet when it is a visible table, else the
    first visible table, else the first sheet."""
    names = [i.name for i in infos]
    if scored_export and "results" in names:
        return "results"
    tables = [i for i in infos if i.kind == "worksheet" and i.state == "visible"]
    for i in tables:
        if i.active:
            return i.name
    return (tables or infos)[0].name


def _cell(v: object) -> object:
    return normalize_text(decode_xstring(v)) if isinstance(v, str) else v


def read_run_sheet(wb) -> dict[str, str]:
    """Key/value pairs of an exported workbook's run sheet, {} for any other workbook."""
    if "run" not in wb.sheetnames or not hasattr(wb["run"], "iter_rows"):
        return {}
    meta = {}
    for r in itertools.islice(wb["run"].iter_rows(values_only=True), 500):
        if len(r) >= 2 and isinstance(r[0], str):
            meta[_cell(r[0])] = "" if r[1] is None else str(_cell(r[1]))
    return meta if meta.get("format", "").startswith(EXPORT_FORMAT_PREFIX) else {}


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formulas(ws) -> bool:
    """Whether the sheet's XML holds a formula element, read as a stream (most exports have none)."""
    try:
        src = ws._get_source()
    except Exception:  # openpyxl internals changed: assume there may be formulas
        return True
    tail = b""
    with src:
        while chunk := src.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def _with_formula_text(values, formulas, found: list[int]):
    """Rows of `values`, where a cell with no saved value takes its formula text from `formulas`
    (the same sheet read with data_only=False). A workbook written by a program that does not
    calculate (a script, some exporters) has formulas without values: read as values only, such a
    post would silently become an empty cell. `found[0]` counts the cells filled."""
    for row, frow in itertools.zip_longest(values, formulas, fillvalue=()):
        if any(v is None for v in row):
            fixed = []
            for j, v in enumerate(row):
                f = frow[j] if j < len(frow) else None
                if v is None and isinstance(f, str) and f.startswith("="):
                    found[0] += 1
                    v = f
                fixed.append(v)
            row = tuple(fixed)
        yield row


def read_xlsx(
    path: Path, sheet: str | None, limit: int | None, header: bool | None, hash_file: bool = True
) -> InputTable:
    """Read one sheet: every row (trailing empty formatting rows dropped), values as Excel shows
    them. header None: detected. Raises InputError naming the file and sheet."""
    wb = open_workbook(path)
    wb_formulas = None
    notes: list[str] = []
    warnings: list[str] = []
    formula_cells = [0]
    try:
        infos = _infos(wb)
        names = [i.name for i in infos]
        meta = read_run_sheet(wb)
        chosen = sheet if sheet is not None else default_sheet(infos, bool(meta))
        if chosen != "results":
            meta = {}
        if chosen not in names:
            raise InputError(f"{path.name}: no sheet {chosen!r}; sheets are: {', '.join(map(repr, names))}")
        if sheet is None and len(infos) > 1 and not meta:
            others = "; ".join(i.describe() for i in infos if i.name != chosen)
            notes.append(
                f"{path.name}: scored sheet {chosen!r} (the sheet shown when the workbook was saved, or "
                f"the first visible one); also in the workbook: {others}. Choose another with --sheet"
            )
        ws = wb[chosen]
        if not hasattr(ws, "iter_rows"):
            raise InputError(f"{path.name}: sheet {chosen!r} is a chart, not a table; choose another sheet")
        ws.reset_dimensions()  # trust the cells, not the <dimension> tag some writers get wrong
        it = ws.iter_rows(values_only=True)
        if _has_formulas(ws):
            wb_formulas = open_workbook(path, data_only=False)
            wsf = wb_formulas[chosen]
            wsf.reset_dimensions()
            it = _with_formula_text(it, wsf.iter_rows(values_only=True), formula_cells)
        first: list[object] | None = None
        for r in it:
            if any(v is not None for v in r):
                first = [_cell(v) for v in r]
                break
        if first is None:
            raise InputError(f"{path.name}: sheet {chosen!r} is empty (no header)")
        take = None if limit is None else limit + 1  # one more: the first row may be data
        rows = [[_cell(v) for v in r] for r in (it if take is None else itertools.islice(it, take))]
    except InputError:
        raise
    except Exception as e:
        raise InputError(
            f"{path.name}: the workbook is damaged ({type(e).__name__}); open it in Excel and save it again"
        ) from e
    finally:
        wb.close()
        if wb_formulas is not None:
            wb_formulas.close()
    if formula_cells[0]:
        warnings.append(
            f"{path.name}: {formula_cells[0]:,} formula cell(s) in sheet {chosen!r} had no saved value "
            "(the workbook was not last saved by Excel); their formula text was read instead"
        )
    while rows and all(v is None for v in rows[-1]):
        rows.pop()  # formatting often extends a sheet's rows past the data
    ours = bool(meta) or result_block([str(c) for c in first]) is not None
    has_header = header if header is not None else (ours or detect_header(first, rows))
    if not has_header:
        first, rows = headerless(first, rows)
    if limit is not None:
        rows = rows[:limit]
    columns = rectangular(path.name, first, rows, None)
    while (
        len(columns) > 1
        and columns[-1] in ("", f"column {len(columns)}")
        and all(r[-1] is None for r in rows)
    ):
        columns.pop()  # an empty unnamed trailing column is formatting, not data
        for r in rows:
            r.pop()
    sha = sha256_file(path) if hash_file else ""
    return InputTable(
        path,
        chosen,
        columns,
        rows,
        0,
        sha,
        "xlsx",
        meta=meta,
        header=has_header,
        notes=notes,
        warnings=warnings,
    )
