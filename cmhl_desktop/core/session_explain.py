"""The session's word attributions (Qt-free): which class a post is explained for, which rows, in
chunks on a worker, and the words kept for the export (docs/ARCHITECTURE.md, "The session").

`SessionExplanations` is a part of `session.ScoringSession`, which supplies what it reads: `model`,
`policy`, `texts`, `results`, `labels()`, `concern_order()` and `_need_model()`. `explain` and
`iter_explain` only read the session (worker-safe); `keep_words` changes a result (session thread).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .tasks import TaskState

if TYPE_CHECKING:
    from .explanation import Explanation
    from .flags import FlagPolicy
    from .loaded_model import LoadedModel
    from .results import PostResult

EXPLAIN_MODES = ("none", "flagged", "all")
EXPLAIN_CHUNK = 32  # posts per attribution call (bounded memory; progress and cancel between calls)


class SessionExplanations:
    """Explaining a session's posts; mixed into `ScoringSession` (see the module doc)."""

    model: LoadedModel | None
    policy: FlagPolicy | None
    texts: list[str]
    results: list[PostResult | None]
    explain_mode: str

    def labels(self) -> tuple[list[str], list[str]]:
        raise NotImplementedError

    def concern_order(self) -> list[int]:
        raise NotImplementedError

    def _need_model(self, why: str) -> LoadedModel:
        raise NotImplementedError

    def explain_target(self, row: int) -> tuple[str, str]:
        """(head, class) a post's words are explained for by default: the flag policy's
        `explain_class` at the current thresholds; without a model, the post's category."""
        from .flags import PolicyError

        r = self.results[row]
        if self.policy is not None and r is not None and r.scored:
            try:
                return "distress", self.policy.explain_class(r)[0]
            except PolicyError:
                pass
        if r is not None and r.category:
            return "distress", r.category
        labels = self.labels()[0]
        return "distress", labels[0] if labels else ""

    def explain(
        self,
        rows: Sequence[int],
        head: str = "distress",
        classes: Sequence[str] | None = None,
        state: TaskState | None = None,
    ) -> list[Explanation]:
        """Word attributions of posts (worker-safe), one per row, for `classes` (one per row;
        default: `explain_target`). Raises SessionError without a model, AttributionError."""
        model = self._need_model("highlights need the model")
        if classes is None:
            classes = [self.explain_target(i)[1] if head == "distress" else None for i in rows]
        with model.lock:
            return model.explainer().explain([self.texts[i] for i in rows], head, list(classes), state)

    def rows_to_explain(self, mode: str = "flagged") -> list[int]:
        """Scored rows to explain for `mode` ("flagged" or "all"), most concerning first."""
        if mode not in EXPLAIN_MODES:
            raise ValueError(f"explain must be one of {', '.join(EXPLAIN_MODES)}, not {mode!r}")
        return [
            i
            for i in self.concern_order()
            if mode != "none" and self.results[i].scored and (mode == "all" or self.results[i].flagged)
        ]

    def iter_explain(
        self, rows: Sequence[int], state: TaskState | None = None, chunk: int = EXPLAIN_CHUNK
    ) -> Iterator[list[tuple[int, Explanation]]]:
        """Explain rows for their default targets in chunks (worker-safe): yields [(row,
        explanation)] per chunk (hand each to `keep_words`); progress in posts, cancel between chunks."""
        for s in range(0, len(rows), chunk):
            if state is not None:
                state.check()
            part = list(rows[s : s + chunk])
            yield list(zip(part, self.explain(part), strict=True))
            if state is not None:
                state.set_progress(min(s + chunk, len(rows)), len(rows))

    def keep_words(self, row: int, explanation: Explanation) -> bool:
        """Keep an explanation's word scores on its result for the export, when it explains the
        post's default target (returns whether it did)."""
        r = self.results[row]
        if r is None or (explanation.head, explanation.target_class) != self.explain_target(row):
            return False
        r.words, r.attribution_target = list(explanation.words), explanation.target
        return True

    def explain_posts(self, mode: str = "flagged", state: TaskState | None = None) -> int:
        """Explain every flagged (or every scored) post on this thread; returns how many."""
        rows = self.rows_to_explain(mode)
        for part in self.iter_explain(rows, state):
            for i, e in part:
                self.keep_words(i, e)
        self.explain_mode = mode
        return len(rows)
