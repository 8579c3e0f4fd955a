"""The per-post result record and how it maps onto spreadsheet columns (shared by scoring, export,
reopening an export, the CLI and the GUI)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Result columns are prefixed so they never collide with a user's own columns.
PREFIX = "cmhl_"
REVIEW_STATUSES = ("unreviewed", "confirmed", "not a concern", "needs follow-up")
REVIEW_COLUMNS = ("review_status", "review_note", "reviewer")
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

    status: str = "ok"  # ok | empty | truncated | error: <reason>
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
