"""Bytes -> text for the text readers (.csv/.tsv, .txt, .jsonl, folders of .txt).

Auto detection, in order:
1. A byte-order mark: UTF-8, UTF-16 or UTF-32.
2. UTF-16 without a BOM, known by its NUL bytes falling on every other position.
3. Valid UTF-8. A UTF-8 file with a few stray bytes (one Windows-1252 quote pasted in) stays UTF-8:
   only the bad bytes are repaired, read as Windows-1252, with a warning naming their lines.
4. charset-normalizer for files in another script (Shift_JIS, GB18030, Big5, EUC-KR, Windows-1251,
   Greek, Hebrew, Arabic ...), accepted only with clear evidence (enough letters of that script and a
   language it recognises): on short Western text the detector is no better than a guess.
5. Western single-byte text: Windows-1252, unless it reads as Mac Roman with clearly fewer broken
   words (Mac Excel's "CSV" export); Latin-1 where Windows-1252 has no character for a byte.

An explicit encoding skips detection; a byte it cannot decode is an error naming the line.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls are OLE2 files
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (a spreadsheet saved as .xlsx?)",
    OLE2_MAGIC: "an old .xls workbook or an encrypted file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x1f\x8b": "a gzip archive",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Encodings offered in the open dialog (auto first); any Python codec name works on the CLI.
COMMON_ENCODINGS = (
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "cp1252",
    "latin-1",
    "mac_roman",
    "shift_jis",
    "cp932",
    "gb18030",
    "big5",
    "euc_kr",
    "cp1251",
    "cp1250",
)
_OTHER_SCRIPTS = [
    "cp932",
    "euc_jp",
    "gb18030",
    "big5",
    "euc_kr",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1255",
    "cp1256",
]
_CJK = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
REPAIR_ENCODING = "cp1252"


class DecodeError(ValueError):
    """The bytes cannot be read as text; the message has no file name (the reader adds it)."""


@dataclass
class Decoded:
    text: str
    encoding: str  # a Python codec name; "utf-8" also when a few bytes were repaired
    repaired_lines: list[int] = field(default_factory=list)  # 1-based lines with repaired bytes
    detected: bool = True  # False when the caller named the encoding


def line_of(data: bytes, pos: int) -> int:
    """1-based line number of byte offset `pos` (LF, CRLF and lone CR all end a line)."""
    head = data[:pos]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def check_not_binary(data: bytes) -> None:
    """Raise DecodeError for files that are clearly not text (zip, PDF, images, many control bytes)."""
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise DecodeError(f"this is {what}, not a text file")
    head = data[:65536]
    if len(head) < 256:
        return  # too little to judge; a tiny odd file fails later with its own message
    # A few stray NULs are tolerated (removed later); many control bytes mean binary.
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if control / len(head) > 0.1:
        raise DecodeError("looks like a binary file, not text")


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NULs sit on every other byte (ASCII-range UTF-16), else None."""
    head = data[:8192]
    if len(head) < 4:
        return None
    head = head[: len(head) // 2 * 2]
    even, odd = head[0::2], head[1::2]
    z_even, z_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if z_odd >= 0.3 and z_even <= 0.05:
        enc = "utf-16-le"
    elif z_even >= 0.3 and z_odd <= 0.05:
        enc = "utf-16-be"
    else:
        return None
    try:
        text = data[: len(data) // 2 * 2].decode(enc)
    except UnicodeDecodeError:
        return None
    sample = text[:4096]
    bad = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f") or unicodedata.category(c) == "Cn")
    return enc if bad <= 0.02 * len(sample) else None


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _repair_byte(m: re.Match) -> str:
    b = bytes([ord(m.group(0)) - 0xDC00])
    try:
        return b.decode(REPAIR_ENCODING)
    except UnicodeDecodeError:
        return b.decode("latin-1")


def _repair_utf8(data: bytes) -> Decoded | None:
    """UTF-8 with a few invalid bytes repaired as Windows-1252, when the valid multi-byte characters
    outnumber the bad bytes (so the file is UTF-8 at heart); None otherwise."""
    text = data.decode("utf-8", "surrogateescape")  # each bad byte -> U+DC80..U+DCFF
    bad = [m.start() for m in _ESCAPED_BYTE.finditer(text)]
    valid_multibyte = sum(1 for c in text if ord(c) > 127) - len(bad)
    if valid_multibyte < 1 or len(bad) > valid_multibyte:
        return None
    lines: list[int] = []
    line, prev = 1, 0
    for p in bad:  # line numbers in one pass (newlines are single bytes, so text lines = byte lines)
        seg = text[prev:p]
        line += seg.count("\n") + seg.count("\r") - seg.count("\r\n")
        prev = p
        if not lines or lines[-1] != line:
            lines.append(line)
    return Decoded(_ESCAPED_BYTE.sub(_repair_byte, text), "utf-8", lines)


def _other_script(data: bytes) -> str | None:
    """An encoding of a non-Latin script that charset-normalizer finds with clear evidence."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000], cp_isolation=_OTHER_SCRIPTS + ["cp1252"]).best()
    if best is None or best.encoding not in _OTHER_SCRIPTS:
        return None
    try:
        text = data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    non_ascii = [c for c in text[:20000] if ord(c) > 127]
    letters = [c for c in non_ascii if c.isalpha() and "LATIN" not in unicodedata.name(c, "")]
    if len(letters) < 8 or len(letters) < 0.5 * len(non_ascii):
        return None
    cjk = sum(1 for c in letters if unicodedata.name(c, "").startswith(_CJK))
    if cjk < 0.5 * len(letters) and not best.coherence > 0:
        return None  # a single-byte script: the detector must also recognise a language
    return best.encoding


_MAC_WORD = re.compile(r"[A-Za-z][^\x00-\x7f]|[^\x00-\x7f][A-Za-z]")


def _broken_words(text: str) -> int:
    """Signs of the wrong single-byte code page: a non-ASCII capital right after a small letter
    (canÕt, SchŠfer) and C1 control characters (bytes the code page does not define)."""
    n = sum(1 for c in text if "\x80" <= c <= "\x9f")
    for a, b in zip(text, text[1:], strict=False):
        if a.islower() and ord(b) > 127 and b.isupper():
            n += 1
    return n


def _western(data: bytes) -> str:
    try:
        cp = data.decode("cp1252")
        enc, broken = "cp1252", _broken_words(cp)
    except UnicodeDecodeError:
        enc, broken = "latin-1", float("inf")
    if broken:
        mac = data.decode("mac_roman")
        # Mac Roman needs positive evidence too: its accented letters or curly quotes inside words,
        # from bytes that are not Latin-1 letters (0x80-0xBF, 0xD0-0xD5).
        evidence = sum(
            1
            for m in _MAC_WORD.finditer(mac)
            for c in m.group(0)
            if ord(c) > 127 and ("\x80" <= c.encode("mac_roman").decode("latin-1") <= "\xbf" or c in "–—“”‘’")
        )
        if evidence and _broken_words(mac) < broken:
            return "mac_roman"
    return enc


def decode_bytes(data: bytes, encoding: str | None = None) -> Decoded:
    """Decode a text file's bytes. `encoding`: a Python codec name, or None/"auto" to detect (see
    the module doc). NUL characters are kept here (the cell normalisation drops them).
    Raises DecodeError (binary file, unknown encoding, bytes invalid in the named encoding)."""
    if encoding and encoding.lower() != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DecodeError(
                f"unknown encoding {encoding!r}; try utf-8, cp1252, mac_roman or shift_jis"
            ) from None
        try:
            return Decoded(data.decode(encoding), encoding, detected=False)
        except UnicodeDecodeError as e:
            raise DecodeError(
                f"line {line_of(data, e.start)}: not valid {encoding} text; "
                "choose another encoding, or auto to detect it"
            ) from None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(enc), enc)
            except UnicodeDecodeError as e:
                raise DecodeError(f"line {line_of(data, e.start)}: invalid {enc.upper()} text") from None
    enc16 = _utf16_without_bom(data)
    if enc16:
        return Decoded(data.decode(enc16), enc16)
    check_not_binary(data)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    repaired = _repair_utf8(data)
    if repaired is not None:
        return repaired
    other = _other_script(data)
    if other:
        return Decoded(data.decode(other), other)
    enc = _western(data)
    return Decoded(data.decode(enc), enc)


def repair_warning(path: Path, d: Decoded) -> str | None:
    """The warning for repaired bytes (names the lines, never the text), or None."""
    if not d.repaired_lines:
        return None
    shown = ", ".join(map(str, d.repaired_lines[:10])) + (" ..." if len(d.repaired_lines) > 10 else "")
    return (
        f"{path.name}: line{'s' if len(d.repaired_lines) > 1 else ''} {shown}: bytes that are not valid "
        f"UTF-8 were read as Windows-1252; check those rows, or choose the file's encoding"
    )
