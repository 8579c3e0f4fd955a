"""What a word attribution holds (Qt-free, no torch): the `Explanation` of one post, its subword
scores, and how those become scores of the post's words. `attribution.py` computes explanations;
`highlights.py` shows them; the session keeps a post's word scores for the export.

Words: a word is a maximal run of non-whitespace characters (Python's `str.isspace`, so NBSP, tabs and
newlines separate words) without the punctuation at its ends (Unicode category P*): `alone,,` is the
word `alone`, `"really"` is `really`, while `don't` and `self-harm` keep their inner punctuation and
a run of punctuation alone ("—", "!!!") is a word of its own. `text[start:end] == word` always
holds, so a highlight covers the word only. A subword's score goes to the run(s) its character span
overlaps (split by overlapping characters when a token crosses a space, which byte-level tokenizers
may do), and a word's score is the sum of its run's subword scores, the punctuation it touches
included (the model read them together; word scores still add up to the subwords'). Words the model
never read (the unread end of a truncated post, characters the tokenizer drops) score 0.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .results import WordScore

_WORD = re.compile(r"\S+")


@dataclass
class TokenScore:
    """One subword of the post (special tokens excluded): text[start:end] is what it covers."""

    index: int  # position among the post's content tokens
    start: int
    end: int
    token: str  # the tokenizer's piece, e.g. "##ing"
    score: float


@dataclass
class Explanation:
    """Attribution of one post. Scores are in the units of the attributed quantity (logits)."""

    words: list[WordScore]  # every word of the text, in order; usable as PostResult.words
    tokens: list[TokenScore]  # raw subword scores (tokens read by the model)
    head: str
    target_class: str | None  # None for the regression heads
    target_prob: float  # calibrated P(target_class); the head's value for valence/intensity
    delta: float  # convergence delta: sum(attributions) - (f(x) - f(baseline))
    rel_delta: float  # |delta| / max(|f(x) - f(baseline)|, abs_floor)
    converged: bool  # rel_delta <= tolerance
    n_steps: int  # gradient evaluations behind the scores (the most of any window); 0 for an empty post
    windows: int  # windows the post was read in
    target_value: float = 0.0  # f(x): the attributed quantity (mean over windows)
    baseline_value: float = 0.0  # f(baseline)
    objective: str = "logit"
    truncated: bool = False  # the end of the post was not read
    target_reason: str = ""  # "given" | "top" | "value" (regression) | "empty"
    steps_tried: list[int] = field(default_factory=list)  # gradient evaluations of each round (the cost)
    probs: dict[str, float] = field(default_factory=dict)  # calibrated class probabilities of the head

    @property
    def target(self) -> str:
        """'head:class' (or 'head' for a regression head), as stored in PostResult.attribution_target."""
        return f"{self.head}:{self.target_class}" if self.target_class else self.head

    @property
    def total(self) -> float:
        return float(sum(t.score for t in self.tokens))

    def to_dict(self) -> dict:
        """Plain JSON-ready data (NaN, e.g. the probability of an empty post, becomes None)."""
        d = asdict(self)
        d["target"] = self.target
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None
        return d


def word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span [start, end) of a non-whitespace run without the punctuation at its ends; the whole
    run when it is punctuation only. Kept: a percent or per-mille sign ("10%") and the last full stop
    of an abbreviation with inner stops ("U.S.")."""
    a, b = start, end
    while a < b and unicodedata.category(text[a]).startswith("P"):
        a += 1
    while b > a and unicodedata.category(text[b - 1]).startswith("P") and text[b - 1] not in _KEEP_END:
        b -= 1
    if a < b < end and text[b] == "." and "." in text[a:b]:
        b += 1  # "U.S." stays whole
    return (a, b) if a < b else (start, end)


_KEEP_END = "%\u2030"  # part of the quantity, not the sentence


def words_from_tokens(text: str, tokens: Sequence[TokenScore]) -> list[WordScore]:
    """Every word of `text` (a non-whitespace run, its end punctuation trimmed: `word_span`) with the
    sum of its run's subword scores."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    scores = [0.0] * len(spans)
    starts = [s for s, _ in spans]
    for t in tokens:
        if t.end <= t.start:
            continue
        i = max(bisect.bisect_right(starts, t.start) - 1, 0)
        hits = []
        while i < len(spans) and spans[i][0] < t.end:
            overlap = min(spans[i][1], t.end) - max(spans[i][0], t.start)
            if overlap > 0:
                hits.append((i, overlap))
            i += 1
        total = sum(o for _, o in hits)
        for j, o in hits:
            scores[j] += t.score * o / total
    words = []
    for (s, e), sc in zip(spans, scores, strict=True):
        a, b = word_span(text, s, e)
        words.append(WordScore(a, b, text[a:b], float(sc)))
    return words


def top_words(explanation: Explanation, k: int = 10, direction: str = "toward") -> list[WordScore]:
    """The k words that pushed most toward the target ("toward", scores > 0, largest first), most
    against it ("against", scores < 0, most negative first), or largest |score| ("abs")."""
    ws = explanation.words
    if direction == "toward":
        ranked = sorted((w for w in ws if w.score > 0), key=lambda w: -w.score)
    elif direction == "against":
        ranked = sorted((w for w in ws if w.score < 0), key=lambda w: w.score)
    elif direction == "abs":
        ranked = sorted(ws, key=lambda w: -abs(w.score))
    else:
        raise ValueError("direction must be 'toward', 'against' or 'abs'")
    return ranked[: max(int(k), 0)]
