"""The per-post result record and how it maps onto spreadsheet columns (shared by scoring, export,
reopening an export, the CLI and the GUI): the result-cell format is defined here once, written by
export.py and read back by reopen.py."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

# Result columns are prefixed so they never collide with a user's own columns.
PREFIX = "cmhl_"
REVIEW_STATUSES = ("unreviewed", "confirmed", "not a concern", "needs follow-up")
REVIEW_COLUMNS = ("review_status", "review_note", "reviewer")
NO_CONTENT = "no content"  # placeholders ([deleted]), digits, URLs, markup: not scored, never flagged
FLAG_MARK = "⚑ FLAGGED"  # text as well as colour: flags must not rely on colour alone


@dataclass
class WordScore:
    """One word of the original text: text[start:end] == word."""

    start: int
    end: int
    word: str
    score: float


@dataclass
class PostResult:
    """What the model says about one input row."""

    status: str = "ok"  # ok | truncated | empty | no content | error: <reason>
    category: str = ""  # top distress class
    distress_probs: dict[str, float] = field(default_factory=dict)
    distress_score: float = float("nan")  # 1 - P(control): the any-distress score
    # Segment scoring (checkpoints with segments): per class, the highest probability of any one
    # segment of the post; and the segment that gave the highest P of the crisis rule's class
    # (suicidewatch): its characters [start, end) of the text and that probability.
    segment_max: dict[str, float] = field(default_factory=dict)
    trigger_span: tuple[int, int] | None = None
    trigger_score: float = float("nan")
    # Suicide Risk Lexicon terms found in the text (checkpoints that ship risk_lexicon.json): an
    # auditable second signal shown beside the model; it never raises a flag by itself
    # (measured: model OR lexicon added 4 crisis posts for 12 false flags on stb val).
    lexicon_matches: list[tuple[str, str, int, int]] = field(default_factory=list)  # construct, term, span
    flagged: bool = False
    flag_rules: list[str] = field(default_factory=list)  # names of the rules that raised the flag
    emotion: str = ""
    emotion_probs: dict[str, float] = field(default_factory=dict)
    valence: float = float("nan")  # -1..1
    intensity: float = float("nan")  # 0..1
    n_tokens: int = 0
    attribution_target: str = ""  # "head:class" the word scores explain, "" when none computed
    words: list[WordScore] | None = None
    review_status: str = "unreviewed"
    review_note: str = ""
    reviewer: str = ""

    @property
    def scored(self) -> bool:
        return self.status in ("ok", "truncated")


def result_columns(distress_labels: list[str], emotion_labels: list[str]) -> list[str]:
    """Column names of the result block, in export order (after the input's own columns)."""
    return (
        [PREFIX + c for c in ("flag", "flag_rule", "category", "distress_score")]
        + [f"{PREFIX}p_{c}" for c in distress_labels]
        + [PREFIX + "emotion"]
        + [f"{PREFIX}emo_{e}" for e in emotion_labels]
        + [PREFIX + c for c in ("valence", "intensity", "status", "top_words", "attribution")]
        + list(REVIEW_COLUMNS)
    )


# --------------------------------------------------------------------------- result <-> cells
# The format of the result columns, shared by the export (writing) and the reopen (reading).

XLSX_CELL_LIMIT = 32_767  # Excel's maximum characters in one cell
CUT_NOTE = "[truncated in this cell; full text in the input file]"
CUT_STATUS = "text cut to fit the xlsx cell"  # appended to cmhl_status as "<status>; <CUT_STATUS>"
TOP_WORDS = 5  # words listed in cmhl_top_words
HIGHLIGHT_MAX, HIGHLIGHT_FRACTION = 8, 0.3  # words shown in bold red: top 8 with score >= 0.3*max


def _round4(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _float(v: object) -> float:
    if v is None or v == "":
        return float("nan")
    return float(v)  # type: ignore[arg-type]


def top_words(words: list[WordScore] | None, n: int = TOP_WORDS) -> list[WordScore]:
    """The n highest positively-scored words, highest first (ties keep text order)."""
    if not words:
        return []
    return sorted((w for w in words if w.score > 0), key=lambda w: -w.score)[:n]


def highlight_words(words: list[WordScore] | None) -> list[WordScore]:
    """Words to show in bold red: the top HIGHLIGHT_MAX with score >= HIGHLIGHT_FRACTION * max, in
    text order."""
    top = top_words(words, HIGHLIGHT_MAX)
    if not top:
        return []
    cut = HIGHLIGHT_FRACTION * top[0].score
    return sorted((w for w in top if w.score >= cut), key=lambda w: w.start)


def attribution_json(
    r: PostResult, text_column: str, text_index: int = -1, text_columns: list[int] | None = None
) -> str:
    """Compact JSON that restores highlights on reopen: word text is re-derived from the post, so
    only offsets (into the post text, joined when `text_columns` has several) and scores are stored.
    Capped to fit an xlsx cell by keeping the strongest words. A joined post's cell names its
    columns even without words."""
    joined = bool(text_columns and len(text_columns) > 1)
    if r.words is None and not joined:
        return ""
    head: dict = {"target": r.attribution_target, "col": text_column, "ci": text_index}
    if joined:
        head["cols"] = list(text_columns)  # type: ignore[arg-type]
        if r.words is None:  # no words, but a reopened csv must still know the post's columns
            return json.dumps(head, separators=(",", ":"), ensure_ascii=False)
    spans = [[w.start, w.end, _round4(w.score)] for w in r.words or ()]

    def dump(s: list) -> str:
        return json.dumps({**head, "spans": s}, separators=(",", ":"), ensure_ascii=False)

    out = dump(spans)
    if len(out) <= XLSX_CELL_LIMIT:
        return out
    strongest = sorted(spans, key=lambda s: -abs(s[2] or 0.0))
    lo, hi = 0, len(strongest)  # binary search: the most spans that still fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(dump(strongest[:mid])) <= XLSX_CELL_LIMIT:
            lo = mid
        else:
            hi = mid - 1
    return dump(sorted(strongest[:lo], key=lambda s: s[0]))


def parse_attribution(value: object, text: str) -> tuple[str, tuple[int, str], list[WordScore] | None]:
    """(target, (text column index, name), words) from a cmhl_attribution cell; words that no longer
    fit the text (a cell cut to the xlsx limit) are dropped."""
    if not value:
        return "", (-1, ""), None
    try:
        d = json.loads(str(value))
        if "spans" not in d:
            return str(d.get("target", "")), (int(d.get("ci", -1)), str(d.get("col", ""))), None
        words = [
            WordScore(int(s), int(e), text[int(s) : int(e)], float("nan") if sc is None else float(sc))
            for s, e, sc in d.get("spans", [])
            if 0 <= int(s) <= int(e) <= len(text)
        ]
        return str(d.get("target", "")), (int(d.get("ci", -1)), str(d.get("col", ""))), words
    except (ValueError, TypeError, AttributeError):
        return "", (-1, ""), None  # a hand-edited cell: keep the row, lose the highlights


def attribution_columns(value: object) -> list[int]:
    """The joined text columns an attribution cell names ([] for a one-column post)."""
    try:
        cols = json.loads(str(value)).get("cols", [])
        return [int(c) for c in cols] if isinstance(cols, list) else []
    except (ValueError, TypeError, AttributeError):
        return []


def result_values(
    r: PostResult,
    distress_labels: list[str],
    emotion_labels: list[str],
    text_column: tuple[int, str],
    text_columns: list[int] | None = None,
) -> list[object]:
    """The result block of one row, in `result_columns` order; numbers stay numbers (None = no value)."""
    return (
        [FLAG_MARK if r.flagged else "", "; ".join(r.flag_rules), r.category, _round4(r.distress_score)]
        + [_round4(r.distress_probs.get(c)) for c in distress_labels]
        + [r.emotion]
        + [_round4(r.emotion_probs.get(e)) for e in emotion_labels]
        + [_round4(r.valence), _round4(r.intensity), r.status]
        + [
            ", ".join(w.word for w in top_words(r.words)),
            attribution_json(r, text_column[1], text_column[0], text_columns),
        ]
        + [r.review_status, r.review_note, r.reviewer]
    )


def result_block(header: list[str]) -> tuple[int, list[str], list[str]] | None:
    """Where our result columns start in a header, with the distress and emotion labels they name;
    None when the header does not end with a complete result block."""
    for i in range(len(header) - 1, -1, -1):
        if header[i] != PREFIX + "flag":
            continue
        block = header[i:]
        dl = [c[len(PREFIX + "p_") :] for c in block if c.startswith(PREFIX + "p_")]
        el = [c[len(PREFIX + "emo_") :] for c in block if c.startswith(PREFIX + "emo_")]
        if block == result_columns(dl, el):
            return i, dl, el
        return None
    return None


def result_from_values(block: list[str], values: list[object], text: str) -> PostResult:
    """Rebuild a PostResult from one row's result cells (the inverse of `result_values`)."""
    v = dict(zip(block, values, strict=True))

    def s(name: str) -> str:
        x = v.get(name)
        return "" if x is None else str(x)

    def probs(kind: str) -> dict[str, float]:
        # Every label, in column order, even where the cell is blank (NaN): callers read the label
        # set off any result, and an empty post's row has no probabilities.
        n = len(PREFIX + kind)
        return {c[n:]: _float(x) for c, x in v.items() if c.startswith(PREFIX + kind)}

    status = s(PREFIX + "status")
    if status.endswith("; " + CUT_STATUS):
        status = status[: -len("; " + CUT_STATUS)]
    target, _, words = parse_attribution(v.get(PREFIX + "attribution"), text)
    rules = s(PREFIX + "flag_rule")
    return PostResult(
        status=status or "ok",
        category=s(PREFIX + "category"),
        distress_probs=probs("p_"),
        distress_score=_float(v.get(PREFIX + "distress_score")),
        flagged=s(PREFIX + "flag") == FLAG_MARK,
        flag_rules=rules.split("; ") if rules else [],
        emotion=s(PREFIX + "emotion"),
        emotion_probs=probs("emo_"),
        valence=_float(v.get(PREFIX + "valence")),
        intensity=_float(v.get(PREFIX + "intensity")),
        attribution_target=target,
        words=words,
        review_status=s("review_status") or "unreviewed",
        review_note=s("review_note"),
        reviewer=s("reviewer"),
    )
