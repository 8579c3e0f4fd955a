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
import re
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

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
    HIGHLIGHT_SENTENCE,
    HIGHLIGHT_WORDS,
    NO_CONTENT,
    PREFIX,
    TOP_WORDS,
    XLSX_CELL_LIMIT,
    PostResult,
    WordScore,
    attribution_json,
    highlight_kinds,
    highlight_words,
    result_columns,
    result_values,
    top_words,
)
from cmhl_desktop.core.run_sheet import (  # noqa: F401  (re-exported: the run sheet's names)
    EXPORT_FORMAT,
    HIGHLIGHT_ROWS,
    SCOPE,
    RunInfo,
    highlight_record,
)
from cmhl_desktop.core.table import InputTable
from cmhl_desktop.core.tasks import TaskState

FLAG_FILL = "FFF4CCCC"  # light red row fill for flagged posts (the text mark is there too)
HIGHLIGHT_COLOR = "FFC00000"  # IG words: bold, this red
SENTENCE_COLOR = "FF7A1FA2"  # the most concerning sentence: underlined, this purple
ORDERS = ("input", "concern")  # the order rows are written in
_KEEP = XLSX_CELL_LIMIT - len(CUT_NOTE) - 1  # characters of a cut text that stay in its cell


class ExportError(Exception):
    """The export could not be written; nothing was left behind."""


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
    order: Sequence[int] | None = None,
) -> Path:
    """Write a UTF-8 (with BOM, for Excel) csv; a .tsv name gets tabs. `run` has no place in a csv:
    the workbook export carries it. Formula-looking text gets a leading quote (see module doc).
    `order`: the input rows in the order to write them (default: input order)."""
    out = _check(table, results, out_path)
    rows_order = _order(order, len(results))
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
            for k, i in enumerate(rows_order):
                _progress(state, k, len(results))
                text = table.post(i).text
                w.writerow(
                    [cell(v) for v in table.rows[i]]
                    + [
                        cell(v)
                        for v in result_values(results[i], distress_labels, emotion_labels, name, cols, text)
                    ]
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
    order: Sequence[int] | None = None,
) -> Path:
    """Write a workbook: sheet "results" (frozen bold header, filters, flagged rows filled and marked;
    inside the text cell the most concerning sentence of a flagged post underlined and IG words in
    bold red) and sheet "run" (what produced it, the scope, which rows carry which highlight).
    `order`: the input rows in the order to write them (default: input order)."""
    out = _check(table, results, out_path)
    rows_order = _order(order, len(results))
    _atomic_write(
        out,
        lambda tmp: _write_xlsx(tmp, table, results, run, distress_labels, emotion_labels, state, rows_order),
    )
    return out


def _order(order: Sequence[int] | None, n: int) -> list[int]:
    """The rows to write, in order; raises ValueError unless `order` is a permutation of range(n)."""
    if order is None:
        return list(range(n))
    rows = list(order)
    if sorted(rows) != list(range(n)):
        raise ValueError("order must list every row exactly once")
    return rows


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
    order: list[int],
) -> None:
    from openpyxl import Workbook

    # Write-only mode streams rows to disk: 100k-row exports stay small in memory.
    wb = Workbook(write_only=True)
    try:
        _fill_xlsx(wb, tmp, table, results, run, distress_labels, emotion_labels, state, order)
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


_INT = re.compile(r"-?(0|[1-9][0-9]{0,14})")  # fewer than 16 digits: a spreadsheet keeps it exact
_DEC = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+")


def _number(v: object) -> object:
    """A cell read from a text file as the number it spells, when it spells one exactly (a plain
    integer of up to 15 digits, or a decimal whose shortest form is itself: "3.5", not "3.50",
    "007", "1e5" or "1,234"); anything else as it is. Numbers then stay numbers in the workbook."""
    if not isinstance(v, str) or not v or len(v) > 24:
        return v
    if _INT.fullmatch(v):
        return int(v)
    if _DEC.fullmatch(v) and repr(float(v)) == v:
        return float(v)
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
        self.fonts = {  # (inside an IG word, inside the most concerning sentence) -> font
            (False, False): None,
            (True, False): InlineFont(b=True, color=HIGHLIGHT_COLOR),
            (False, True): InlineFont(u="single", color=SENTENCE_COLOR),
            (True, True): InlineFont(b=True, u="single", color=HIGHLIGHT_COLOR),
        }

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

    def text(
        self, s: str, words: list[WordScore], flagged: bool, sentence: tuple[int, int] | None = None
    ) -> tuple[object, bool]:
        """A post text cell, fitted once; `words` (offsets into s, text order) in bold red, the
        `sentence` span [start, end) of s underlined in purple (words inside it: both)."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.rich_text import CellRichText, TextBlock

        visible, cut = _fit(s)
        limit = _KEEP if cut and len(s) > XLSX_CELL_LIMIT else len(visible)
        spans, pos = [], 0
        for w in words:
            if w.start >= pos and w.end <= limit and w.start < w.end:
                spans.append((w.start, w.end))
                pos = w.end
        if sentence is not None:
            sentence = (max(0, sentence[0]), min(sentence[1], limit))
            if sentence[0] >= sentence[1]:
                sentence = None
        if not visible:
            value: object = None
        elif spans or sentence:
            bounds = {p for span in spans for p in span} | set(sentence or ())
            cuts = sorted(p for p in bounds if 0 < p < len(visible))
            pieces = encode_xstring_pieces(visible, cuts)
            parts, at = [], 0
            for k, piece in enumerate(pieces):
                if piece:
                    in_word = any(a <= at < b for a, b in spans)
                    in_sentence = sentence is not None and sentence[0] <= at < sentence[1]
                    font = self.fonts[(in_word, in_sentence)]
                    parts.append(TextBlock(font, piece) if font is not None else piece)
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
    order: list[int],
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
    numbers = table.kind in ("csv", "tsv", "txt")  # every cell was read as text
    for k, i in enumerate(order):
        _progress(state, k, len(results))
        row, r, post = table.rows[i], results[i], table.post(i)
        r = _kept_words(post, r)
        by_col = post.words_by_column(highlight_words(r.words))
        sentence: dict[int, tuple[int, int]] = {}
        if HIGHLIGHT_SENTENCE in highlight_kinds(r):
            a, b = r.trigger_span  # type: ignore[misc]
            for j, spans in post.words_by_column([WordScore(a, b, "", 0.0)]).items():
                if spans:  # the sentence lies in one column's cell (the first, if it spans two)
                    sentence[j] = (spans[0].start, spans[0].end)
        cells, any_cut = [], False
        for j, v in enumerate(row):
            if j in by_col and isinstance(v, str):
                c, cut = sheet.text(v, by_col[j], r.flagged, sentence.get(j))
            else:
                c, cut = sheet.cell(_number(v) if numbers else v, r.flagged)
            any_cut |= cut
            cells.append(c)
        for v in result_values(r, distress_labels, emotion_labels, name, cols, post.text):
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
        *highlight_record(results, order),
        ("input_sheet", input_sheet),
        ("input_encoding", table.meta.get("input_encoding", "") if scored else table.encoding or ""),
        ("input_header", table.meta.get("input_header", "") if scored else "yes" if table.header else "no"),
        ("input_warnings", table.meta.get("input_warnings", "") if scored else " | ".join(table.warnings)),
        ("text_column", name[1]),
        ("text_column_index", tcol),
        ("text_columns", ",".join(map(str, cols))),
        ("original_columns", n_orig),
        ("id_column", "" if table.id_column is None else table.columns[table.id_column]),
    ]
    for k, v in meta_rows:
        if k in ("input_encoding", "input_warnings", "id_column") and not v:
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
