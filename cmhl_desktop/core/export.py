"""Export scored posts to .xlsx or .csv. This module only writes: reading an export back is
reopen.py, and the result-cell format both use is in results.py.

Output = the input's own columns, untouched and in order, then `result_columns(...)`. Writes are
atomic (a temp file in the target folder, then os.replace): a failure or a cancel leaves no partial
file, and the input is only ever opened for reading.

Spreadsheet safety: text whose first character (after any leading whitespace) is = + - @ is never a
formula. In .xlsx every such cell is typed as text. In .csv, where a cell has no type, it gets a
leading single quote (OWASP "CSV injection" advice); plain numbers such as -0.5 are left alone.
Reopening our own csv removes exactly the quote we added.

Fidelity: .xlsx text is stored with Excel's ST_Xstring escapes, so control characters, U+FFFE and
U+FFFF come back exactly (excel_text.py); integers of 16 or more digits (post ids) are written as
text, since a spreadsheet would round them. Each text cell is fitted, escaped and highlighted once.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cmhl_desktop import __version__
from cmhl_desktop.core.excel_text import (  # noqa: F401  (csv_unescape: re-exported for callers)
    csv_escape,
    csv_unescape,
    encode_xstring,
    encode_xstring_pieces,
    needs_text_for_exactness,
)
from cmhl_desktop.core.results import (  # noqa: F401  (re-exported: the format's names)
    CUT_NOTE,
    CUT_STATUS,
    HIGHLIGHT_FRACTION,
    HIGHLIGHT_MAX,
    NO_CONTENT,
    PREFIX,
    TOP_WORDS,
    XLSX_CELL_LIMIT,
    PostResult,
    WordScore,
    attribution_json,
    highlight_words,
    result_columns,
    result_values,
    top_words,
)
from cmhl_desktop.core.table import InputTable
from cmhl_desktop.core.tasks import TaskState

EXPORT_FORMAT = "cmhl-desktop export 1"  # first row of the run sheet; how a reopened file is known
FLAG_FILL = "FFF4CCCC"  # light red row fill for flagged posts (the text mark is there too)
HIGHLIGHT_COLOR = "FFC00000"
_KEEP = XLSX_CELL_LIMIT - len(CUT_NOTE) - 1  # characters of a cut text that stay in its cell


class ExportError(Exception):
    """The export could not be written; nothing was left behind."""


@dataclass
class RunInfo:
    """What produced an export: written to the run sheet for the case record."""

    model_name: str
    model_sha256: str
    thresholds: dict[str, float]  # flag rule -> threshold
    target_recalls: dict[str, float]  # flag rule -> target recall
    input_name: str
    input_sha256: str
    rows_total: int = 0
    rows_scored: int = 0
    rows_empty: int = 0
    rows_no_content: int = 0  # no readable words: not scored, never flagged
    rows_flagged: int = 0
    rows_errors: int = 0
    started: str = ""  # ISO 8601
    finished: str = ""
    explain_mode: str = "none"  # none | flagged | all
    app_version: str = __version__
    extra: dict[str, str] = field(default_factory=dict)  # anything else worth recording

    def set_counts(self, results: list[PostResult]) -> RunInfo:
        self.rows_total = len(results)
        self.rows_scored = sum(r.scored for r in results)
        self.rows_empty = sum(r.status == "empty" for r in results)
        self.rows_no_content = sum(r.status == NO_CONTENT for r in results)
        self.rows_flagged = sum(r.flagged for r in results)
        self.rows_errors = sum(r.status.startswith("error") for r in results)
        return self

    def to_rows(self) -> list[tuple[str, object]]:
        rows: list[tuple[str, object]] = [
            ("format", EXPORT_FORMAT),
            ("app_version", self.app_version),
            ("model_name", self.model_name),
            ("model_sha256", self.model_sha256),
        ]
        rows += [(f"threshold:{k}", v) for k, v in self.thresholds.items()]
        rows += [(f"target_recall:{k}", v) for k, v in self.target_recalls.items()]
        rows += [
            ("input_name", self.input_name),
            ("input_sha256", self.input_sha256),
            ("rows_total", self.rows_total),
            ("rows_scored", self.rows_scored),
            ("rows_empty", self.rows_empty),
            ("rows_no_content", self.rows_no_content),
            ("rows_flagged", self.rows_flagged),
            ("rows_errors", self.rows_errors),
            ("started", self.started),
            ("finished", self.finished),
            ("explain_mode", self.explain_mode),
        ]
        return rows + list(self.extra.items())

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> RunInfo:
        """Rebuild from a reopened workbook's run sheet (`InputTable.meta`)."""
        known = {f for f in cls.__dataclass_fields__ if f not in ("thresholds", "target_recalls", "extra")}
        kw: dict = {"thresholds": {}, "target_recalls": {}, "extra": {}}
        for k, v in meta.items():
            if k.startswith("threshold:"):
                kw["thresholds"][k.split(":", 1)[1]] = float(v)
            elif k.startswith("target_recall:"):
                kw["target_recalls"][k.split(":", 1)[1]] = float(v)
            elif k in known:
                kw[k] = int(v) if k.startswith("rows_") else v
            elif k != "format":
                kw["extra"][k] = v
        kw.setdefault("model_name", "")
        kw.setdefault("model_sha256", "")
        kw.setdefault("input_name", "")
        kw.setdefault("input_sha256", "")
        return cls(**kw)


# --------------------------------------------------------------------------- writing


def _check(table: InputTable, results: list[PostResult], out_path: str | Path) -> Path:
    out = Path(out_path)
    if len(results) != len(table.rows):
        raise ValueError(f"{len(results)} results for {len(table.rows)} rows")
    src = Path(table.source)
    if out.resolve() == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src)):
        raise ExportError(f"{out.name}: refusing to overwrite the input file; choose another name")
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; choose a file name")
    return out


def _atomic_write(out: Path, write: Callable[[Path], None]) -> None:
    """Run write(tmp) on a temp file beside `out`, then move it into place; on any error or
    Cancelled the temp file is removed and `out` is left as it was."""
    try:
        f = tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".part", delete=False)
    except OSError as e:
        raise ExportError(f"cannot write to the folder {out.parent} ({e.strerror or e})") from e
    tmp = Path(f.name)
    f.close()
    try:
        write(tmp)
        if out.exists():  # keep an existing file's permissions; new files stay owner-only (0600)
            os.chmod(tmp, stat.S_IMODE(out.stat().st_mode))
        os.replace(tmp, out)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ExportError(
                f"cannot write {out.name} ({e.strerror or e}); is it open in another program?"
            ) from e
        raise


def _progress(state: TaskState | None, i: int, n: int) -> None:
    if state is not None and i % 200 == 0:
        state.check()
        state.set_progress(i, n)


def export_csv(
    table: InputTable,
    results: list[PostResult],
    out_path: str | Path,
    run: RunInfo,
    distress_labels: list[str],
    emotion_labels: list[str],
    state: TaskState | None = None,
) -> Path:
    """Write a UTF-8 (with BOM, for Excel) csv; a .tsv name gets tabs. `run` has no place in a csv:
    the workbook export carries it. Formula-looking text gets a leading quote (see module doc)."""
    out = _check(table, results, out_path)
    header = table.columns + result_columns(distress_labels, emotion_labels)
    name = (table.text_column, table.columns[table.text_column])
    cols = table.text_columns

    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, (dict, list)):
            v = json.dumps(v, ensure_ascii=False)
        return csv_escape(str(v).replace("\x00", ""))

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, delimiter="\t" if out.suffix.lower() == ".tsv" else ",")
            w.writerow([cell(h) for h in header])
            for i, (row, r) in enumerate(zip(table.rows, results, strict=True)):
                _progress(state, i, len(results))
                w.writerow(
                    [cell(v) for v in row]
                    + [cell(v) for v in result_values(r, distress_labels, emotion_labels, name, cols)]
                )
        if state is not None:
            state.set_progress(len(results), len(results))

    _atomic_write(out, write)
    return out


def export_xlsx(
    table: InputTable,
    results: list[PostResult],
    out_path: str | Path,
    run: RunInfo,
    distress_labels: list[str],
    emotion_labels: list[str],
    state: TaskState | None = None,
) -> Path:
    """Write a workbook: sheet "results" (frozen bold header, filters, flagged rows filled and marked,
    top words in bold red inside the text cell) and sheet "run" (what produced it)."""
    out = _check(table, results, out_path)
    _atomic_write(
        out, lambda tmp: _write_xlsx(tmp, table, results, run, distress_labels, emotion_labels, state)
    )
    return out


def _discard(wb) -> None:
    """Close an abandoned write-only workbook: its sheets stream into temp files of their own."""
    for ws in wb.worksheets:
        for part in (getattr(ws, "_rows", None), getattr(ws, "_writer", None)):
            with contextlib.suppress(Exception):
                part.close()  # type: ignore[union-attr]
        with contextlib.suppress(Exception):
            ws._writer.cleanup()


def _write_xlsx(
    tmp: Path,
    table: InputTable,
    results: list[PostResult],
    run: RunInfo,
    distress_labels: list[str],
    emotion_labels: list[str],
    state: TaskState | None,
) -> None:
    from openpyxl import Workbook

    # Write-only mode streams rows to disk: 100k-row exports stay small in memory.
    wb = Workbook(write_only=True)
    try:
        _fill_xlsx(wb, tmp, table, results, run, distress_labels, emotion_labels, state)
    except BaseException:
        _discard(wb)
        raise


def _fit(s: str) -> tuple[str, bool]:
    """Text cut to Excel's cell limit with a visible note; a text already ending with the note (a
    reopened export) counts as cut, so re-exports match."""
    if len(s) > XLSX_CELL_LIMIT:
        return s[:_KEEP] + " " + CUT_NOTE, True
    return s, s.endswith(CUT_NOTE)


def _plain(v: object) -> object:
    """A non-text-column value as the sheet stores it (text escaped, exact numbers)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else str(v)
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False)
    elif needs_text_for_exactness(v):
        v = str(v)  # a 19-digit id: text, or the spreadsheet rounds it
    elif v is not None and not isinstance(v, (str, int, float, dt.date, dt.time, dt.timedelta)):
        v = str(v)  # Decimal, bytes, ...: their text
    return v


class _Sheet:
    """Cell makers for one write-only results sheet: each value is converted once."""

    def __init__(self, ws) -> None:
        from openpyxl.cell.cell import ERROR_CODES
        from openpyxl.cell.text import InlineFont
        from openpyxl.styles import Alignment, Font, PatternFill

        self.ws, self.errors = ws, ERROR_CODES
        self.bold, self.fill = Font(bold=True), PatternFill("solid", fgColor=FLAG_FILL)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.red = InlineFont(b=True, color=HIGHLIGHT_COLOR)

    def cell(self, v: object, flagged: bool = False, head: bool = False) -> tuple[object, bool]:
        """(a value or cell ready for the sheet, whether its text was cut)."""
        from openpyxl.cell import WriteOnlyCell

        v, cut = _plain(v), False
        if isinstance(v, str):
            v, cut = _fit(v)
            v = encode_xstring(v) or None  # an empty string is an empty cell (as a reopen gives it)
        if not (flagged or head) and (not isinstance(v, str) or (v[0] != "=" and v not in self.errors)):
            return v, cut  # openpyxl stores these as they are: no cell object needed (faster)
        c = WriteOnlyCell(self.ws, v)
        if isinstance(v, str):
            c.data_type = "s"  # text, never a formula or an error value
        if flagged:
            c.fill = self.fill
        if head:
            c.font = self.bold
        return c, cut

    def text(self, s: str, words: list[WordScore], flagged: bool) -> tuple[object, bool]:
        """A post text cell, fitted once; `words` (offsets into s, text order) in bold red."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.rich_text import CellRichText, TextBlock

        visible, cut = _fit(s)
        limit = _KEEP if cut and len(s) > XLSX_CELL_LIMIT else len(visible)
        spans, pos = [], 0
        for w in words:
            if w.start >= pos and w.end <= limit and w.start < w.end:
                spans.append((w.start, w.end))
                pos = w.end
        if not visible:
            value: object = None
        elif spans:
            cuts = sorted({p for span in spans for p in span})
            pieces = encode_xstring_pieces(visible, cuts)
            starts = {a for a, _ in spans}
            parts, at = [], 0
            for k, piece in enumerate(pieces):
                if piece:
                    parts.append(TextBlock(self.red, piece) if at in starts else piece)
                at = cuts[k] if k < len(cuts) else at
            value = CellRichText(parts)
        else:
            value = encode_xstring(visible)
        c = WriteOnlyCell(self.ws, value)
        if value is not None:
            c.data_type = "s"
        c.alignment = self.wrap
        if flagged:
            c.fill = self.fill
        return c, cut


def _kept_words(post, r: PostResult) -> PostResult:
    """The result without the words past the cut of a cell over Excel's limit (so a reopened file
    shows the same words and re-exports identically)."""
    cut = [s for s in post.segments if s.end - s.start > XLSX_CELL_LIMIT]
    if not r.words or not cut:
        return r
    keep = [
        w for w in r.words if not any(s.start <= w.start < s.end and w.end > s.start + _KEEP for s in cut)
    ]
    return r if len(keep) == len(r.words) else dataclasses.replace(r, words=keep)


def _fill_xlsx(
    wb,
    tmp: Path,
    table: InputTable,
    results: list[PostResult],
    run: RunInfo,
    distress_labels: list[str],
    emotion_labels: list[str],
    state: TaskState | None,
) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet("results")
    sheet = _Sheet(ws)
    rcols = result_columns(distress_labels, emotion_labels)
    header = table.columns + rcols
    n_orig, tcol, cols = len(table.columns), table.text_column, table.text_columns
    status_at = n_orig + rcols.index(PREFIX + "status")

    # The size is known up front: say so in the sheet's <dimension> (write-only sheets have no way to
    # compute it), which spares readers, ours included, a full pass over the sheet to find it.
    ws.calculate_dimension = lambda: f"A1:{get_column_letter(len(header))}{len(results) + 1}"
    ws.freeze_panes = "A2"  # must precede the first row in write-only mode, as must the widths
    for j, w in enumerate(_widths(table, rcols), start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.append([sheet.cell(h, head=True)[0] for h in header])

    name = (tcol, table.columns[tcol])
    for i, (row, r) in enumerate(zip(table.rows, results, strict=True)):
        _progress(state, i, len(results))
        post = table.post(i)
        r = _kept_words(post, r)
        by_col = post.words_by_column(highlight_words(r.words))
        cells, any_cut = [], False
        for j, v in enumerate(row):
            if j in by_col and isinstance(v, str):
                c, cut = sheet.text(v, by_col[j], r.flagged)
            else:
                c, cut = sheet.cell(v, r.flagged)
            any_cut |= cut
            cells.append(c)
        for v in result_values(r, distress_labels, emotion_labels, name, cols):
            c, cut = sheet.cell(v, r.flagged)
            any_cut |= cut
            cells.append(c)
        if any_cut:  # say so in the status column (a note, stripped again on reopen)
            cells[status_at], _ = sheet.cell(f"{r.status}; {CUT_STATUS}", r.flagged)
        ws.append(cells)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(results) + 1}"

    # A reopened export names the sheet of the input that was scored, not its own results sheet.
    scored = table.kind == "scored"
    input_sheet = table.meta.get("input_sheet", "") if scored else table.sheet or ""
    meta = wb.create_sheet("run")
    meta.column_dimensions["A"].width, meta.column_dimensions["B"].width = 28, 70
    meta_rows = run.to_rows() + [
        ("input_sheet", input_sheet),
        ("input_encoding", table.meta.get("input_encoding", "") if scored else table.encoding or ""),
        ("input_header", table.meta.get("input_header", "") if scored else "yes" if table.header else "no"),
        ("input_warnings", table.meta.get("input_warnings", "") if scored else " | ".join(table.warnings)),
        ("text_column", name[1]),
        ("text_column_index", tcol),
        ("text_columns", ",".join(map(str, cols))),
        ("original_columns", n_orig),
    ]
    for k, v in meta_rows:
        if k in ("input_encoding", "input_warnings") and not v:
            continue  # not a text input, or nothing to say: no row (a blank value reads as no cell)
        meta.append([sheet.cell(k, head=True)[0], sheet.cell(v)[0]])
    if state is not None:
        state.check()
        state.set_progress(len(results), len(results))
    wb.save(tmp)


def _widths(table: InputTable, rcols: list[str]) -> list[float]:
    """Column widths from the header and the first rows: readable, never huge."""
    widths = []
    sample = table.rows[:100]
    text_cols = set(table.text_columns)
    for j, h in enumerate(table.columns):
        if j in text_cols:
            widths.append(80 if j == table.text_column else 50)
            continue
        longest = max([len(str(h))] + [len(str(r[j])) for r in sample if r[j] is not None])
        widths.append(min(50, max(8, longest + 2)))
    special = {PREFIX + "top_words": 30, PREFIX + "attribution": 20, "review_note": 40, PREFIX + "flag": 12}
    widths += [special.get(c, max(8, min(len(c) + 2, 24))) for c in rcols]
    return widths
