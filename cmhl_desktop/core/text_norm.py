"""Text normalisation: the one read-time step every cell goes through, what the model sees, and
which posts hold no readable words. Qt-free and model-free, so readers, scorer and export agree.

- `normalize_text` / `normalize_cell` run once, at read time, on every string cell of every column:
  lone surrogates (half an emoji in social-media JSON) become U+FFFD, a split surrogate pair becomes
  its character, NUL characters are dropped. Everything else is kept exactly: XML-illegal code
  points (U+FFFE, control characters) are the export's business (`excel_text`), not removed here.
- `model_text` / `model_view` give the model's input: HTML entities of forum dumps (`&amp;`,
  `&gt;`, `&#x200B;`) decoded, with a map back to offsets in the original text, so highlights
  computed on the model text point at the right characters of the post as the user sees it.
- `is_no_content` says whether a post has nothing to read: a removed/deleted placeholder, or only
  digits, punctuation, URLs, markup and whitespace.
"""

from __future__ import annotations

import html
import html.entities
import re
import unicodedata
from dataclasses import dataclass

_SURROGATE = re.compile("[\ud800-\udfff]")
# Reddit, Pushshift and spreadsheet placeholders for "no text here" (compared stripped, case-folded).
PLACEHOLDERS = frozenset(
    {
        "[deleted]",
        "[removed]",
        "[deleted by user]",
        "[removed by reddit]",
        "[removed by moderator]",
        "[ removed by reddit ]",
        "n/a",
        "#n/a",
        "null",
        "none",
        "nan",
    }
)
# A character reference closed by ";": decimal, hex or a named HTML5 entity. Unclosed ones ("&not
# sure") are left alone: in forum text they are words, not markup.
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_MARKUP = re.compile(r"<[^<>\n]{1,200}>|\[([^\]\n]*)\]\([^)\s]*\)")  # tags; markdown links keep their label


def normalize_text(s: str) -> str:
    """The read-time normalisation of one string: valid surrogate pairs joined, lone surrogates ->
    U+FFFD, NUL removed; every other character kept. Length can shrink (NUL, joined pairs) but
    never grow. Idempotent."""
    if "\x00" in s:
        s = s.replace("\x00", "")
    if _SURROGATE.search(s):
        # Through UTF-16: a high+low pair becomes one character, a lone half becomes U+FFFD.
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def normalize_cell(value: object) -> object:
    """`normalize_text` for a string cell; any other value (number, date, None) is returned as it
    is. Called by every reader on every cell, header included."""
    return normalize_text(value) if isinstance(value, str) else value


def is_placeholder(text: str) -> bool:
    """True for a known "no text" placeholder such as `[deleted]`, `[removed]` or `N/A`."""
    return text.strip().casefold() in PLACEHOLDERS


@dataclass(frozen=True)
class ModelText:
    """The model's view of a post. `text[i]` came from `source[starts[i]:ends[i]]` of the original."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    source_len: int

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """A span [start, end) of the model text as a span of the original text."""
        if start >= end:
            pos = self.starts[start] if start < len(self.starts) else self.source_len
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def model_view(text: str) -> ModelText:
    """`model_text(text)` with its map back to the original offsets. Only HTML character references
    change (each becomes the character it names); all other characters map one to one."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _ENTITY.finditer(text) if "&" in text else ():
        a, b = m.span()
        name = m.group(1)
        decoded = html.unescape(m.group(0)) if name[0] == "#" else html.entities.html5.get(name + ";", "")
        if not decoded or decoded == m.group(0):
            continue  # not a known entity: kept as it is
        out.append(text[pos:a])
        starts.extend(range(pos, a))
        ends.extend(range(pos + 1, a + 1))
        out.append(decoded)
        starts.extend([a] * len(decoded))
        ends.extend([b] * len(decoded))
        pos = b
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return ModelText("".join(out), tuple(starts), tuple(ends), len(text))


def model_text(text: str) -> str:
    """What the model reads for a post: HTML character references decoded (`&amp;` -> `&`,
    `&gt;` -> `>`, `&#x200B;` -> U+200B). The export keeps the original text; map model offsets back
    with `model_view(text).to_source(start, end)`."""
    if "&" not in text:
        return text
    return model_view(text).text


def is_no_content(text: str) -> bool:
    """True when a post has no readable words: empty, a placeholder (`[deleted]`, `[removed]`,
    `N/A`, ...), or only digits, punctuation, symbols, URLs, e-mail addresses, HTML/markdown markup
    and whitespace once entities are decoded. Any letter of any script counts as content (so "fine",
    "ok thanks" and "I want to die" are content). Emoji and other pictographs alone are not: the
    shipped model's tokenizer reads every one of them as an unknown token, so its score would say
    nothing about the post (a reviewer still sees the post, counted as `no content`)."""
    if is_placeholder(text):
        return True
    s = model_text(text)
    s = _MARKUP.sub(lambda m: " " + (m.group(1) or "") + " ", s)
    s = _URL.sub(" ", s)
    if is_placeholder(s):
        return True
    for ch in s:
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            return False
    return True
