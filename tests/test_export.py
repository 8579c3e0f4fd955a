"""Spreadsheet export: layout, formula safety, limits, atomic writes, cancel, and reopen round trips.

All inputs are built in tmp_path from made-up strings (never from research data).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from cmhl_desktop.core import export as export_mod
from cmhl_desktop.core.export import (
    CUT_NOTE,
    CUT_STATUS,
    XLSX_CELL_LIMIT,
    ExportError,
    RunInfo,
    csv_escape,
    csv_unescape,
    export_csv,
    export_xlsx,
)
from cmhl_desktop.core.readers import read_input
from cmhl_desktop.core.results import FLAG_MARK, PostResult, WordScore, result_columns
from cmhl_desktop.core.tasks import Cancelled, TaskState

DL = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
EL = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EXPORTERS = {"xlsx": export_xlsx, "csv": export_csv}


def words_of(text: str, scores: list[float]) -> list[WordScore]:
    out, pos = [], 0
    for w, s in zip(text.split(), scores, strict=False):
        start = text.index(w, pos)
        out.append(WordScore(start, start + len(w), w, s))
        pos = start + len(w)
    return out


def result(text: str, i: int, flagged: bool = False, with_words: bool = False, **kw) -> PostResult:
    if not text.strip():
        return PostResult(status="empty", **kw)
    p = [0.123456 + 0.01 * i, 0.05, 0.2, 0.1, 0.526544 - 0.01 * i]
    r = PostResult(
        category=DL[0],
        distress_probs=dict(zip(DL, p, strict=True)),
        distress_score=1 - p[-1],
        flagged=flagged,
        flag_rules=["any-distress", "suicidewatch"] if flagged else [],
        emotion="sadness",
        emotion_probs=dict(zip(EL, [0.61234, 0.1, 0.05, 0.1, 0.1, 0.03766], strict=True)),
        valence=-0.654321,
        intensity=0.4,
        **kw,
    )
    if with_words:
        n = len(text.split())
        r.words = words_of(text, [((k * 5) % 11 - 3) / 10 for k in range(n)])
        r.attribution_target = "distress:suicidewatch"
    return r


ROWS = [
    ["id", "date", "text", "note"],
    ["1", "2024-01-02", "I can't sleep and everything feels heavy lately", "=cmd|' /C calc'!A0"],
    ["2", "2024-01-03", "=SUM(A1:A3) is how my week adds up", "+1 agree"],
    ["3", "2024-01-04", "", "-dash"],
    ["4", "2024-01-05", "   ", "@home"],
    ["5", "2024-01-06", "emoji 😞🎉 and RTL مرحبا שלום mixed in", "-5"],
    ["6", "2024-01-07", "ctrl\x01 chars\x0b and \x1f here", "#N/A"],
]


def make_input(tmp_path: Path, rows=ROWS, name="in.csv") -> Path:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def make_results(texts: list[str]) -> list[PostResult]:
    out = []
    for i, t in enumerate(texts):
        r = result(t, i, flagged=i % 2 == 0, with_words=i != 1)
        if i == 0:
            r.review_status, r.review_note, r.reviewer = "confirmed", '=HYPERLINK("x") called GP', "dr_a"
        if i == 4:
            r.review_status, r.review_note = "needs follow-up", "ask about sleep; 😞"
        out.append(r)
    return out


def run_info(table) -> RunInfo:
    return RunInfo(
        model_name="cmhl-minilm-v1",
        model_sha256="ab" * 32,
        thresholds={"any-distress": 0.41, "suicidewatch": 0.17},
        target_recalls={"any-distress": 0.95, "suicidewatch": 0.9},
        input_name=table.source.name,
        input_sha256=table.sha256,
        started="2024-06-01T10:00:00",
        finished="2024-06-01T10:00:05",
        explain_mode="flagged",
    )


def norm(r: PostResult) -> dict:
    """A comparable form of a result: NaN -> None, n_tokens (not exported) dropped."""

    def fix(x):
        if isinstance(x, float) and math.isnan(x):
            return None
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        return x

    d = fix(dataclasses.asdict(r))
    d.pop("n_tokens")
    return d


def rounded(r: PostResult) -> PostResult:
    """What an export keeps of a result: 4 decimals."""
    r4 = lambda x: None if x is None or math.isnan(x) else round(x, 4)  # noqa: E731
    nan = float("nan")
    return dataclasses.replace(
        r,
        # A reopened result names every label; a blank cell (an empty post) is NaN.
        distress_probs={k: r4(r.distress_probs.get(k, nan)) for k in DL},
        distress_score=r4(r.distress_score) if not math.isnan(r.distress_score) else r.distress_score,
        emotion_probs={k: r4(r.emotion_probs.get(k, nan)) for k in EL},
        valence=r4(r.valence) if not math.isnan(r.valence) else r.valence,
        intensity=r4(r.intensity) if not math.isnan(r.intensity) else r.intensity,
        words=None if r.words is None else [dataclasses.replace(w, score=r4(w.score)) for w in r.words],
    )


def sheet_cells(path: Path, sheet: str = "results") -> list[list[tuple[object, str]]]:
    wb = openpyxl.load_workbook(path)  # data_only=False: formulas would show as formulas
    return [[(c.value, c.data_type) for c in row] for row in wb[sheet].iter_rows()]


def sheet_xml(path: Path, index: int = 1) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


@pytest.fixture
def scored(tmp_path):
    table = read_input(make_input(tmp_path), column="text")
    results = make_results(table.texts())
    return table, results, run_info(table).set_counts(results)


# --------------------------------------------------------------------------- xlsx layout


def test_xlsx_layout(tmp_path, scored):
    table, results, run = scored
    out = export_xlsx(table, results, tmp_path / "out.xlsx", run, DL, EL)
    wb = openpyxl.load_workbook(out, rich_text=True)
    assert wb.sheetnames == ["results", "run"]
    ws = wb["results"]
    header = [c.value for c in ws[1]]
    assert header == ROWS[0] + result_columns(DL, EL)
    assert ws.freeze_panes == "A2"
    last = f"{openpyxl.utils.get_column_letter(len(header))}{len(ROWS)}"
    assert f'<dimension ref="A1:{last}"' in sheet_xml(out)  # readers need not scan the sheet for it
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{len(ROWS)}"
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["C"].width >= 60  # the text column is wide
    col = {h: i for i, h in reversed(list(enumerate(header)))}
    for i, r in enumerate(results, start=2):
        row = ws[i]
        assert row[col["cmhl_flag"]].value == (FLAG_MARK if r.flagged else None)
        filled = row[col["id"]].fill.fgColor.rgb
        assert (filled == export_mod.FLAG_FILL) == r.flagged  # colour AND mark
    assert ws.cell(2, 3).alignment.wrap_text
    # Rows 2..: first row flagged with words -> rich text, strongest words bold red.
    rich = ws.cell(2, 3).value
    assert isinstance(rich, openpyxl.cell.rich_text.CellRichText)
    assert str(rich) == ROWS[1][2]
    bold = [b.text for b in rich if isinstance(b, openpyxl.cell.rich_text.TextBlock) and b.font.b]
    expected = [w.word for w in export_mod.highlight_words(results[0].words)]
    assert bold == expected and bold
    assert all(b.font.color.rgb == export_mod.HIGHLIGHT_COLOR for b in rich if not isinstance(b, str))
    # Numbers are numbers, rounded to 4 decimals.
    assert ws.cell(2, col["cmhl_p_depression"] + 1).value == 0.1235
    assert ws.cell(2, col["cmhl_valence"] + 1).value == -0.6543
    top = ws.cell(2, col["cmhl_top_words"] + 1).value.split(", ")
    assert top == [w.word for w in export_mod.top_words(results[0].words)] and len(top) == 5
    assert ws.cell(2, col["cmhl_flag_rule"] + 1).value == "any-distress; suicidewatch"


def test_run_sheet(tmp_path, scored):
    table, results, run = scored
    out = export_xlsx(table, results, tmp_path / "out.xlsx", run, DL, EL)
    meta = {r[0]: r[1] for r in openpyxl.load_workbook(out)["run"].iter_rows(values_only=True)}
    assert meta["model_sha256"] == "ab" * 32
    assert meta["input_sha256"] == table.sha256
    assert meta["threshold:suicidewatch"] == 0.17 and meta["target_recall:any-distress"] == 0.95
    assert meta["text_column"] == "text" and meta["text_column_index"] == 2
    assert meta["rows_total"] == 6 and meta["rows_empty"] == 2
    assert meta["rows_flagged"] == sum(r.flagged for r in results) == 2
    assert meta["app_version"]
    back = RunInfo.from_meta(read_input(out).meta)
    assert back.thresholds == run.thresholds and back.model_sha256 == run.model_sha256
    assert back.rows_flagged == 2 and back.explain_mode == "flagged"


# --------------------------------------------------------------------------- formula safety


def test_xlsx_formula_looking_cells_are_text(tmp_path, scored):
    table, results, run = scored
    out = export_xlsx(table, results, tmp_path / "out.xlsx", run, DL, EL)
    cells = sheet_cells(out)
    by_value = {v: t for row in cells for v, t in row if isinstance(v, str)}
    for s in [
        "=cmd|' /C calc'!A0",
        "=SUM(A1:A3) is how my week adds up",
        "+1 agree",
        "-dash",
        "@home",
        "#N/A",
    ]:
        assert by_value[s] == "s", s
    assert by_value['=HYPERLINK("x") called GP'] == "s"
    # a number read from a text file is a number again in the workbook (a number, never a formula)
    assert any(v == -5 and t == "n" for row in cells for v, t in row)
    assert "<f>" not in sheet_xml(out) and "<f " not in sheet_xml(out)
    assert not re.search(r"<f[ >]", sheet_xml(out, 2))


def test_csv_formula_cells_quoted_and_restored(tmp_path, scored):
    table, results, run = scored
    out = export_csv(table, results, tmp_path / "out.csv", run, DL, EL)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ROWS[0] + result_columns(DL, EL)
    note = [r[3] for r in rows[1:]]
    assert note[:4] == ["'=cmd|' /C calc'!A0", "'+1 agree", "'-dash", "'@home"]
    assert note[4] == "-5"  # a plain number is not a formula
    assert rows[1][2] == ROWS[1][2] and rows[2][2] == "'=SUM(A1:A3) is how my week adds up"
    valence = rows[1][rows[0].index("cmhl_valence")]
    assert valence == "-0.6543"
    back = read_input(out)
    assert back.kind == "scored"
    assert back.rows == ROWS[1:]  # csv keeps control characters; our quotes are removed again
    assert back.results[0].review_note == '=HYPERLINK("x") called GP'


@pytest.mark.parametrize(
    "s", ["", "a", "=1", "'=1", "''+x", "'plain", "-1.5", "-", "'", "@", "\tx", "1e5", "-inf"]
)
def test_csv_escape_is_invertible(s):
    e = csv_escape(s)
    assert csv_unescape(e) == s
    assert e[:1] not in ("=", "@", "\t", "\r")
    if e[:1] in ("-", "+"):
        assert re.fullmatch(r"[-+]\d+(\.\d+)?(e\d+)?", e), e  # only a plain number may start so


# --------------------------------------------------------------------------- awkward text


def test_xml_illegal_characters_kept_as_excel_escapes(tmp_path, scored):
    # Issue 12: control characters are stored the way Excel stores them (_xHHHH_), not dropped, so
    # the text a reopen gives back is the text that was scored.
    table, results, run = scored
    out = export_xlsx(table, results, tmp_path / "out.xlsx", run, DL, EL)
    texts = [row[2][0] for row in sheet_cells(out)[1:]]
    assert str(texts[5]) == "ctrl_x0001_ chars_x000B_ and _x001F_ here"
    assert texts[4] == ROWS[5][2]  # emoji and RTL untouched
    assert read_input(out).texts()[5] == ROWS[6][2]


def test_long_post_50k(tmp_path):
    long = " ".join(f"w{i % 97}" for i in range(13_000))
    assert len(long) > 50_000
    rows = [["id", "text"], ["1", long], ["2", "short post here"]]
    table = read_input(make_input(tmp_path, rows), column="text")
    results = [result(long, 0, flagged=True, with_words=True), result("short post here", 1)]
    # A strong word past the cell limit: it must not survive in the xlsx, but does in the csv.
    results[0].words[-1].score = 5.0
    run = run_info(table).set_counts(results)

    out = export_xlsx(table, results, tmp_path / "long.xlsx", run, DL, EL)
    cell = openpyxl.load_workbook(out)["results"].cell(2, 2).value
    assert len(cell) <= XLSX_CELL_LIMIT and cell.endswith(CUT_NOTE)
    assert long.startswith(cell[: -len(CUT_NOTE) - 1])
    header = result_columns(DL, EL)
    status = openpyxl.load_workbook(out)["results"].cell(2, 3 + header.index("cmhl_status")).value
    assert status == f"ok; {CUT_STATUS}"
    attribution = openpyxl.load_workbook(out)["results"].cell(2, 3 + header.index("cmhl_attribution")).value
    assert len(attribution) <= XLSX_CELL_LIMIT

    back = read_input(out)
    assert back.results[0].status == "ok"
    assert all(w.end <= len(back.texts()[0]) for w in back.results[0].words)
    assert all(back.texts()[0][w.start : w.end] == w.word for w in back.results[0].words)
    again = export_xlsx(back, back.results, tmp_path / "long2.xlsx", run, DL, EL)
    assert sheet_cells(again) == sheet_cells(out)

    out_csv = export_csv(table, results, tmp_path / "long.csv", run, DL, EL)
    back_csv = read_input(out_csv)
    assert back_csv.texts()[0] == long
    assert back_csv.results[0].words[-1].score == 5.0


def test_attribution_capped_to_cell(tmp_path):
    text = " ".join(["word"] * 8000)
    r = result(text, 0, with_words=True)
    s = export_mod.attribution_json(r, "text")
    assert len(s) <= XLSX_CELL_LIMIT
    kept = json.loads(s)["spans"]
    assert 0 < len(kept) < 8000 and kept == sorted(kept)
    strongest = max(abs(w.score) for w in r.words)
    assert any(abs(sc) == round(strongest, 4) for _, _, sc in kept)


# --------------------------------------------------------------------------- atomic writes


def test_unwritable_output_path(tmp_path, scored):
    table, results, run = scored
    for exporter in EXPORTERS.values():
        with pytest.raises(ExportError, match="nodir"):
            exporter(table, results, tmp_path / "nodir" / "out.x", run, DL, EL)
        with pytest.raises(ExportError, match="folder"):
            exporter(table, results, tmp_path, run, DL, EL)
    assert not (tmp_path / "nodir").exists()


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_failure_mid_write_leaves_nothing(tmp_path, scored, monkeypatch, fmt):
    table, results, run = scored
    out = tmp_path / f"out.{fmt}"
    out.write_text("previous export", encoding="utf-8")
    before = set(tmp_path.iterdir())

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    if fmt == "xlsx":
        monkeypatch.setattr(openpyxl.Workbook, "save", boom)
    else:
        monkeypatch.setattr(export_mod, "result_values", lambda *a: boom())
    with pytest.raises(ExportError, match="No space left"):
        EXPORTERS[fmt](table, results, out, run, DL, EL)
    assert set(tmp_path.iterdir()) == before  # no temp file left
    assert out.read_text(encoding="utf-8") == "previous export"  # old file untouched


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_cancel_leaves_no_file(tmp_path, fmt):
    rows = [["id", "text"]] + [[str(i), f"post number {i} about a day"] for i in range(450)]
    table = read_input(make_input(tmp_path, rows), column="text")
    results = [result(t, i) for i, t in enumerate(table.texts())]
    seen = []
    state = TaskState(on_progress=lambda done, total: (seen.append(done), state.cancel()))
    before = set(tmp_path.iterdir())
    with pytest.raises(Cancelled):
        EXPORTERS[fmt](table, results, tmp_path / f"out.{fmt}", run_info(table), DL, EL, state=state)
    assert set(tmp_path.iterdir()) == before
    assert seen == [0]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_progress_reported(tmp_path, scored, fmt):
    table, results, run = scored
    seen = []
    EXPORTERS[fmt](
        table, results, tmp_path / f"o.{fmt}", run, DL, EL, state=TaskState(lambda d, t: seen.append((d, t)))
    )
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)


def test_input_untouched_and_not_overwritten(tmp_path, scored):
    table, results, run = scored
    src = table.source
    digest, mtime = hashlib.sha256(src.read_bytes()).hexdigest(), src.stat().st_mtime_ns
    export_xlsx(table, results, tmp_path / "o.xlsx", run, DL, EL)
    export_csv(table, results, tmp_path / "o.csv", run, DL, EL)
    with pytest.raises(ExportError, match="input"):
        export_csv(table, results, src, run, DL, EL)
    with pytest.raises(ExportError, match="input"):
        export_csv(table, results, tmp_path / "." / src.name, run, DL, EL)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest == table.sha256
    assert src.stat().st_mtime_ns == mtime


def test_wrong_result_count(tmp_path, scored):
    table, results, run = scored
    with pytest.raises(ValueError, match="5 results for 6 rows"):
        export_csv(table, results[:5], tmp_path / "o.csv", run, DL, EL)


# --------------------------------------------------------------------------- reopen round trips


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_reopen_export_round_trip(tmp_path, scored, fmt):
    table, results, run = scored
    first = EXPORTERS[fmt](table, results, tmp_path / f"first.{fmt}", run, DL, EL)
    back = read_input(first)
    assert back.kind == "scored"
    assert back.columns == ROWS[0] and back.text_column == 2
    assert len(back.rows) == len(ROWS) - 1
    assert back.sha256 == hashlib.sha256(first.read_bytes()).hexdigest()
    # Results come back as exported: rounded to 4 decimals, review fields and words exactly.
    for orig, got, text in zip(results, back.results, back.texts(), strict=True):
        want = rounded(orig)
        if want.words is not None:
            # XML-illegal characters are escaped, not dropped: the words come back exactly.
            assert all(text[w.start : w.end] == w.word for w in got.words)
        assert norm(got) == norm(want)
    assert back.results[0].review_status == "confirmed" and back.results[0].reviewer == "dr_a"
    assert back.results[4].review_note == "ask about sleep; 😞"
    # Labels in column order on every result, the empty post's included (callers read them off one).
    assert list(back.results[2].distress_probs) == DL and list(back.results[2].emotion_probs) == EL
    assert back.results[0].words[0] == WordScore(0, 1, "I", rounded(results[0]).words[0].score)

    second = EXPORTERS[fmt](back, back.results, tmp_path / f"second.{fmt}", run, DL, EL)
    if fmt == "xlsx":
        assert sheet_cells(second) == sheet_cells(first)
        assert sheet_cells(second, "run") == sheet_cells(first, "run")
    else:
        assert second.read_bytes() == first.read_bytes()
    again = read_input(second)
    assert [norm(r) for r in again.results] == [norm(r) for r in back.results]
    assert again.rows == back.rows and again.columns == back.columns


def test_reopen_restores_duplicate_text_column(tmp_path):
    rows = [
        ["text", "id", "text"],
        ["short", "1", "the real post is in here"],
        ["tiny", "2", "another real post here"],
    ]
    table = read_input(make_input(tmp_path, rows), column=2)
    results = [result(t, i, flagged=True, with_words=True) for i, t in enumerate(table.texts())]
    run = run_info(table)
    for fmt, exporter in EXPORTERS.items():
        back = read_input(exporter(table, results, tmp_path / f"d.{fmt}", run, DL, EL))
        assert back.columns == ["text", "id", "text"]
        assert back.text_column == 2, fmt
        assert back.results[0].words[0].word == "the"


def test_reopen_with_explicit_sheet_and_column(tmp_path, scored):
    table, results, run = scored
    out = export_xlsx(table, results, tmp_path / "o.xlsx", run, DL, EL)
    back = read_input(out, sheet="results", column="note")
    assert back.kind == "scored" and back.text_column == 3 and back.results is not None


def test_xlsx_input_types_survive(tmp_path):
    import datetime as dt

    path = tmp_path / "in.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["n", "when", "ok", "text"])
    ws.append([1.5, dt.datetime(2024, 3, 1, 9, 30), True, "a post with words in it"])
    ws.append([None, None, None, None])
    ws.append([3, dt.datetime(2024, 3, 2), False, "=not a formula"])
    ws["D4"].data_type = "s"
    wb.save(path)
    table = read_input(path)
    results = [result(t, i) for i, t in enumerate(table.texts())]
    out = export_xlsx(table, results, tmp_path / "o.xlsx", run_info(table), DL, EL)
    back = read_input(out)
    assert back.rows == table.rows
    assert back.texts()[2] == "=not a formula"


def test_jsonl_nested_values_and_folder_input(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"id": 1, "meta": {"a": [1, 2]}, "text": "nested value post"})
        + "\n"
        + json.dumps({"id": 2, "text": "=2+2"})
        + "\n",
        encoding="utf-8",
    )
    table = read_input(path)
    results = [result(t, i) for i, t in enumerate(table.texts())]
    for fmt, exporter in EXPORTERS.items():
        back = read_input(exporter(table, results, tmp_path / f"j.{fmt}", run_info(table), DL, EL))
        assert back.rows[0][1] == '{"a": [1, 2]}'
        assert back.texts() == ["nested value post", "=2+2"]

    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "1.txt").write_text("first file post", encoding="utf-8")
    (folder / "2.txt").write_text("", encoding="utf-8")
    table = read_input(folder)
    results = [result(t, i, with_words=True) for i, t in enumerate(table.texts())]
    back = read_input(export_xlsx(table, results, tmp_path / "f.xlsx", run_info(table), DL, EL))
    assert back.columns == ["file", "text"] and back.text_column == 1
    assert back.rows == [["1.txt", "first file post"], ["2.txt", None]]
    assert [r.status for r in back.results] == ["ok", "empty"]


def test_samples_export_round_trip(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "resources" / "samples"
    table = read_input(samples / "forum_posts.xlsx", sheet="posts")
    results = [result(t, i % 7, flagged=i % 3 == 0, with_words=True) for i, t in enumerate(table.texts())]
    run = run_info(table)
    first = export_xlsx(table, results, tmp_path / "s.xlsx", run, DL, EL)
    back = read_input(first)
    assert back.rows == table.rows and back.text_column == 3
    second = export_xlsx(back, back.results, tmp_path / "s2.xlsx", run, DL, EL)
    assert sheet_cells(second) == sheet_cells(first)
