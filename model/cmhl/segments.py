"""Segments: the short spans of a post (sentences, or pieces of a long sentence) that the crisis
signal is read on, so that one crisis sentence is never averaged away by the text around it.

A post's text is cut into sentences (end punctuation or a line break); a sentence longer than
`max_tokens` content tokens is cut into overlapping pieces (`max_tokens` long, `stride` apart). A span
with no letter in it ("12345", "????", ":)") is not a segment. Each segment is a range of the post's
content tokens, so it maps back to exact characters through the tokenizer's offsets.

Segments are scored from the same encoder pass as the whole post (see `CMHLModel.forward`): the
segment's token vectors are mean-pooled inside the window where the segment sits most centrally and
go through the distress head. Training teaches this on segment-level targets (docs/ARCHITECTURE.md,
"The crisis signal").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# A sentence ends after . ! ? or … (repeated, maybe followed by closing quotes/brackets) and
# whitespace; a line break always ends one.
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u2019\u201d)\]]*\s+|\s*\n\s*")
_LETTER = re.compile(r"[^\W\d_]")

MAX_SEGMENT_TOKENS = 48
SEGMENT_STRIDE = 32
MIN_CUT_TOKENS = 8  # a segment cut by the read limit is kept if it keeps half of itself or this many tokens


@dataclass(frozen=True)
class SegmentConfig:
    """How posts are cut into segments (stored in the checkpoint's config.json)."""

    max_tokens: int = MAX_SEGMENT_TOKENS  # longest segment, in content tokens
    stride: int = SEGMENT_STRIDE  # start-to-start distance of the pieces of a longer sentence

    def __post_init__(self) -> None:
        if not 1 <= self.stride <= self.max_tokens:
            raise ValueError("segments: need 1 <= stride <= max_tokens")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the sentences of `text` (whitespace between them excluded;
    spans without any letter dropped)."""
    spans = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if _LETTER.search(text, s, e)]


def token_segments(
    text: str, offsets: list[tuple[int, int]], cfg: SegmentConfig = SegmentConfig()
) -> list[tuple[int, int]]:
    """Segments of a post as content-token ranges [start, end), in reading order.

    `offsets` are the (char start, char end) of each content token (the tokenizer's offset mapping,
    special tokens excluded). Every token of a sentence with letters falls in at least one segment."""
    if not offsets:
        return []
    starts = [o[0] for o in offsets]
    out: list[tuple[int, int]] = []
    for cs, ce in sentence_spans(text):
        a = bisect.bisect_left(starts, cs)
        b = bisect.bisect_left(starts, ce)
        if b <= a:
            continue
        if b - a <= cfg.max_tokens:
            out.append((a, b))
            continue
        s = a
        while True:
            e = min(s + cfg.max_tokens, b)
            out.append((s, e))
            if e >= b:
                break
            s += cfg.stride
    return out


def assign_windows(
    segments: list[tuple[int, int]], window_starts: list[int], content_len: int
) -> list[tuple[int, int, int]]:
    """(window, start, end) for each segment: the window holding most of it, the most central one on
    a tie, and the segment clipped to that window (content-token coordinates of the post). Segments
    past the last window (a truncated post) are dropped: they were not read; so is a segment cut by
    the read limit to less than half of itself and under `MIN_CUT_TOKENS` (found by a new-user test:
    a one-word piece, "I", became a long post's "most concerning sentence")."""
    out = []
    for s, e in segments:
        best, key = -1, None
        for k, w in enumerate(window_starts):
            lo, hi = max(s, w), min(e, w + content_len)
            if hi <= lo:
                continue
            k_key = (hi - lo, min(lo - w, w + content_len - hi))
            if key is None or k_key > key:
                best, key = k, k_key
        if best >= 0:
            w = window_starts[best]
            lo, hi = max(s, w), min(e, w + content_len)
            if 2 * (hi - lo) < e - s and hi - lo < MIN_CUT_TOKENS:  # a scrap left by the read limit
                continue
            out.append((best, lo, hi))
    return out


def char_span(offsets: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The characters [start, end) covered by content tokens start..end-1."""
    return offsets[start][0], offsets[end - 1][1]
