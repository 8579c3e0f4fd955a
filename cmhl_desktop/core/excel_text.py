"""Spreadsheet storage conventions for cell values, shared by the readers and the export.

- ST_Xstring (ECMA-376 Part 1, 22.9.2.19): in .xlsx XML a character that XML cannot hold (C0
  controls, U+FFFE, U+FFFF) is written `_xHHHH_`, and a literal text that looks like such an escape
  gets its underscore escaped (`_x005F_`). Excel writes and reads text this way; openpyxl does not
  (its `utils.escape` handles neither the underscore nor U+FFFE), so this module does it for both
  directions. Carriage returns are escaped too (`_x000D_`), as Excel does, because XML parsers turn
  a raw CR into LF.
- Formula guard for .csv (OWASP "CSV injection"): text whose first character after any leading
  whitespace is = + - or @, or that starts with a tab or CR, gets a leading single quote; plain
  numbers such as -0.5 are left alone. `csv_unescape` removes exactly that quote and nothing else.
- Numbers a spreadsheet cannot hold exactly: Excel keeps 15 significant digits, so an integer of
  16 or more digits (a 19-digit post id) is written as text, never rounded.
"""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Characters XML 1.0 cannot hold, plus CR (see module doc). Tab and LF are fine.
_NEEDS_ESCAPE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_CHARS = ("=", "+", "-", "@")
EXCEL_EXACT_DIGITS = 15


def decode_xstring(s: str) -> str:
    """Text as Excel shows it from the text stored in a cell: `_xHHHH_` -> the character U+HHHH
    (so `_x005F_x000D_` -> the literal `_x000D_`)."""
    if "_x" not in s:
        return s
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), s)


def _escape_char(s: str, i: int) -> str:
    c = s[i]
    if c == "_" and _ESCAPED.match(s, i):
        return "_x005F_"
    if _NEEDS_ESCAPE.match(c):
        return f"_x{ord(c):04X}_"
    return c


def encode_xstring(s: str) -> str:
    """The stored form of a cell text (the inverse of `decode_xstring`): XML-safe, and Excel shows
    exactly `s`."""
    if "_x" not in s and not _NEEDS_ESCAPE.search(s):
        return s
    return "".join(_escape_char(s, i) for i in range(len(s)))


def encode_xstring_pieces(s: str, cuts: list[int]) -> list[str]:
    """`encode_xstring(s)` split at the character offsets `cuts` (ascending, within 0..len(s)): the
    pieces are escaped as parts of the whole text, so a rich-text cell made of them reads back as
    `s` even where an escape-like text straddles a cut."""
    bounds = [0, *cuts, len(s)]
    if "_x" not in s and not _NEEDS_ESCAPE.search(s):
        return [s[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return [
        "".join(_escape_char(s, i) for i in range(a, b)) for a, b in zip(bounds, bounds[1:], strict=False)
    ]


def needs_text_for_exactness(v: object) -> bool:
    """True for an integer a spreadsheet would round (16 or more digits); write it as text."""
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**EXCEL_EXACT_DIGITS


# --------------------------------------------------------------------------- csv formula guard


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return s.strip() == s and s.lower().lstrip("+-") not in ("nan", "inf", "infinity")


def _runs_as_formula(s: str) -> bool:
    """Whether a spreadsheet importing this cell could run it: a formula character after any
    leading whitespace (` =1+1`, `\\n=1+1`), or a leading tab or CR."""
    if s[:1] in ("\t", "\r"):
        return True
    return s.lstrip()[:1] in _FORMULA_CHARS


def csv_escape(s: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula. Leading quotes already there are
    counted in, so `csv_unescape` can undo exactly this and nothing else."""
    rest = s.lstrip("'")
    if rest and _runs_as_formula(rest) and not (rest is s and _is_number(s)):
        return "'" + s
    return s


def csv_unescape(s: str) -> str:
    """Undo `csv_escape`: remove the one quote it added, nothing else."""
    rest = s.lstrip("'")
    if rest is not s and rest and _runs_as_formula(rest):
        return s[1:]
    return s
