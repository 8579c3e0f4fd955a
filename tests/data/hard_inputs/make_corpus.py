"""Writes the hard-input corpus beside this file: small, fictional files, one or more per kind of
real-world trouble in issue 12 (each modelled on a public bug report of another tool that reads
the same kind of file). Run it again after changing it; the files are committed.

`EXPECTED` (imported by the tests) says, for each file, the post texts a faithful reader gives back
and, where the first column is an id, the ids.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

POSTS = [
    "I have not slept properly in weeks and everything feels heavy",
    'She said "fine" but I do not think she meant it',
    "Great hike with friends this weekend, the weather was perfect",
    "I keep worrying that something bad will happen to my family",
    "ok thanks",
]


def csv_bytes(rows: list[list[str]], sep: str = ",") -> str:
    import csv

    f = io.StringIO()
    csv.writer(f, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return f.getvalue()


def table(posts: list[str]) -> list[list[str]]:
    return [["id", "text"]] + [[str(i + 1), p] for i, p in enumerate(posts)]


EXPECTED: dict[str, dict] = {}


def put(name: str, data: bytes, texts: list[str], ids: list[str] | None = None, **kw) -> None:
    (HERE / name).write_bytes(data)
    EXPECTED[name] = {"texts": texts, "ids": ids, **kw}


def build() -> None:
    ids = [str(i + 1) for i in range(len(POSTS))]
    # 1. Rows lost or merged: a quote that opens and never closes (line 3), then proper quoting.
    text = (
        "id,text\r\n1,first post about a long week\r\n"
        '2,"I feel like nobody listens to me\r\n'
        "3,went for a walk and felt a bit better\r\n"
        '4,"quoted, with a comma"\r\n'
        "5,last one for today\r\n"
    )
    put(
        "unclosed_quote.csv",
        text.encode(),
        [
            "first post about a long week",
            '"I feel like nobody listens to me',
            "went for a walk and felt a bit better",
            "quoted, with a comma",
            "last one for today",
        ],
        ids,
        warning="line 3",
    )
    # The quote closes lines later, cleanly, on what is plainly another record.
    text = (
        "id,text\r\n1,first post here today\r\n"
        '2,"cannot stop thinking about it\r\n'
        "3,a quiet evening at home with tea\r\n"
        '4,nobody answered my "messages\r\n'
    )
    put(
        "late_closing_quote.csv",
        text.encode(),
        [
            "first post here today",
            '"cannot stop thinking about it',
            "a quiet evening at home with tea",
            'nobody answered my "messages',
        ],
        ["1", "2", "3", "4"],
        warning="line 3",
    )
    # No header: the first line is already a post.
    put("no_header.csv", csv_bytes(table(POSTS)[1:]).encode(), POSTS, ids, header=False)
    # Excel's dialect line names the separator.
    put("excel_sep_line.csv", ("sep=;\r\n" + csv_bytes(table(POSTS), ";")).encode(), POSTS, ids)
    # 2. Crashes: a lone surrogate (half an emoji) in social-media JSON; XML-illegal code points.
    lines = [
        '{"id": 1, "text": "so tired \\ud83d of all this"}',
        '{"id": 2, "text": "pair \\ud83d\\ude1e stays whole"}',
        '{"id": 3, "text": "low half \\ude1e alone", "meta": {"note": "x\\ud83d"}}',
    ]
    put(
        "lone_surrogate.jsonl",
        ("\n".join(lines) + "\n").encode(),
        ["so tired \ufffd of all this", "pair \U0001f61e stays whole", "low half \ufffd alone"],
        ["1", "2", "3"],
    )
    odd = ["noncharacter \ufffe here", "and \uffff there", "bell\x07 and\x1b escape", "tab\tand\rcr"]
    put("xml_illegal.csv", csv_bytes(table(odd)).encode(), odd, ["1", "2", "3", "4"])
    # 3. Wrong text scored: one stray Windows-1252 byte in UTF-8; UTF-16 without a BOM; Mac Roman;
    # Shift_JIS.
    posts = ["I can\u2019t sleep \U0001f61e", "it\u2019s been a hard week", "caf\u00e9 with a friend"]
    raw = csv_bytes(table(posts)).encode().replace("it\u2019s".encode(), b"it\x92s")
    put("stray_cp1252_byte.csv", raw, posts, ["1", "2", "3"], warning="line 3", encoding="utf-8")
    put("utf16_no_bom.csv", csv_bytes(table(POSTS)).encode("utf-16-le"), POSTS, ids, encoding="utf-16-le")
    small = [["id", "text"], ["1", "h\u00e9llo"]]
    put("utf16_no_bom_small.tsv", csv_bytes(small, "\t").encode("utf-16-le"), ["h\u00e9llo"], ["1"])
    mac = [
        "Je suis \u00e9puis\u00e9, je ne dors plus",
        "\u00c7a va mieux, merci \u00e0 tous",
        "I can\u2019t focus",
    ]
    put(
        "mac_roman.csv", csv_bytes(table(mac)).encode("mac_roman"), mac, ["1", "2", "3"], encoding="mac_roman"
    )
    ja = ["最近まったく眠れなくて、毎日とても疲れています。", "今日は少し気分が良いです。ありがとう。"]
    put("shift_jis.csv", csv_bytes(table(ja)).encode("shift_jis"), ja, ["1", "2"], encoding="cp932")
    # 5. Excel storage: 19-digit ids from a JSON dump.
    big = [1234567890123456789, 9007199254740993, 42]
    lines = [json.dumps({"post_id": n, "text": p}) for n, p in zip(big, POSTS, strict=False)]
    put("big_ids.jsonl", ("\n".join(lines) + "\n").encode(), POSTS[:3], [str(n) for n in big])
    # 6. Forum dumps: title + selftext, placeholders, link posts, HTML entities.
    reddit = [
        {"id": "t3_a1", "title": "Cannot see a way forward", "selftext": "[removed]"},
        {"id": "t3_a2", "title": "Weekend hike photos", "selftext": ""},
        {"id": "t3_a3", "title": "[deleted]", "selftext": "[deleted]"},
        {"id": "t3_a4", "title": "Sleep &amp; stress", "selftext": "work &gt; everything &lt;3"},
    ]
    put(
        "reddit_dump.jsonl",
        ("\n".join(json.dumps(r) for r in reddit) + "\n").encode(),
        [
            "Cannot see a way forward",
            "Weekend hike photos",
            "[deleted]",
            "Sleep &amp; stress\n\nwork &gt; everything &lt;3",
        ],
        ["t3_a1", "t3_a2", "t3_a3", "t3_a4"],
    )
    # 7. Formula injection after leading whitespace.
    inj = [" =1+1", "\n=1+1 later", "\t@SUM(A1)", "plain text"]
    put("formula_whitespace.csv", csv_bytes(table(inj)).encode(), inj, ["1", "2", "3", "4"])
    build_workbooks()


def build_workbooks() -> None:
    import openpyxl

    # 4. The wrong sheet: a hidden first sheet, a visible notes sheet, the active posts sheet.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "lookup"
    ws.append(["code", "meaning"])
    ws.append(["a", "internal"])
    ws.sheet_state = "hidden"
    notes = wb.create_sheet("notes")
    notes.append(["note"])
    notes.append(["export made for the weekly review"])
    posts = wb.create_sheet("posts")
    posts.append(["id", "text"])
    for i, p in enumerate(POSTS):
        posts.append([i + 1, p])
    wb.active = 2
    for s in wb.worksheets:
        s.sheet_view.tabSelected = s.title == "posts"
    wb.save(HERE / "hidden_and_active_sheets.xlsx")
    EXPECTED["hidden_and_active_sheets.xlsx"] = {
        "texts": POSTS,
        "ids": [str(i + 1) for i in range(len(POSTS))],
        "sheet": "posts",
    }
    # 5. ST_Xstring: text stored with Excel's escapes (what Excel writes for CR and for a literal
    # "_x000D_"), read back as the characters the user sees.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "text"])
    ws.append([1, "first line_x000D_\nsecond line"])
    ws.append([2, "the code _x005F_x000D_ is literal"])
    ws.append([3, "bell_x0007_ inside"])
    wb.save(HERE / "xstring_escapes.xlsx")
    EXPECTED["xstring_escapes.xlsx"] = {
        "texts": ["first line\r\nsecond line", "the code _x000D_ is literal", "bell\x07 inside"],
        "ids": ["1", "2", "3"],
    }
    # Strict Open XML: the same workbook with the Strict namespaces Excel writes for that format.
    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "posts"
    ws.append(["id", "text"])
    for i, p in enumerate(POSTS):
        ws.append([i + 1, p])
    wb.save(buf)
    pairs = [
        (
            b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
            b"http://purl.oclc.org/ooxml/spreadsheetml/main",
        ),
        (
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
            b"http://purl.oclc.org/ooxml/officeDocument/relationships",
        ),
        (b"http://schemas.openxmlformats.org/drawingml/2006/", b"http://purl.oclc.org/ooxml/drawingml/"),
    ]
    with (
        zipfile.ZipFile(buf) as src,
        zipfile.ZipFile(HERE / "strict_ooxml.xlsx", "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            for a, b in pairs:
                data = data.replace(a, b)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
            dst.writestr(info.filename, data)
    EXPECTED["strict_ooxml.xlsx"] = {"texts": POSTS, "ids": [str(i + 1) for i in range(len(POSTS))]}


if __name__ == "__main__":
    build()
    (HERE / "expected.json").write_text(
        json.dumps(EXPECTED, indent=1, ensure_ascii=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(EXPECTED)} files to {HERE}")
