"""Input readers: every format, encodings, delimiters, awkward cells and clear errors.

All inputs are built here in tmp_path from made-up strings (never from research data).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmhl_desktop.core.readers import InputError, guess_text_column, list_sheets, read_input

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], merge: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    c.data_type = "s"  # a text cell that looks like a formula
        if merge:
            ws.merge_cells(merge)
    wb.save(path)
    return path


TABLE = [
    ["id", "date", "text"],
    ["1", "2024-01-02", "first post here"],
    ["2", "2024-01-03", ""],
    ["3", "2024-01-04", "   "],
    ["4", "2024-01-05", "last post, with a comma"],
]


# --------------------------------------------------------------------------- csv / tsv


def test_csv_every_row_in_order_including_empty_and_whitespace(tmp_path):
    t = read_input(write_csv(tmp_path / "posts.csv", TABLE))
    assert t.kind == "csv"
    assert t.columns == TABLE[0]
    assert t.rows == TABLE[1:]
    assert t.text_column == 2
    assert t.texts() == ["first post here", "", "   ", "last post, with a comma"]
    assert t.sha256 == hashlib.sha256((tmp_path / "posts.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "delimiter,suffix", [(";", ".csv"), ("\t", ".csv"), ("\t", ".tsv"), ("|", ".csv"), (",", ".tsv")]
)
def test_sniffed_delimiter(tmp_path, delimiter, suffix):
    path = write_csv(tmp_path / f"posts{suffix}", TABLE, delimiter=delimiter)
    t = read_input(path)
    assert t.delimiter == delimiter
    assert t.columns == TABLE[0] and t.rows == TABLE[1:]


def test_semicolon_file_with_commas_in_text(tmp_path):
    # Excel in many European locales writes ';' and leaves commas inside the text unquoted.
    rows = [["id", "text"], ["1", "well, I, do"], ["2", "no, not really"], ["3", "a, b, c, d"]]
    t = read_input(write_csv(tmp_path / "eu.csv", rows, delimiter=";"))
    assert t.delimiter == ";" and t.rows == rows[1:]


def test_single_column_csv_keeps_commas_and_blank_lines(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text('text\nhello, world\n\n"two\nlines"\nlast, one\n', encoding="utf-8")
    t = read_input(path)
    assert t.columns == ["text"]
    assert t.texts() == ["hello, world", "", "two\nlines", "last, one"]


@pytest.mark.parametrize(
    "encoding,text",
    [
        ("cp1252", "I paid €50 for “therapy” – worth it…"),
        ("latin-1", "Crème brûlée, façade, naïve, Ørsted"),
        ("utf-8", "Привет, 你好, emoji 😞🎉"),
        ("utf-8-sig", "with a BOM: café"),
    ],
)
def test_encodings(tmp_path, encoding, text):
    path = write_csv(tmp_path / "enc.csv", [["id", "text"], ["1", text]], encoding=encoding)
    t = read_input(path)
    assert t.texts() == [text]
    assert t.columns == ["id", "text"]  # no BOM left in the first header cell


def test_latin1_byte_undefined_in_cp1252(tmp_path):
    path = tmp_path / "l1.csv"
    path.write_bytes(b"id,text\n1,caf\xe9 \x81 ok\n")  # 0x81 has no cp1252 character
    t = read_input(path)
    assert t.encoding == "latin-1"
    assert t.texts() == ["café \x81 ok"]


def test_utf8_bom_detected(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfpost_id,post_text\n1,hello there\n")
    t = read_input(path)
    assert t.encoding == "utf-8-sig" and t.columns == ["post_id", "post_text"]


def test_utf16_with_bom(tmp_path):
    # Excel's "Unicode text" export: UTF-16 LE, tab-separated.
    path = tmp_path / "u16.txt"
    path.write_bytes("hello there\nשלום עולם\n".encode("utf-16"))
    assert read_input(path).texts() == ["hello there", "שלום עולם"]


def test_duplicate_column_names_kept(tmp_path):
    rows = [["text", "id", "text"], ["first a", "1", "second a"], ["first b", "2", "second b"]]
    path = write_csv(tmp_path / "dup.csv", rows)
    t = read_input(path, column="text")
    assert t.columns == ["text", "id", "text"]
    assert t.text_column == 0
    assert read_input(path, column=2).texts() == ["second a", "second b"]
    assert read_input(path, column="2").texts() == ["second a", "second b"]


def test_emoji_rtl_and_nul_bytes(tmp_path):
    path = tmp_path / "mixed.csv"
    raw = "id,text\n1,I feel 😞 today 🌧️\n2,أشعر بالتعب طوال الوقت\n3,שלום, מה שלומך\n4,nul\x00 inside\x00\n"
    path.write_bytes(raw.replace("3,שלום, מה שלומך", '3,"שלום, מה שלומך"').encode("utf-8"))
    t = read_input(path)
    assert t.texts() == ["I feel 😞 today 🌧️", "أشعر بالتعب طوال الوقت", "שלום, מה שלומך", "nul inside"]


def test_ragged_rows_padded_and_extra_cells_kept(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2\n1,2,3,4\n", encoding="utf-8")
    t = read_input(path)
    assert t.columns == ["a", "b", "c", ""]
    assert t.rows == [["1", "2", "", ""], ["1", "2", "3", "4"]]


@pytest.mark.parametrize("n", [50_000, 300_000])  # 300k: beyond csv's default 128 KiB field limit
def test_long_post(tmp_path, n):
    long = ("word " * (n // 5)).strip()
    assert len(long) >= n - 1
    t = read_input(write_csv(tmp_path / "long.csv", [["id", "text"], ["1", long], ["2", "short one"]]))
    assert t.texts() == [long, "short one"]


def test_formula_looking_cells_stay_text_in_csv(tmp_path):
    rows = [
        ["id", "text"],
        ["1", '=HYPERLINK("x")'],
        ["2", "+44 20 7946"],
        ["3", "-- dash"],
        ["4", "@mention"],
    ]
    t = read_input(write_csv(tmp_path / "f.csv", rows))
    assert t.rows == rows[1:]


def test_header_only_gives_zero_rows(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("id,date,text\n", encoding="utf-8")
    t = read_input(path)
    assert t.columns == ["id", "date", "text"] and t.rows == []


@pytest.mark.parametrize("name", ["empty.csv", "empty.tsv", "empty.jsonl"])
def test_empty_file_is_an_error(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match=name):
        read_input(tmp_path / name)


def test_limit_reads_first_rows(tmp_path):
    t = read_input(write_csv(tmp_path / "p.csv", TABLE), limit=2)
    assert t.rows == TABLE[1:3]


# --------------------------------------------------------------------------- xlsx


def test_xlsx_sheet_choice_values_and_formula_text(tmp_path):
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "notes": [["note"], ["not the posts"]],
            "posts": [
                ["post_id", "date", "post_text"],
                [1, dt.datetime(2024, 1, 2), "hello there, how are you"],
                [2, dt.datetime(2024, 1, 3), "=SUM(A1:A3) is not a formula"],
                [3, dt.datetime(2024, 1, 4), None],
                [4, dt.datetime(2024, 1, 5), "   "],
            ],
        },
    )
    assert list_sheets(path) == ["notes", "posts"]
    assert read_input(path).sheet == "notes"  # the first sheet by default
    t = read_input(path, sheet="posts")
    assert t.kind == "xlsx" and t.sheet == "posts"
    assert t.columns == ["post_id", "date", "post_text"]
    assert [r[0] for r in t.rows] == [1, 2, 3, 4]
    assert t.rows[0][1] == dt.datetime(2024, 1, 2)
    assert t.texts() == ["hello there, how are you", "=SUM(A1:A3) is not a formula", "", "   "]
    assert t.text_column == 2


def test_xlsx_merged_cells_value_in_top_left(tmp_path):
    rows = [
        ["id", "group", "text"],
        [1, "A", "first post text"],
        [2, None, "second post text"],
        [3, "B", "third"],
    ]
    path = write_xlsx(tmp_path / "m.xlsx", {"s": rows}, merge="B2:B3")
    t = read_input(path)
    assert [r[1] for r in t.rows] == ["A", None, "B"]
    assert len(t.rows) == 3


def test_xlsx_duplicate_headers_and_empty_middle_row(tmp_path):
    rows = [["text", "text", "n"], ["a b", "c d", 1], [None, None, None], ["e f", "g h", 3]]
    t = read_input(write_xlsx(tmp_path / "d.xlsx", {"s": rows}))
    assert t.columns == ["text", "text", "n"]
    assert t.rows == [["a b", "c d", 1], [None, None, None], ["e f", "g h", 3]]


def test_xlsx_long_text_emoji_rtl(tmp_path):
    long = "x " * 16_000
    rows = [["id", "text"], [1, long], [2, "مرحبا 😀 שלום"]]
    t = read_input(write_xlsx(tmp_path / "l.xlsx", {"s": rows}))
    assert t.texts() == [long, "مرحبا 😀 שלום"]


def test_xlsx_header_only(tmp_path):
    t = read_input(write_xlsx(tmp_path / "h.xlsx", {"s": [["id", "text"]]}))
    assert t.columns == ["id", "text"] and t.rows == []


def test_xlsx_missing_sheet_lists_sheets(tmp_path):
    path = write_xlsx(tmp_path / "book.xlsx", {"posts": [["text"], ["a"]], "other": [["x"]]})
    with pytest.raises(InputError, match=r"book\.xlsx.*'nope'.*'posts', 'other'"):
        read_input(path, sheet="nope")


def test_xlsx_empty_sheet(tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", {"s": []})
    with pytest.raises(InputError, match=r"e\.xlsx.*no header"):
        read_input(path)


def test_corrupt_workbook(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file at all")
    with pytest.raises(InputError, match=r"broken\.xlsx"):
        read_input(path)
    with pytest.raises(InputError, match=r"broken\.xlsx"):
        list_sheets(path)


def test_truncated_workbook(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", {"s": [["text"], ["a b c"]]})
    bad = tmp_path / "cut.xlsx"
    bad.write_bytes(good.read_bytes()[:600])
    with pytest.raises(InputError, match=r"cut\.xlsx"):
        read_input(bad)


def test_encrypted_workbook_ole2(tmp_path):
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(InputError, match=r"secret\.xlsx.*password"):
        read_input(path)


def test_sample_workbook_and_csv_agree():
    x = read_input(SAMPLES / "forum_posts.xlsx", sheet="posts")
    c = read_input(SAMPLES / "forum_posts.csv")
    assert list_sheets(SAMPLES / "forum_posts.xlsx") == ["posts", "notes"]
    assert x.columns == c.columns == ["post_id", "date", "author_alias", "post_text"]
    assert x.text_column == c.text_column == 3
    assert x.texts() == c.texts()
    assert len(x.rows) >= 40
    assert "" in x.texts() and any(s.startswith("=") for s in x.texts()) and max(map(len, x.texts())) > 2500


# --------------------------------------------------------------------------- txt, folder, jsonl


def test_txt_one_post_a_line(tmp_path):
    path = tmp_path / "posts.txt"
    path.write_bytes("first post\r\n\r\n  \r\nsecond\u2028still second\nthird\n".encode())
    t = read_input(path)
    assert t.kind == "txt" and t.columns == ["text"]
    assert t.texts() == ["first post", "", "  ", "second\u2028still second", "third"]


def test_folder_of_txt(tmp_path):
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "b.txt").write_text("second post\n", encoding="utf-8")
    (folder / "d long file name with spaces.txt").write_text("ok", encoding="utf-8")
    (folder / "a.txt").write_text("first post", encoding="utf-8")
    (folder / "c.TXT").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "._a.txt").write_bytes(b"\x00\x05\x16\x07binary resource fork")
    (folder / "readme.md").write_text("not a post", encoding="utf-8")
    t = read_input(folder)
    assert t.kind == "folder" and t.columns == ["file", "text"] and t.text_column == 1
    assert t.rows == [
        ["a.txt", "first post"],
        ["b.txt", "second post"],
        ["c.TXT", "café"],
        ["d long file name with spaces.txt", "ok"],
    ]
    before = t.sha256
    assert read_input(folder).sha256 == before
    (folder / "b.txt").write_text("changed\n", encoding="utf-8")
    assert read_input(folder).sha256 != before


def test_empty_folder(tmp_path):
    (tmp_path / "none").mkdir()
    with pytest.raises(InputError, match="none.*no .txt"):
        read_input(tmp_path / "none")


def test_jsonl_union_of_keys(tmp_path):
    path = tmp_path / "posts.jsonl"
    lines = [
        {"id": 1, "text": "hello there friend"},
        {"id": 2, "author": "x", "text": "   "},
        {"text": "", "id": 3},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    t = read_input(path)
    assert t.kind == "jsonl"
    assert t.columns == ["id", "text", "author"]
    assert t.rows == [[1, "hello there friend", None], [2, "   ", "x"], [3, "", None]]
    assert t.text_column == 1


@pytest.mark.parametrize("bad", ['{"text": "a"', "[1, 2]"])
def test_jsonl_bad_line_named(tmp_path, bad):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n' + bad + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl: line 3"):
        read_input(path)


# --------------------------------------------------------------------------- errors and columns


def test_missing_column_lists_columns(tmp_path):
    path = write_csv(tmp_path / "p.csv", TABLE)
    with pytest.raises(InputError, match=r"p\.csv.*'body'.*'id', 'date', 'text'"):
        read_input(path, column="body")
    with pytest.raises(InputError, match=r"p\.csv.*index 7"):
        read_input(path, column=7)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nothere\.csv"):
        read_input(tmp_path / "nothere.csv")


@pytest.mark.parametrize("name", ["binary.csv", "binary.txt", "binary.jsonl"])
def test_binary_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x01\x02\x03binary\xff\xfe" * 500)
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        read_input(path)


def test_xlsx_renamed_to_csv(tmp_path):
    good = write_xlsx(tmp_path / "g.xlsx", {"s": [["text"], ["a b"]]})
    path = tmp_path / "renamed.csv"
    path.write_bytes(good.read_bytes())
    with pytest.raises(InputError, match=r"renamed\.csv.*zip"):
        read_input(path)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "locked.csv", TABLE)

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)  # chmod 000 does not stop root, so simulate it
    with pytest.raises(InputError, match=r"locked\.csv.*Permission denied"):
        read_input(path)


def test_error_messages_never_contain_post_text(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "SECRET POST TEXT"}\n{"text": "SECRET POST TEXT"\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_input(path)
    assert "SECRET" not in str(e.value)


def test_unsupported_suffix(tmp_path):
    (tmp_path / "x.docx").write_bytes(b"whatever")
    with pytest.raises(InputError, match=r"x\.docx.*unsupported"):
        read_input(tmp_path / "x.docx")


def test_guess_prefers_text_over_id_date_alias():
    columns = ["post_id", "date", "author", "body", "score"]
    rows = [
        ["a1b2c3", "2024-01-05 10:33", "blue_sky", "I have not slept properly in weeks", "12"],
        ["a1b2c4", "2024-01-06 11:00", "red fox", "ok", "3"],
        [
            "a1b2c5",
            "05/01/2024 09:12 PM",
            "green_tea",
            "work is fine, money is tight, you know how it is",
            "1 024",
        ],
    ]
    assert guess_text_column(columns, rows) == 3
    assert guess_text_column(["id", "Message"], []) == 1  # no rows: the header name decides
    assert guess_text_column(["a", "b"], [["1", "2"]]) == 0


# --------------------------------------------------------------------------- property tests

# Printable unicode plus the line breaks csv must quote; no surrogates (unencodable), no BOM (an
# encoding mark at the start of a file is not text) and no other control characters.
_unicode = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff") | st.sampled_from(
    "\n\r"
)
_cell_any = st.text(alphabet=_unicode | st.just("\t"), max_size=20)
_cell_plain = st.text(alphabet=_unicode.filter(lambda c: c not in ",;|"), max_size=20)


def _tables(cell, min_cols: int):
    return st.integers(min_cols, 5).flatmap(
        lambda n: st.lists(st.lists(cell, min_size=n, max_size=n), min_size=1, max_size=12)
    )


ASCII = "".join(chr(c) for c in range(32, 127) if chr(c) not in ",;|") + "\n\r\"'"
# Non-ASCII letters whose cp1252/latin-1 bytes are UTF-8 lead bytes only (0xC0-0xFF) cannot form
# valid UTF-8, so the utf-8 attempt fails and the single-byte fallback decides (as intended).
LATIN = ASCII + "éèêëàâäçîïôöùûüÿñßÀÉÖÜ"
CP1252 = ASCII + "€“”‘’–—…"  # continuation bytes only (0x80-0x9F): never valid UTF-8 on their own


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=_tables(_cell_plain, 2),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_csv_round_trip_unicode_sniffed(tmp_path, table, delimiter, encoding):
    path = write_csv(tmp_path / "prop.csv", table, delimiter, encoding)
    t = read_input(
        path, header=True
    )  # these test decoding and delimiters; header detection is heuristic (tested apart)
    assert t.columns == table[0]
    assert t.rows == table[1:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["cp1252", "latin-1"]),
)
def test_csv_round_trip_single_byte_encodings(tmp_path, data, delimiter, encoding):
    alphabet = CP1252 if encoding == "cp1252" else LATIN
    table = data.draw(_tables(st.text(alphabet=alphabet, max_size=15), 2))
    path = write_csv(tmp_path / "prop.csv", table, delimiter, encoding)
    t = read_input(
        path, header=True
    )  # these test decoding and delimiters; header detection is heuristic (tested apart)
    assert (t.columns, t.rows) == (table[0], table[1:])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=_tables(_cell_any, 2),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
    tsv=st.booleans(),
)
def test_csv_round_trip_any_text_default_delimiter(tmp_path, table, encoding, tsv):
    """Cells may hold commas, tabs, quotes and newlines: the extension's delimiter still wins."""
    path = write_csv(tmp_path / ("prop.tsv" if tsv else "prop.csv"), table, "\t" if tsv else ",", encoding)
    t = read_input(
        path, header=True
    )  # these test decoding and delimiters; header detection is heuristic (tested apart)
    assert (t.columns, t.rows) == (table[0], table[1:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=_tables(_cell_plain, 1).filter(lambda t: len(t[0]) == 1 and t[0][0] != ""))
def test_csv_round_trip_single_column(tmp_path, table):
    path = write_csv(tmp_path / "one.csv", table, ",", "utf-8")
    t = read_input(
        path, header=True
    )  # these test decoding and delimiters; header detection is heuristic (tested apart)
    assert (t.columns, t.rows) == (table[0], table[1:])


def test_xlsx_formula_without_a_saved_value_keeps_its_formula_text(tmp_path):
    """A workbook written by a script has formulas with no saved value: never an empty post."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "text"])
    ws.append([1, "=1+2"])  # openpyxl stores a formula and no value, as many exporters do
    ws.append([2, "a made-up post about a quiet walk"])
    ws.append([3, None])
    wb.save(tmp_path / "script.xlsx")
    t = read_input(tmp_path / "script.xlsx")
    assert t.rows == [[1, "=1+2"], [2, "a made-up post about a quiet walk"], [3, None]]
    assert any("1 formula cell(s)" in w and "formula text was read" in w for w in t.warnings)

    wb = openpyxl.Workbook()
    wb.active.append(["id", "text"])
    wb.active.append([1, "no formulas here"])
    wb.save(tmp_path / "plain.xlsx")
    assert read_input(tmp_path / "plain.xlsx").warnings == []
