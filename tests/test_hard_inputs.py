"""Issue 12: real-world input fidelity. One test (or more) per kind of trouble, on the fictional
corpus in tests/data/hard_inputs (rebuilt by its make_corpus.py) and on files made here, plus the
round trip: read -> score (tiny model) -> export -> reopen gives back identical text, ids and order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from read_meter import ReadMeter, write_big_csv

from cmhl_desktop.cli import main
from cmhl_desktop.core import export as export_mod
from cmhl_desktop.core.pipeline import score_file
from cmhl_desktop.core.readers import PREVIEW_BYTES, InputError, preview_input, read_input, sheet_infos
from cmhl_desktop.core.results import PostResult, WordScore

CORPUS = Path(__file__).resolve().parent / "data" / "hard_inputs"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
DL = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
EL = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def ids(table) -> list[str]:
    return [str(r[0]) for r in table.rows]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_reads_faithfully(name):
    e = EXPECTED[name]
    t = read_input(CORPUS / name)
    assert t.texts() == e["texts"]
    if e["ids"]:
        assert ids(t) == e["ids"]
    if "encoding" in e:
        assert t.encoding == e["encoding"]
    if "warning" in e:
        assert any(e["warning"] in w for w in t.warnings)
    if "header" in e:
        assert t.header is e["header"]
    if "sheet" in e:
        assert t.sheet == e["sheet"]
    for w in t.warnings + t.notes:  # messages never quote post text
        assert not any(p.strip() and p in w for p in e["texts"] if len(p) > 8)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_round_trip(tmp_path, tiny_checkpoint, name):
    """read -> score -> export (xlsx and csv) -> reopen: same text, ids and row order."""
    src = read_input(CORPUS / name)
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"{Path(name).stem}.{fmt}"
        score_file(CORPUS / name, out, ckpt=tiny_checkpoint, explain="all")
        back = read_input(out)
        assert back.kind == "scored", fmt
        assert back.texts() == src.texts(), fmt
        assert ids(back) == ids(src), fmt
        assert back.text_columns == src.text_columns
        for r, text in zip(back.results, back.texts(), strict=True):
            for w in r.words or ():
                assert text[w.start : w.end] == w.word


# --------------------------------------------------------------------------- 1. rows lost or merged


def test_unclosed_quote_keeps_every_row_and_names_the_line(tmp_path):
    t = read_input(CORPUS / "unclosed_quote.csv")
    assert len(t.rows) == 5 and ids(t) == ["1", "2", "3", "4", "5"]
    assert t.warnings and "line 3" in t.warnings[0] and "quote" in t.warnings[0]
    # An unclosed quote on the last lines (the file ends inside the quote).
    p = tmp_path / "eof.csv"
    p.write_text('id,text\n1,a calm day at work\n2,"it never\n3,really ends\n', encoding="utf-8")
    t = read_input(p)
    assert ids(t) == ["1", "2", "3"] and "line 3" in t.warnings[0]


def test_real_multiline_posts_are_not_split(tmp_path):
    p = tmp_path / "multi.csv"
    p.write_text(
        'id,text\n1,"first line, with a comma\nsecond line\n3 things went wrong"\n2,"short, ok"\n',
        encoding="utf-8",
    )
    t = read_input(p)
    assert t.texts() == ["first line, with a comma\nsecond line\n3 things went wrong", "short, ok"]
    assert t.warnings == []


def test_no_header_detected_and_overridden(tmp_path):
    t = read_input(CORPUS / "no_header.csv")
    assert t.header is False and t.columns == ["column 1", "column 2"] and len(t.rows) == 5
    forced = read_input(CORPUS / "no_header.csv", header=True)
    assert len(forced.rows) == 4
    t = read_input(CORPUS / "no_header.csv", header=False, column="column 2")
    assert t.text_column == 1
    # A workbook whose first row is data.
    wb = openpyxl.Workbook()
    for row in [[1, "I have not slept properly in weeks"], [2, "everything feels heavy and slow today"]]:
        wb.active.append(row)
    wb.save(tmp_path / "nh.xlsx")
    assert len(read_input(tmp_path / "nh.xlsx").rows) == 2


def test_excel_sep_line(tmp_path):
    t = read_input(CORPUS / "excel_sep_line.csv")
    assert t.delimiter == ";" and t.columns == ["id", "text"] and len(t.rows) == 5


# --------------------------------------------------------------------------- 2. crashes


@pytest.mark.parametrize("out", ["out.xlsx", "out.csv"])
def test_lone_surrogate_scores_and_exports(tmp_path, tiny_checkpoint_dir, capsys, out):
    rc = main(
        [
            "score",
            str(CORPUS / "lone_surrogate.jsonl"),
            "-o",
            str(tmp_path / out),
            "--model",
            str(tiny_checkpoint_dir),
            "--explain",
            "all",
            "--json",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    back = read_input(tmp_path / out)
    assert back.texts()[0] == "so tired \ufffd of all this"
    assert back.rows[2][2] == '{"note": "x\ufffd"}'


def test_xml_illegal_code_points_export_and_reopen(tmp_path, tiny_checkpoint):
    out = tmp_path / "o.xlsx"
    score_file(CORPUS / "xml_illegal.csv", out, ckpt=tiny_checkpoint)
    assert read_input(out).texts() == EXPECTED["xml_illegal.csv"]["texts"]


# --------------------------------------------------------------------------- 3. encodings


def test_encoding_choice_run_sheet_and_errors(tmp_path, tiny_checkpoint):
    t = read_input(CORPUS / "mac_roman.csv", encoding="cp1252")  # the user's choice wins
    assert t.encoding == "cp1252" and t.texts() != EXPECTED["mac_roman.csv"]["texts"]
    with pytest.raises(InputError, match=r"shift_jis\.csv: line 2: not valid utf-8.*encoding"):
        read_input(CORPUS / "shift_jis.csv", encoding="utf-8")
    out = tmp_path / "o.xlsx"
    score_file(CORPUS / "stray_cp1252_byte.csv", out, ckpt=tiny_checkpoint)
    meta = {r[0]: r[1] for r in openpyxl.load_workbook(out)["run"].iter_rows(values_only=True)}
    assert meta["input_encoding"] == "utf-8" and "line 3" in meta["input_warnings"]


def test_cli_encoding_and_warning(tmp_path, tiny_checkpoint_dir, capsys):
    args = [
        "score",
        str(CORPUS / "stray_cp1252_byte.csv"),
        "-o",
        str(tmp_path / "o.csv"),
        "--model",
        str(tiny_checkpoint_dir),
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "warning: stray_cp1252_byte.csv: line 3" in err and "hard week" not in err
    assert main([*args, "--encoding", "latin-1"]) == 0
    assert read_input(tmp_path / "o.csv").texts()[1] == "it\x92s been a hard week"


# --------------------------------------------------------------------------- 4. sheets


def test_active_visible_sheet_is_the_default_and_named(tmp_path, tiny_checkpoint_dir, capsys):
    path = CORPUS / "hidden_and_active_sheets.xlsx"
    infos = {i.name: i for i in sheet_infos(path)}
    assert infos["lookup"].state == "hidden" and "hidden" in infos["lookup"].describe()
    assert infos["posts"].active and not infos["notes"].active
    assert read_input(path).sheet == "posts"
    assert read_input(path, sheet="notes").texts() == ["export made for the weekly review"]
    assert (
        main(["score", str(path), "-o", str(tmp_path / "o.xlsx"), "--model", str(tiny_checkpoint_dir)]) == 0
    )
    out, err = capsys.readouterr()
    assert "(sheet 'posts')" in out and "lookup (hidden" in err


def test_strict_ooxml_read_or_told_what_to_do(tmp_path):
    assert read_input(CORPUS / "strict_ooxml.xlsx").texts() == EXPECTED["strict_ooxml.xlsx"]["texts"]
    bad = tmp_path / "strict_bad.xlsx"
    with zipfile.ZipFile(CORPUS / "strict_ooxml.xlsx") as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[:40] if info.filename.startswith("xl/workbook") else data)
    with pytest.raises(InputError, match=r"strict_bad\.xlsx.*Strict Open XML.*Excel Workbook"):
        read_input(bad)


# --------------------------------------------------------------------------- 5. Excel storage


def test_xstring_escapes_read_and_written_back(tmp_path, tiny_checkpoint):
    out = tmp_path / "o.xlsx"
    score_file(CORPUS / "xstring_escapes.xlsx", out, ckpt=tiny_checkpoint)
    raw = [r[1] for r in openpyxl.load_workbook(out)["results"].iter_rows(min_row=2, values_only=True)]
    assert [str(v) for v in raw] == [
        "first line_x000D_\nsecond line",
        "the code _x005F_x000D_ is literal",
        "bell_x0007_ inside",
    ]
    assert read_input(out).texts() == EXPECTED["xstring_escapes.xlsx"]["texts"]


def test_big_ids_never_rounded(tmp_path, tiny_checkpoint):
    out = tmp_path / "o.xlsx"
    score_file(CORPUS / "big_ids.jsonl", out, ckpt=tiny_checkpoint)
    cells = [r[0] for r in openpyxl.load_workbook(out)["results"].iter_rows(min_row=2, values_only=True)]
    assert cells == ["1234567890123456789", "9007199254740993", 42]  # text where Excel would round


# --------------------------------------------------------------------------- 6. forum dumps


def test_reddit_title_and_selftext_joined_with_highlights_in_the_right_cell(tmp_path):
    t = read_input(CORPUS / "reddit_dump.jsonl")
    assert [t.columns[j] for j in t.text_columns] == ["title", "selftext"]
    assert t.texts()[0] == "Cannot see a way forward"  # [removed] body left out, title kept
    same = read_input(CORPUS / "reddit_dump.jsonl", column=["title", "selftext"])
    assert same.texts() == t.texts()
    text = t.texts()[3]  # "Sleep &amp; stress\n\nwork &gt; everything &lt;3"
    a, b = text.index("work"), text.index("stress")
    results = [PostResult(category="control", distress_score=0.1) for _ in t.rows]
    results[3] = PostResult(
        category="depression",
        flagged=True,
        words=[WordScore(b, b + 6, "stress", 0.9), WordScore(a, a + 4, "work", 1.0)],
        attribution_target="distress:depression",
    )
    run = export_mod.RunInfo("m", "0" * 64, {}, {}, "reddit_dump.jsonl", t.sha256)
    out = export_mod.export_xlsx(t, results, tmp_path / "r.xlsx", run, DL, EL)
    ws = openpyxl.load_workbook(out, rich_text=True)["results"]
    header = [c.value for c in ws[1]]
    title, body = ws.cell(5, header.index("title") + 1).value, ws.cell(5, header.index("selftext") + 1).value
    bold = lambda v: [b.text for b in v if not isinstance(b, str)]  # noqa: E731
    assert str(title) == "Sleep &amp; stress" and bold(title) == ["stress"]
    assert str(body) == "work &gt; everything &lt;3" and bold(body) == ["work"]  # export keeps the original
    back = read_input(out)
    assert back.text_columns == t.text_columns and back.texts() == t.texts()
    assert [w.word for w in back.results[3].words] == ["stress", "work"]


def test_cli_repeated_column(tmp_path, tiny_checkpoint_dir, capsys):
    out = tmp_path / "o.csv"
    args = ["score", str(CORPUS / "reddit_dump.jsonl"), "-o", str(out), "--model", str(tiny_checkpoint_dir)]
    assert main([*args, "--column", "selftext", "--column", "title", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["text_columns"] == ["selftext", "title"]
    assert read_input(out).texts()[3].startswith("work &gt;")


# --------------------------------------------------------------------------- 7. csv injection


def test_csv_export_guards_formulas_after_whitespace(tmp_path, tiny_checkpoint):
    out = tmp_path / "o.csv"
    score_file(CORPUS / "formula_whitespace.csv", out, ckpt=tiny_checkpoint)
    raw = out.read_text(encoding="utf-8-sig")
    assert "' =1+1" in raw and "'\n=1+1 later" in raw and "'\t@SUM(A1)" in raw
    assert read_input(out).texts() == EXPECTED["formula_whitespace.csv"]["texts"]


# --------------------------------------------------------------------------- preview, architecture


def test_preview_is_a_bounded_read(tmp_path, monkeypatch):
    """The preview reads the first PREVIEW_BYTES (+1 to see whether the file goes on) and nothing past
    them: counted on the file object, and the random tail past 2 MiB, which a full read decodes as
    another encoding, is never seen."""
    big = tmp_path / "big.csv"
    size = write_big_csv(big, 2 * PREVIEW_BYTES)
    meter = ReadMeter.watch(monkeypatch, big)
    t = preview_input(big, rows=20)
    assert meter.opens >= 1 and 0 < meter.bytes <= PREVIEW_BYTES + 1 < size
    assert len(t.rows) == 20 and t.sha256 == "" and t.text_column == 1
    assert t.encoding == "utf-8" and t.warnings == []
    meter.bytes = 0
    full = read_input(big, limit=20)  # the meter and the tail do see a whole read
    assert meter.bytes == size and full.encoding != "utf-8"


def test_readers_do_not_import_export_and_export_only_writes():
    code = "import sys, cmhl_desktop.core.readers; print('cmhl_desktop.core.export' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
    assert not hasattr(export_mod, "reopen_scored") and not hasattr(export_mod, "result_from_values")


def test_each_xlsx_cell_fitted_once(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,one post with words\n2,another post here\n", encoding="utf-8")
    t = read_input(path)
    results = [
        PostResult(category="control", flagged=True, words=[WordScore(0, 3, "one", 1.0)]),
        PostResult(category="control"),
    ]
    calls = []
    real = export_mod._fit
    monkeypatch.setattr(export_mod, "_fit", lambda s: (calls.append(s), real(s))[1])
    run = export_mod.RunInfo("m", "0" * 64, {}, {}, "in.csv", t.sha256)
    export_mod.export_xlsx(t, results, tmp_path / "o.xlsx", run, DL, EL)
    assert calls.count("one post with words") == 1 and calls.count("another post here") == 1
