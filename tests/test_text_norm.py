"""The text rules under the readers and the export: read-time normalisation, the model's view of a
post, "no content", Excel's storage conventions (ST_Xstring, exact ids, the csv formula guard) and
encoding detection. All strings are made up here."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmhl_desktop.core.decoding import DecodeError, decode_bytes
from cmhl_desktop.core.excel_text import (
    csv_escape,
    csv_unescape,
    decode_xstring,
    encode_xstring,
    encode_xstring_pieces,
    needs_text_for_exactness,
)
from cmhl_desktop.core.table import Segment, build_post, detect_header
from cmhl_desktop.core.text_norm import (
    is_no_content,
    model_text,
    model_view,
    normalize_cell,
    normalize_text,
)

# --------------------------------------------------------------------------- normalisation


def test_normalize_lone_surrogates_nul_and_pairs():
    assert normalize_text("tired \ud83d of it") == "tired \ufffd of it"
    assert normalize_text("low \ude1e") == "low \ufffd"
    assert normalize_text("pair \ud83d\ude1e") == "pair \U0001f61e"  # a split pair is joined
    assert normalize_text("nul\x00 inside") == "nul inside"
    keep = "tab\tcr\r\nbell\x07 \ufffe\uffff emoji 😞 RTL مرحبا"
    assert normalize_text(keep) == keep  # everything else exactly
    assert normalize_cell(12) == 12 and normalize_cell(None) is None


@given(st.text())
def test_normalize_is_idempotent_and_encodable(s):
    n = normalize_text(s)
    assert normalize_text(n) == n
    n.encode("utf-8")  # never "surrogates not allowed"


def test_model_text_decodes_entities_and_maps_back():
    src = "Sleep &amp; stress &gt; work &#x1F61E; &notanentity; &lt;3"
    v = model_view(src)
    assert v.text == "Sleep & stress > work 😞 &notanentity; <3"
    assert model_text(src) == v.text
    a = v.text.index("stress")
    assert v.to_source(a, a + 6) == (src.index("stress"), src.index("stress") + 6)
    amp = v.text.index("&")
    assert src[slice(*v.to_source(amp, amp + 1))] == "&amp;"
    assert model_text("no entities here") == "no entities here"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "[deleted]",
        " [Removed] ",
        "N/A",
        "null",
        "12345",
        "!!! ...",
        "https://example.org/x",
        "<br/><p></p>",
        "&nbsp;&#x200B;",
        "[](https://example.org) 42",
        "www.example.org/a?b=c",
        "😞😞",  # emoji only: the tokenizer reads them as unknown tokens
    ],
)
def test_no_content(text):
    assert is_no_content(text)


@pytest.mark.parametrize(
    "text",
    [
        "fine",
        "ok thanks",
        "I want to die",
        "sad 😞",
        "[deleted] but I am still here",
        "日本",
        "see https://x.org please",
    ],
)
def test_content(text):
    assert not is_no_content(text)


# --------------------------------------------------------------------------- Excel conventions


def test_xstring_round_trip_examples():
    assert decode_xstring("line_x000D_\nnext") == "line\r\nnext"
    assert decode_xstring("_x005F_x000D_") == "_x000D_"
    assert encode_xstring("a\ufffeb\uffff\x07") == "a_xFFFE_b_xFFFF__x0007_"
    assert encode_xstring("literal _x0041_") == "literal _x005F_x0041_"
    assert encode_xstring("plain text") == "plain text"


_xpieces = st.text(alphabet=st.characters(blacklist_categories=("Cs",))) | st.sampled_from(
    ["_x0041_", "_x", "\ufffe"]
)


@given(st.lists(_xpieces).map("".join))
def test_xstring_round_trip(s):
    assert decode_xstring(encode_xstring(s)) == s
    cuts = sorted({len(s) // 3, len(s) // 2})
    assert "".join(encode_xstring_pieces(s, cuts)) == encode_xstring(s)


def test_big_integers_are_text():
    assert needs_text_for_exactness(1234567890123456789)
    assert needs_text_for_exactness(-(10**15))
    assert not needs_text_for_exactness(10**15 - 1) and not needs_text_for_exactness(True)
    assert not needs_text_for_exactness(1.5)


@pytest.mark.parametrize("s", [" =1+1", "\n=1+1", "\r\n@SUM(A1)", "  +cmd", "\u00a0-2+3", " -1"])
def test_csv_guard_after_leading_whitespace(s):
    e = csv_escape(s)
    assert e == "'" + s
    assert csv_unescape(e) == s


@given(st.text())
def test_csv_guard_is_invertible(s):
    assert csv_unescape(csv_escape(s)) == s


# --------------------------------------------------------------------------- encodings


def test_stray_byte_keeps_utf8_and_names_the_line():
    data = "id,text\n1,I can’t 😞\n2,it’s ok\n".encode().replace("it’s".encode(), b"it\x92s")
    d = decode_bytes(data)
    assert d.encoding == "utf-8" and d.repaired_lines == [3]
    assert d.text == "id,text\n1,I can’t 😞\n2,it’s ok\n"


@pytest.mark.parametrize(
    "text,encoding,expect",
    [
        ("id,text\n1,Je suis épuisé ce soir\n2,Ça va, merci à tous\n", "mac_roman", "mac_roman"),
        ("id,text\n1,I can’t sleep – it’s been weeks…\n", "mac_roman", "mac_roman"),
        ("id,text\n1,Ich bin so müde, schläft niemand?\n", "mac_roman", "mac_roman"),
        ("id,text\n1,最近まったく眠れなくて、毎日とても疲れています。\n", "shift_jis", "cp932"),
        ("id,text\n1,Привет, я не сплю уже неделю и очень устал.\n", "cp1251", "cp1251"),
        ("id,text\n1,I paid €50 for “therapy” – worth it…\n", "cp1252", "cp1252"),
        ("id,text\n1,héllo there, how are you\n", "utf-16-le", "utf-16-le"),
        ("id,text\n1,日本語 text\n", "utf-16-be", "utf-16-be"),
        ("a\nb\n", "utf-16-le", "utf-16-le"),  # tiny files too
    ],
)
def test_detected_encodings(text, encoding, expect):
    d = decode_bytes(text.encode(encoding))
    assert (d.encoding, d.text) == (expect, text)


def test_explicit_encoding_and_errors_name_the_line():
    data = "id,text\n1,ok\n2,caf\u00e9\n".encode("latin-1")
    assert decode_bytes(data, "latin-1").text.endswith("café\n")
    with pytest.raises(DecodeError, match=r"line 3: not valid utf-8"):
        decode_bytes(data, "utf-8")
    with pytest.raises(DecodeError, match="unknown encoding"):
        decode_bytes(data, "klingon-8")


# --------------------------------------------------------------------------- posts and headers


def test_joined_post_maps_offsets_to_columns():
    row = ["t3_x", "Cannot see a way forward", "every day is the same"]
    p = build_post(row, [1, 2])
    assert p.text == "Cannot see a way forward\n\nevery day is the same"
    assert p.segments == (Segment(1, 0, 24), Segment(2, 26, 47))
    assert p.locate(p.text.index("day")) == (2, row[2].index("day"))
    assert p.locate(24) is None  # the separator
    from cmhl_desktop.core.results import WordScore

    words = [WordScore(7, 10, "see", 1.0), WordScore(32, 35, "day", 0.5)]
    by = p.words_by_column(words)
    assert [(w.start, w.end, w.word) for w in by[1]] == [(7, 10, "see")]
    assert [(w.start, w.end, w.word) for w in by[2]] == [(6, 9, "day")]
    assert row[2][6:9] == "day"


def test_joined_post_drops_placeholders_and_empty_parts():
    assert build_post(["Title only", "[removed]"], [0, 1]).text == "Title only"
    assert build_post(["Link post", ""], [0, 1]).text == "Link post"
    assert build_post(["[deleted]", "[deleted]"], [0, 1]).text == "[deleted]"
    assert build_post(["", None], [0, 1]).text == ""
    assert build_post(["  spaced  "], [0]).text == "  spaced  "  # one column: exactly the cell


def test_detect_header():
    posts = [["2", "I keep worrying about my family every day"], ["3", "the week was long and I am tired"]]
    assert not detect_header(["1", "I have not slept properly in weeks"], posts)
    assert detect_header(["id", "text"], posts)
    assert detect_header(["post id", "what they wrote"], posts)  # labels over numbers and posts
    assert detect_header(["a", "b"], [])  # nothing to compare: a header
    assert detect_header(["0", "0"], [["0", "0"], ["1", "2"]])  # numbers only: cannot tell, header
