"""The per-post result record and how it maps onto spreadsheet columns (shared by scoring, export,
reopening an export, the CLI and the GUI): the result-cell format is defined here once, written by
export.py and read back by reopen.py."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

# Result columns are prefixed so they never collide with a user's own columns.
PREFIX = "cmhl_"
# keys 1-5 in the window; "urgent" is the crisis path (its own key, colour and the local protocol)
REVIEW_STATUSES = ("unreviewed", "confirmed", "not a concern", "needs follow-up", "urgent")
REVIEW_COLUMNS = ("review_status", "review_note", "reviewer", "review_time")
LEGACY_REVIEW_COLUMNS = ("review_status", "review_note", "reviewer")  # exports before review_time
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
    # status "truncated": the character of the text where the model stopped reading (None: read whole)
    read_end: int | None = None
    flagged: bool = False
    flag_rules: list[str] = field(default_factory=list)  # names of the rules that raised the flag
    # the rules of flag_rules that fired only through the most concerning segment (the post as a
    # whole stays under the threshold): "one sentence reads as a crisis" (`FlagPolicy.reflag` sets it)
    segment_rules: list[str] = field(default_factory=list)
    concern_rank: int = 0  # 1 = most concerning (`triage.concern_ranks`), 0 = not ranked yet
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
    review_time: float = 0.0  # seconds since the epoch of the review's last change (0: none)

    @property
    def scored(self) -> bool:
        return self.status in ("ok", "truncated")

    @property
    def partly_read(self) -> bool:
        """The model read only the first part of this post (status "truncated")."""
        return self.status == "truncated"


# What each highlight kind marks inside an exported text cell (the run sheet's legend).
HIGHLIGHT_SENTENCE = "sentence"  # the most concerning sentence, on every flagged post that has one
HIGHLIGHT_WORDS = "words"  # Integrated Gradients word scores, where they were computed


def result_columns(distress_labels: list[str], emotion_labels: list[str]) -> list[str]:
    """Column names of the result block, in export order (after the input's own columns).

    cmhl_trigger_start/end: 0-based character offsets [start, end) of the most concerning segment
    (sentence) in the post text as scored (a post joined from several columns: the joined text,
    parts separated by a blank line); cmhl_trigger_text: those characters; cmhl_trigger_score: its
    P(suicidewatch). cmhl_concern_rank: 1 = the most concerning row (`triage.concern_key`).
    cmhl_highlight: which highlights the row's text cell carries ("sentence", "words")."""
    return (
        [
            PREFIX + c
            for c in ("flag", "flag_rule", "flag_reason", "concern_rank", "category", "distress_score")
        ]
        + [f"{PREFIX}p_{c}" for c in distress_labels]
        + [PREFIX + "emotion"]
        + [f"{PREFIX}emo_{e}" for e in emotion_labels]
        + [PREFIX + c for c in ("valence", "intensity", "status")]
        + [PREFIX + c for c in ("trigger_start", "trigger_end", "trigger_score", "trigger_text", "lexicon")]
        + [PREFIX + c for c in ("highlight", "top_words", "attribution")]
        + list(REVIEW_COLUMNS)
    )


def legacy_result_columns(distress_labels: list[str], emotion_labels: list[str]) -> list[str]:
    """The result block of exports written before issue 14 (still reopened)."""
    return (
        [PREFIX + c for c in ("flag", "flag_rule", "category", "distress_score")]
        + [f"{PREFIX}p_{c}" for c in distress_labels]
        + [PREFIX + "emotion"]
        + [f"{PREFIX}emo_{e}" for e in emotion_labels]
        + [PREFIX + c for c in ("valence", "intensity", "status", "top_words", "attribution")]
        + list(LEGACY_REVIEW_COLUMNS)
    )


# --------------------------------------------------------------------------- plain words
# Why a post is flagged, in words a clinician reads (the table, the detail view, cmhl_flag_reason).

RULE_WORDS = {"suicidewatch": ("suicidewatch", "a crisis"), "any_distress": ("any distress", "distress")}
ONE_SENTENCE, WHOLE_POST = "one sentence reads as", "the whole post reads as"
CRISIS_FIRST = ("suicidewatch",)  # named first in a reason (as `triage.CRISIS_RULES` orders posts)


def rule_words(rule: str) -> tuple[str, str]:
    """(title, what it reads as) of a flag rule, e.g. ("suicidewatch", "a crisis")."""
    return RULE_WORDS.get(rule, (rule.replace("_", " "), rule.replace("_", " ")))


def flag_reason(r: PostResult) -> str:
    """Why a post is flagged, one clause per rule that fired, e.g. "suicidewatch: one sentence reads
    as a crisis; any distress: the whole post reads as distress" ("" when not flagged)."""
    if not r.flagged:
        return ""
    parts = []
    for name in sorted(r.flag_rules, key=lambda n: n not in CRISIS_FIRST):  # the crisis rule first
        title, what = rule_words(name)
        parts.append(f"{title}: {ONE_SENTENCE if name in r.segment_rules else WHOLE_POST} {what}")
    return "; ".join(parts)


def parse_flag_reason(value: object, rules: list[str]) -> list[str]:
    """The segment rules a `flag_reason` cell names (the inverse of `flag_reason`, by position: its
    clauses come in `flag_reason`'s order, the crisis rule first, not in the order of `rules`)."""
    parts = str(value or "").split("; ")
    ordered = sorted(rules, key=lambda n: n not in CRISIS_FIRST)
    seg = {name for name, part in zip(ordered, parts, strict=False) if ONE_SENTENCE in part}
    return [name for name in rules if name in seg]


def lexicon_text(r: PostResult) -> str:
    """The Suicide Risk Lexicon terms found, e.g. "active suicidal ideation: 'end my life'" (each
    construct once, its terms in text order)."""
    by: dict[str, list[str]] = {}
    for construct, term, _a, _b in sorted(r.lexicon_matches, key=lambda m: m[2]):
        terms = by.setdefault(construct, [])
        if term not in terms:
            terms.append(term)
    return "; ".join(f"{c.replace('_', ' ')}: " + ", ".join(f"'{t}'" for t in ts) for c, ts in by.items())


def highlight_kinds(r: PostResult) -> list[str]:
    """Which highlights a row's exported text cell carries: the most concerning sentence on a
    flagged post that has one, IG words where they were computed."""
    kinds = []
    if r.flagged and r.trigger_span is not None and r.trigger_span[1] > r.trigger_span[0]:
        kinds.append(HIGHLIGHT_SENTENCE)
    if r.words and highlight_words(r.words):
        kinds.append(HIGHLIGHT_WORDS)
    return kinds


def iso_time(t: float) -> str:
    """Seconds since the epoch as local ISO 8601 to the second ("" for 0)."""
    if not t:
        return ""
    return dt.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def parse_time(value: object) -> float:
    """The inverse of `iso_time` (also a datetime cell); 0.0 when empty or unreadable."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    try:
        return dt.datetime.fromisoformat(str(value)).timestamp() if value else 0.0
    except ValueError:
        return 0.0


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
    columns even without words. Also carries what the other result cells do not say exactly: the
    lexicon matches' spans ("lex": [[construct, term, start, end]]) and, for a partly read post,
    where reading stopped ("read": character offset)."""
    joined = bool(text_columns and len(text_columns) > 1)
    extras: dict = {}
    if r.lexicon_matches:
        extras["lex"] = [[c, t, a, b] for c, t, a, b in r.lexicon_matches]
    if r.read_end is not None:
        extras["read"] = r.read_end
    if r.words is None and not joined and not extras:
        return ""
    head: dict = {"target": r.attribution_target, "col": text_column, "ci": text_index}
    if joined:
        head["cols"] = list(text_columns)  # type: ignore[arg-type]
    head.update(extras)
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


def attribution_extras(value: object, text: str) -> tuple[list[tuple[str, str, int, int]], int | None]:
    """(lexicon matches, where reading stopped) from a cmhl_attribution cell; spans that no longer
    fit the text are dropped."""
    try:
        d = json.loads(str(value)) if value else {}
        lex = [
            (str(c), str(t), int(a), int(b))
            for c, t, a, b in d.get("lex", [])
            if 0 <= int(a) <= int(b) <= len(text)
        ]
        read = d.get("read")
        return lex, (int(read) if isinstance(read, int) and 0 <= read <= len(text) else None)
    except (ValueError, TypeError, AttributeError):
        return [], None


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
    text: str = "",
) -> list[object]:
    """The result block of one row, in `result_columns` order; numbers stay numbers (None = no value).
    `text`: the post text as scored (for cmhl_trigger_text; "" leaves that cell empty)."""
    span = r.trigger_span if r.scored else None
    trig = (
        [span[0], span[1], _round4(r.trigger_score), text[span[0] : span[1]] if text else ""]
        if span is not None
        else [None, None, None, ""]
    )
    return (
        [FLAG_MARK if r.flagged else "", "; ".join(r.flag_rules), flag_reason(r), r.concern_rank or None]
        + [r.category, _round4(r.distress_score)]
        + [_round4(r.distress_probs.get(c)) for c in distress_labels]
        + [r.emotion]
        + [_round4(r.emotion_probs.get(e)) for e in emotion_labels]
        + [_round4(r.valence), _round4(r.intensity), r.status]
        + trig
        + [lexicon_text(r), ", ".join(highlight_kinds(r))]
        + [
            ", ".join(w.word for w in top_words(r.words)),
            attribution_json(r, text_column[1], text_column[0], text_columns),
        ]
        + [r.review_status, r.review_note, r.reviewer, iso_time(r.review_time)]
    )


def result_block(header: list[str]) -> tuple[int, list[str], list[str]] | None:
    """Where our result columns start in a header, with the distress and emotion labels they name;
    None when the header does not end with a complete result block (this version's, or the layout
    of exports written before issue 14)."""
    for i in range(len(header) - 1, -1, -1):
        if header[i] != PREFIX + "flag":
            continue
        block = header[i:]
        dl = [c[len(PREFIX + "p_") :] for c in block if c.startswith(PREFIX + "p_")]
        el = [c[len(PREFIX + "emo_") :] for c in block if c.startswith(PREFIX + "emo_")]
        if block in (result_columns(dl, el), legacy_result_columns(dl, el)):
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

    def integer(name: str) -> int | None:
        try:
            x = v.get(PREFIX + name)
            return None if x is None or x == "" else int(float(x))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    status = s(PREFIX + "status")
    if status.endswith("; " + CUT_STATUS):
        status = status[: -len("; " + CUT_STATUS)]
    target, _, words = parse_attribution(v.get(PREFIX + "attribution"), text)
    lex, read_end = attribution_extras(v.get(PREFIX + "attribution"), text)
    rules = s(PREFIX + "flag_rule")
    rule_list = rules.split("; ") if rules else []
    a, b = integer("trigger_start"), integer("trigger_end")
    span = (a, b) if a is not None and b is not None and 0 <= a <= b <= len(text) else None
    tscore = _float(v.get(PREFIX + "trigger_score")) if span is not None else float("nan")
    # The crisis rule reads max(post, most concerning segment): its segment score comes back so a
    # reopened export is re-flagged exactly as it was scored.
    seg_max = {"suicidewatch": tscore} if span is not None and math.isfinite(tscore) else {}
    return PostResult(
        status=status or "ok",
        category=s(PREFIX + "category"),
        distress_probs=probs("p_"),
        distress_score=_float(v.get(PREFIX + "distress_score")),
        segment_max=seg_max,
        trigger_span=span,
        trigger_score=tscore,
        lexicon_matches=lex,
        read_end=read_end,
        flagged=s(PREFIX + "flag") == FLAG_MARK,
        flag_rules=rule_list,
        segment_rules=parse_flag_reason(v.get(PREFIX + "flag_reason"), rule_list),
        concern_rank=integer("concern_rank") or 0,
        emotion=s(PREFIX + "emotion"),
        emotion_probs=probs("emo_"),
        valence=_float(v.get(PREFIX + "valence")),
        intensity=_float(v.get(PREFIX + "intensity")),
        attribution_target=target,
        words=words,
        review_status=s("review_status") if s("review_status") in REVIEW_STATUSES else "unreviewed",
        review_note=s("review_note"),
        reviewer=s("reviewer"),
        review_time=parse_time(v.get("review_time")),
    )
