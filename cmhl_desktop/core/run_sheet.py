"""The run sheet of an export: what produced it (`RunInfo`), the tool's scope, and exactly which
rows carry which kind of highlight (`highlight_record`). Written by export.py, read back through
`RunInfo.from_meta` when an export is reopened."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cmhl_desktop import __version__
from cmhl_desktop.core.results import (
    HIGHLIGHT_SENTENCE,
    HIGHLIGHT_WORDS,
    NO_CONTENT,
    PostResult,
    highlight_kinds,
)

EXPORT_FORMAT = "cmhl-desktop export 1"  # first row of the run sheet; how a reopened file is known
# The scope of the tool, on the run sheet of every export (and always visible in the window).
SCOPE = (
    "Screening aid, not a diagnosis: a flag means a person should read the post soon; "
    "an unflagged post may still need attention."
)
# Run-sheet rows the writers add from the results themselves (a reopened export's meta has them).
HIGHLIGHT_ROWS = ("highlight_legend", "highlight_sentence_rows", "highlight_words_rows", "row_order")


@dataclass
class RunInfo:
    """What produced an export: written to the run sheet for the case record."""

    model_name: str
    model_sha256: str
    thresholds: dict[str, float]  # flag rule -> threshold
    target_recalls: dict[str, float]  # flag rule -> target recall
    input_name: str
    input_sha256: str
    rows_total: int = 0
    rows_scored: int = 0
    rows_empty: int = 0
    rows_no_content: int = 0  # no readable words: not scored, never flagged
    rows_flagged: int = 0
    rows_errors: int = 0
    started: str = ""  # ISO 8601
    finished: str = ""
    explain_mode: str = "none"  # which posts carry IG word scores: none | flagged | all | some
    app_version: str = __version__
    extra: dict[str, str] = field(default_factory=dict)  # anything else worth recording

    def set_counts(self, results: list[PostResult]) -> RunInfo:
        self.rows_total = len(results)
        self.rows_scored = sum(r.scored for r in results)
        self.rows_empty = sum(r.status == "empty" for r in results)
        self.rows_no_content = sum(r.status == NO_CONTENT for r in results)
        self.rows_flagged = sum(r.flagged for r in results)
        self.rows_errors = sum(r.status.startswith("error") for r in results)
        return self

    def to_rows(self) -> list[tuple[str, object]]:
        rows: list[tuple[str, object]] = [
            ("format", EXPORT_FORMAT),
            ("scope", SCOPE),
            ("app_version", self.app_version),
            ("model_name", self.model_name),
            ("model_sha256", self.model_sha256),
        ]
        rows += [(f"threshold:{k}", v) for k, v in self.thresholds.items()]
        rows += [(f"target_recall:{k}", v) for k, v in self.target_recalls.items()]
        rows += [
            ("input_name", self.input_name),
            ("input_sha256", self.input_sha256),
            ("rows_total", self.rows_total),
            ("rows_scored", self.rows_scored),
            ("rows_empty", self.rows_empty),
            ("rows_no_content", self.rows_no_content),
            ("rows_flagged", self.rows_flagged),
            ("rows_errors", self.rows_errors),
            ("started", self.started),
            ("finished", self.finished),
            ("explain_mode", self.explain_mode),
        ]
        return rows + list(self.extra.items())

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> RunInfo:
        """Rebuild from a reopened workbook's run sheet (`InputTable.meta`)."""
        known = {f for f in cls.__dataclass_fields__ if f not in ("thresholds", "target_recalls", "extra")}
        kw: dict = {"thresholds": {}, "target_recalls": {}, "extra": {}}
        for k, v in meta.items():
            if k.startswith("threshold:"):
                kw["thresholds"][k.split(":", 1)[1]] = float(v)
            elif k.startswith("target_recall:"):
                kw["target_recalls"][k.split(":", 1)[1]] = float(v)
            elif k in known:
                kw[k] = int(v) if k.startswith("rows_") else v
            elif k not in ("format", "scope"):
                kw["extra"][k] = v
        kw.setdefault("model_name", "")
        kw.setdefault("model_sha256", "")
        kw.setdefault("input_name", "")
        kw.setdefault("input_sha256", "")
        return cls(**kw)


def _row_list(rows: list[int]) -> str:
    """1-based input rows as ranges, e.g. "2-5, 9" (cut to fit one cell)."""
    parts, k = [], 0
    while k < len(rows):
        j = k
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        parts.append(str(rows[k] + 1) if j == k else f"{rows[k] + 1}-{rows[j] + 1}")
        k = j + 1
    text = ", ".join(parts)
    return text if len(text) <= 30_000 else text[:30_000].rsplit(", ", 1)[0] + ", … (see cmhl_highlight)"


def highlight_record(
    results: Sequence[PostResult], order: Sequence[int] | None = None
) -> list[tuple[str, str]]:
    """Run-sheet rows saying exactly which rows carry which highlight (input row numbers, 1-based,
    as the app's # column), what each looks like, and the order rows are written in."""
    kinds = [highlight_kinds(r) for r in results]
    sentence = [i for i, k in enumerate(kinds) if HIGHLIGHT_SENTENCE in k]
    words = [i for i, k in enumerate(kinds) if HIGHLIGHT_WORDS in k]
    return [
        (
            "highlight_legend",
            "sentence: the post's most concerning sentence (the one the suicidewatch rule reads), "
            "underlined in purple, on every flagged post; words: the words that pushed the post "
            "toward its flagged class most (Integrated Gradients), bold red, where computed. The row "
            "numbers below are input rows, as in the app's # column (the first post is 1), not the "
            "sheet's row numbers; each row's cmhl_highlight cell names the highlights it carries",
        ),
        (
            "highlight_sentence_rows",
            f"{_rows(len(sentence))}: {_row_list(sentence)}" if sentence else "0 rows",
        ),
        ("highlight_words_rows", f"{_rows(len(words))}: {_row_list(words)}" if words else "0 rows"),
        ("row_order", "input" if order is None or list(order) == sorted(order) else "concern"),
    ]


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"
