"""Export scored posts to .xlsx or .csv, and read such an export back to continue review.

Output = the input's own columns, untouched and in order, then `result_columns(...)`. Writes are
atomic (a temp file in the target folder, then os.replace): a failure or a cancel leaves no partial
file, and the input is only ever opened for reading.

Spreadsheet safety: text that starts with = + - @ is never a formula. In .xlsx every string cell is
stored as an inline string (t="inlineStr"), so Excel shows it literally. In .csv, where a cell has
no type, such a cell gets a leading single quote (OWASP "CSV injection" advice); plain numbers such
as -0.5 are left alone. Reopening our own csv removes exactly the quote we added.
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
from typing import TYPE_CHECKING

from cmhl_desktop import __version__
from cmhl_desktop.core.results import (
    FLAG_MARK,
    PREFIX,
    PostResult,
    WordScore,
    result_columns,
)
from cmhl_desktop.core.tasks import TaskState

if TYPE_CHECKING:
    from cmhl_desktop.core.readers import InputTable

EXPORT_FORMAT = "cmhl-desktop export 1"  # first row of the run sheet; how a reopened file is known
XLSX_CELL_LIMIT = 32_767  # Excel's maximum characters in one cell
CUT_NOTE = "[truncated in this cell; full text in the input file]"
CUT_STATUS = "text cut to fit the xlsx cell"  # appended to cmhl_status as "<status>; <CUT_STATUS>"
TOP_WORDS = 5  # words listed in cmhl_top_words
HIGHLIGHT_MAX, HIGHLIGHT_FRACTION = 8, 0.3  # words shown in bold red: top 8 with score >= 0.3*max
FLAG_FILL = "FFF4CCCC"  # light red row fill for flagged posts (the text mark is there too)
HIGHLIGHT_COLOR = "FFC00000"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


# --------------------------------------------------------------------------- result <-> cells


def _round4(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _float(v: object) -> float:
    if v is None or v == "":
        return float("nan")
    return float(v)  # type: ignore[arg-type]


def top_words(words: list[WordScore] | None, n: int = TOP_WORDS) -> list[WordScore]:
    """The n highest positively-scored words, highest first (ties keep text order)."""
    if not words:
        return []
    return sorted((w for w in words if w.score > 0), key=lambda w: -w.score)[:n]


def highlight_words(words: list[WordScore] | None) -> list[WordScore]:
    """Words to show in bold red: the top HIGHLIGHT_MAX with score >= HIGHLIGHT_FRACTION * max."""
    top = top_words(words, HIGHLIGHT_MAX)
    if not top:
        return []
    cut = HIGHLIGHT_FRACTION * top[0].score
    return sorted((w for w in top if w.score >= cut), key=lambda w: w.start)


def attribution_json(r: PostResult, text_column: str, text_index: int = -1) -> str:
    """Compact JSON that restores highlights on reopen: word text is re-derived from the post, so
    only offsets and scores are stored. Capped to fit an xlsx cell by keeping the strongest words."""
    if r.words is None:
        return ""
    spans = [[w.start, w.end, _round4(w.score)] for w in r.words]

    def dump(s: list) -> str:
        return json.dumps(
            {"target": r.attribution_target, "col": text_column, "ci": text_index, "spans": s},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    out = dump(spans)
    if len(out) <= XLSX_CELL_LIMIT:
        return out
    strongest = sorted(spans, key=lambda s: -abs(s[2] or 0.0))
    lo, hi = 0, len(strongest)  # binary search: the most spans that still fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(dump(strongest[:mid])) <= XLSX_CELL_LIMIT:
            lo = mid
        else:
            hi = mid - 1
    return dump(sorted(strongest[:lo], key=lambda s: s[0]))


def parse_attribution(value: object, text: str) -> tuple[str, tuple[int, str], list[WordScore] | None]:
    """(target, (text column index, name), words) from a cmhl_attribution cell; words that no longer
    fit the text (a cell cut to the xlsx limit) are dropped."""
    if not value:
        return "", (-1, ""), None
    try:
        d = json.loads(str(value))
        words = [
            WordScore(int(s), int(e), text[int(s) : int(e)], float("nan") if sc is None else float(sc))
            for s, e, sc in d.get("spans", [])
            if 0 <= int(s) <= int(e) <= len(text)
        ]
        return str(d.get("target", "")), (int(d.get("ci", -1)), str(d.get("col", ""))), words
    except (ValueError, TypeError, AttributeError):
        return "", (-1, ""), None  # a hand-edited cell: keep the row, lose the highlights


def result_values(
    r: PostResult, distress_labels: list[str], emotion_labels: list[str], text_column: tuple[int, str]
) -> list[object]:
    """The result block of one row, in `result_columns` order; numbers stay numbers (None = no value)."""
    return (
        [FLAG_MARK if r.flagged else "", "; ".join(r.flag_rules), r.category, _round4(r.distress_score)]
        + [_round4(r.distress_probs.get(c)) for c in distress_labels]
        + [r.emotion]
        + [_round4(r.emotion_probs.get(e)) for e in emotion_labels]
        + [_round4(r.valence), _round4(r.intensity), r.status]
        + [", ".join(w.word for w in top_words(r.words)), attribution_json(r, text_column[1], text_column[0])]
        + [r.review_status, r.review_note, r.reviewer]
    )


def result_block(header: list[str]) -> tuple[int, list[str], list[str]] | None:
    """Where our result columns start in a header, with the distress and emotion labels they name;
    None when the header does not end with a complete result block."""
    for i in range(len(header) - 1, -1, -1):
        if header[i] != PREFIX + "flag":
            continue
        block = header[i:]
        dl = [c[len(PREFIX + "p_") :] for c in block if c.startswith(PREFIX + "p_")]
        el = [c[len(PREFIX + "emo_") :] for c in block if c.startswith(PREFIX + "emo_")]
        if block == result_columns(dl, el):
            return i, dl, el
        return None
    return None


def result_from_values(block: list[str], values: list[object], text: str) -> PostResult:
    """Rebuild a PostResult from one row's result cells (the inverse of `result_values`)."""
    v = dict(zip(block, values, strict=True))

    def s(name: str) -> str:
        x = v.get(name)
        return "" if x is None else str(x)

    def probs(kind: str) -> dict[str, float]:
        # Every label, in column order, even where the cell is blank (NaN): callers read the label
        # set off any result, and an empty post's row has no probabilities.
        n = len(PREFIX + kind)
        return {c[n:]: _float(x) for c, x in v.items() if c.startswith(PREFIX + kind)}

    status = s(PREFIX + "status")
    if status.endswith("; " + CUT_STATUS):
        status = status[: -len("; " + CUT_STATUS)]
    target, _, words = parse_attribution(v.get(PREFIX + "attribution"), text)
    rules = s(PREFIX + "flag_rule")
    return PostResult(
        status=status or "ok",
        category=s(PREFIX + "category"),
        distress_probs=probs("p_"),
        distress_score=_float(v.get(PREFIX + "distress_score")),
        flagged=s(PREFIX + "flag") == FLAG_MARK,
        flag_rules=rules.split("; ") if rules else [],
        emotion=s(PREFIX + "emotion"),
        emotion_probs=probs("emo_"),
        valence=_float(v.get(PREFIX + "valence")),
        intensity=_float(v.get(PREFIX + "intensity")),
        attribution_target=target,
        words=words,
        review_status=s("review_status") or "unreviewed",
        review_note=s("review_note"),
        reviewer=s("reviewer"),
    )


def reopen_scored(table: InputTable) -> InputTable | None:
    """If `table` is one of our exports, the original table with `results` rebuilt; else None."""
    from cmhl_desktop.core.readers import InputTable, guess_text_column

    found = result_block(table.columns)
    if found is None or found[0] == 0:
        return None
    start = found[0]
    block = table.columns[start:]
    rows = table.rows
    if table.kind in ("csv", "tsv"):
        rows = [[csv_unescape(c) if isinstance(c, str) else c for c in row] for row in rows]
    columns = table.columns[:start]
    originals = [row[:start] for row in rows]

    # The text column: the run sheet records it; a csv carries it in any attribution cell.
    text_col = -1
    meta = table.meta
    idx = meta.get("text_column_index", "")
    if idx.isdigit() and int(idx) < start and columns[int(idx)] == meta.get("text_column"):
        text_col = int(idx)
    if text_col < 0:
        a = block.index(PREFIX + "attribution")
        for row in rows:
            _, (ci, name), _ = parse_attribution(row[start + a], "")
            if 0 <= ci < start and columns[ci] == name:
                text_col = ci
                break
            if name in columns:
                text_col = columns.index(name)
                break
    if text_col < 0:
        text_col = guess_text_column(columns, originals)
    out = InputTable(
        table.source,
        table.sheet,
        columns,
        originals,
        text_col,
        table.sha256,
        "scored",
        encoding=table.encoding,
        delimiter=table.delimiter,
        meta=meta,
    )
    out.results = [
        result_from_values(block, row[start:], text) for row, text in zip(rows, out.texts(), strict=True)
    ]
    return out


# --------------------------------------------------------------------------- csv safety


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return s.strip() == s and s.lower().lstrip("+-") not in ("nan", "inf", "infinity")


def csv_escape(s: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula. Leading quotes already there are
    counted in, so `csv_unescape` can undo exactly this and nothing else."""
    rest = s.lstrip("'")
    if rest[:1] and rest[0] in _FORMULA_START and not (rest is s and _is_number(s)):
        return "'" + s
    return s


def csv_unescape(s: str) -> str:
    rest = s.lstrip("'")
    if rest is not s and rest[:1] and rest[0] in _FORMULA_START:
        return s[1:]
    return s


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
                    + [cell(v) for v in result_values(r, distress_labels, emotion_labels, name)]
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
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet("results")
    rcols = result_columns(distress_labels, emotion_labels)
    header = table.columns + rcols
    n_orig, tcol = len(table.columns), table.text_column
    status_at = n_orig + rcols.index(PREFIX + "status")
    bold, fill = Font(bold=True), PatternFill("solid", fgColor=FLAG_FILL)
    wrap = Alignment(wrap_text=True, vertical="top")

    def cell(v: object, flagged: bool = False, text: bool = False, head: bool = False) -> tuple[object, bool]:
        """A cell value ready for the sheet, and whether it had to be cut to the cell limit."""
        cut = False
        if isinstance(v, float) and not math.isfinite(v):
            v = None if math.isnan(v) else str(v)
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, ensure_ascii=False)
        elif v is not None and not isinstance(v, (str, int, float, dt.date, dt.time, dt.timedelta)):
            v = str(v)  # Decimal, bytes, ...: their text
        if isinstance(v, str):
            v, cut = _fit_cell(v)
            v = v or None  # an empty string is an empty cell (as a reopened file gives it)
        if not (flagged or text or head) and (
            not isinstance(v, str) or (v[0] != "=" and v not in ERROR_CODES)
        ):
            return v, cut  # openpyxl stores these as they are: no cell object needed (faster)
        c = WriteOnlyCell(ws, v)
        if isinstance(v, str):
            c.data_type = "s"  # text, never a formula or an error value
        if flagged:
            c.fill = fill
        if text:
            c.alignment = wrap
        if head:
            c.font = bold
        return c, cut

    # The size is known up front: say so in the sheet's <dimension> (write-only sheets have no way to
    # compute it), which spares readers, ours included, a full pass over the sheet to find it.
    ws.calculate_dimension = lambda: f"A1:{get_column_letter(len(header))}{len(results) + 1}"
    ws.freeze_panes = "A2"  # must precede the first row in write-only mode, as must the widths
    for j, w in enumerate(_widths(table, rcols), start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    head = []
    for h in header:
        head.append(cell(h, head=True)[0])
    ws.append(head)

    name = (tcol, table.columns[tcol])
    for i, (row, r) in enumerate(zip(table.rows, results, strict=True)):
        _progress(state, i, len(results))
        row = list(row)
        if isinstance(row[tcol], str):
            # Drop characters XML cannot hold once, here, moving the word offsets with them, so the
            # highlights and a reopened file point at the right characters of the cell.
            row[tcol], words = _strip_illegal(row[tcol], r.words)
            if words and _fit_cell(row[tcol])[1]:
                # The cell keeps only the start of the post: keep the words still in it, so a
                # reopened file shows the same words and re-exports identically.
                words = [w for w in words if w.end <= XLSX_CELL_LIMIT - len(CUT_NOTE) - 1]
            if words is not r.words:
                r = dataclasses.replace(r, words=words)
        values = row + result_values(r, distress_labels, emotion_labels, name)
        cells, any_cut = [], False
        for j, v in enumerate(values):
            if j == tcol and isinstance(v, str) and highlight_words(r.words):
                c, cut = _rich_cell(ws, v, highlight_words(r.words)), _fit_cell(v)[1]
                c.alignment = wrap
                if r.flagged:
                    c.fill = fill
            else:
                c, cut = cell(v, r.flagged, j == tcol)
            any_cut |= cut
            cells.append(c)
        if any_cut:  # say so in the status column (a note, stripped again on reopen)
            cells[status_at], _ = cell(f"{r.status}; {CUT_STATUS}", r.flagged)
        ws.append(cells)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(results) + 1}"

    # A reopened export names the sheet of the input that was scored, not its own results sheet.
    input_sheet = table.meta.get("input_sheet", "") if table.kind == "scored" else table.sheet or ""
    meta = wb.create_sheet("run")
    meta.column_dimensions["A"].width, meta.column_dimensions["B"].width = 28, 70
    meta_rows = run.to_rows() + [
        ("input_sheet", input_sheet),
        ("text_column", name[1]),
        ("text_column_index", tcol),
        ("original_columns", n_orig),
    ]
    for k, v in meta_rows:
        meta.append([cell(k, head=True)[0], cell(v)[0]])
    if state is not None:
        state.check()
        state.set_progress(len(results), len(results))
    wb.save(tmp)


def _fit_cell(s: str) -> tuple[str, bool]:
    """Strip characters XML cannot hold and cut text over Excel's cell limit, with a visible note.
    A text already ending with the note (a reopened export) counts as cut, so re-exports match."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    s = ILLEGAL_CHARACTERS_RE.sub("", s)
    if len(s) > XLSX_CELL_LIMIT:
        return s[: XLSX_CELL_LIMIT - len(CUT_NOTE) - 1] + " " + CUT_NOTE, True
    return s, s.endswith(CUT_NOTE)


def _strip_illegal(text: str, words: list[WordScore] | None) -> tuple[str, list[WordScore] | None]:
    """The text without XML-illegal characters, and the words with offsets into that text."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    clean = ILLEGAL_CHARACTERS_RE.sub("", text)
    if clean == text or not words:
        return clean, words
    dropped, before = 0, []  # before[i]: illegal characters in text[:i]
    for ch in text:
        before.append(dropped)
        dropped += ILLEGAL_CHARACTERS_RE.match(ch) is not None
    before.append(dropped)
    moved = []
    for w in words:
        s, e = w.start - before[w.start], w.end - before[w.end]
        moved.append(WordScore(s, e, clean[s:e], w.score))
    return clean, moved


def _rich_cell(ws, text: str, words: list[WordScore]):
    """The post as rich text with `words` (in text order) in bold red; everything else plain."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    cut = _fit_cell(text)[1]
    limit = len(text) if not cut else XLSX_CELL_LIMIT - len(CUT_NOTE) - 1
    font = InlineFont(b=True, color=HIGHLIGHT_COLOR)
    parts: list = []
    pos = 0
    for w in words:
        if w.start < pos or w.end > limit:
            continue  # overlapping or beyond the cut
        parts.append(text[pos : w.start])
        parts.append(TextBlock(font, text[w.start : w.end]))
        pos = w.end
    parts.append(text[pos:limit])
    if cut and limit < len(text):
        parts.append(" " + CUT_NOTE)
    clean = [p for p in parts if str(p)]  # the text was made XML-safe by the caller
    c = WriteOnlyCell(ws, CellRichText(clean))
    c.data_type = "s"
    return c


def _widths(table: InputTable, rcols: list[str]) -> list[float]:
    """Column widths from the header and the first rows: readable, never huge."""
    widths = []
    sample = table.rows[:100]
    for j, h in enumerate(table.columns):
        if j == table.text_column:
            widths.append(80)
            continue
        longest = max([len(str(h))] + [len(str(r[j])) for r in sample if r[j] is not None])
        widths.append(min(50, max(8, longest + 2)))
    special = {PREFIX + "top_words": 30, PREFIX + "attribution": 20, "review_note": 40, PREFIX + "flag": 12}
    widths += [special.get(c, max(8, min(len(c) + 2, 24))) for c in rcols]
    return widths
