"""Triage facts about a session's results (Qt-free, no torch): the order "by concern" in which posts
are looked at, and what the results add up to. The session keeps both up to date; the table, the
CLI summary and the run sheet read them (docs/ARCHITECTURE.md, "One owner per decision").

The order reads the most concerning segment's score (`PostResult.trigger_score`); it is defined here,
in `concern_key`, and nowhere else."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .results import NO_CONTENT, PostResult

CRISIS_RULES: frozenset[str] = frozenset({"suicidewatch"})  # `FlagPolicy.crisis_rules` of the shipped rules


def concern_key(result: PostResult, row: int, crisis: frozenset[str] | set[str] = CRISIS_RULES) -> tuple:
    """Sort key of the order "by concern" (ascending = most concerning first): posts flagged by a
    crisis rule (`crisis`, the names `FlagPolicy.crisis_rules` gives), then other flagged posts, then
    unflagged posts that were only partly read (status "truncated": the unread rest may hold what a
    flag would have caught, so a person should read them), then the rest; inside each group by the crisis score (the higher of the post's P(suicidewatch) and its
    most concerning segment's), then by the any-distress score; posts without a score last; ties in
    input order. The one definition of that order: the results table's "flagged first" sort,
    `concern_order`, `cmhl score --order concern` and the order posts are explained in all use it."""
    if crisis.intersection(result.flag_rules):
        group = 0
    elif result.flagged:
        group = 1
    else:
        group = 2 if result.status.startswith("truncated") else 3
    sw = max(
        (
            x
            for x in (result.distress_probs.get("suicidewatch", math.nan), result.trigger_score)
            if math.isfinite(x)
        ),
        default=-math.inf,
    )
    ds = result.distress_score
    return (group, -sw, -ds if math.isfinite(ds) else math.inf, row)


def concern_order(
    results: list[PostResult | None], crisis: frozenset[str] | set[str] = CRISIS_RULES
) -> list[int]:
    """Indices of the results that are there, most concerning first (`concern_key`)."""
    present = [i for i, r in enumerate(results) if r is not None]
    return sorted(present, key=lambda i: concern_key(results[i], i, crisis))  # type: ignore[arg-type]


def set_concern_ranks(
    results: list[PostResult | None], crisis: frozenset[str] | set[str] = CRISIS_RULES
) -> list[int]:
    """Number every result by concern, 1 = most concerning (`PostResult.concern_rank`, the export's
    cmhl_concern_rank); returns the order. O(n log n): called before an export, not on every re-flag."""
    order = concern_order(results, crisis)
    for rank, i in enumerate(order, start=1):
        results[i].concern_rank = rank  # type: ignore[union-attr]
    return order


@dataclass
class Counts:
    """What a session's results add up to; kept up to date as results, flags and reviews change."""

    rows: int = 0  # input rows
    done: int = 0  # rows with a result, of any status
    scored: int = 0  # status ok or truncated
    empty: int = 0
    no_content: int = 0  # no readable words (placeholders, numbers, URLs, markup): never flagged
    errors: int = 0
    truncated: int = 0
    flagged: int = 0
    reviewed: int = 0  # review status other than "unreviewed"
    by_category: Counter = field(default_factory=Counter)  # scored rows per top distress class
    flagged_by_rule: Counter = field(default_factory=Counter)

    def add(self, r: PostResult, sign: int = 1) -> None:
        """Count one result in (sign 1) or out (sign -1)."""
        self.done += sign
        self.scored += sign * r.scored
        self.empty += sign * (r.status == "empty")
        self.no_content += sign * (r.status == NO_CONTENT)
        self.errors += sign * r.status.startswith("error")
        self.truncated += sign * (r.status == "truncated")
        self.reviewed += sign * (r.review_status != "unreviewed")
        if r.scored:
            self.by_category[r.category] += sign
        if r.flagged:
            self.flagged += sign
            for name in r.flag_rules:
                self.flagged_by_rule[name] += sign
