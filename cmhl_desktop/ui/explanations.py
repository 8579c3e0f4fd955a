"""Word highlights for the window: the explanation cache, the explanation of the post on screen, and
"Explain all flagged". The attributions come from the session (`ScoringSession.explain`,
`iter_explain`) on a background job; they are rendered to HTML there too (core/highlights.py), so
the GUI thread only swaps the post view's HTML. Word scores of a post's default target are kept on
its result (`ScoringSession.keep_words`) for the export."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from cmhl_desktop.core.session import ScoringSession
from cmhl_desktop.ui.detail_view import DetailView
from cmhl_desktop.ui.errors import ErrorReporter, describe_error, log_exception
from cmhl_desktop.ui.jobs import JobRunner

EXPLAIN_BATCH = 8  # posts per attribution call in "Explain all flagged" (a request for the post on
# screen waits for at most one batch)

Key = tuple[int, str, str, bool]  # (row, head, class, subword tokens shown)


def _rendered(session: ScoringSession, row: int, expl, tokens: bool) -> tuple[str, str]:
    """(HTML of the post with its highlights, one line about the explanation); worker-safe."""
    from cmhl_desktop.core.highlights import explanation_info, render_html

    return render_html(session.texts[row], expl, tokens=tokens), explanation_info(expl)


class Explanations(QObject):
    """`ready(row, head, class)` when a requested explanation is on screen (or was cached);
    `all_done(n)` when "Explain all flagged" has explained n posts."""

    ready = Signal(int, str, str)
    all_done = Signal(int)

    def __init__(
        self,
        session: ScoringSession,
        jobs: JobRunner,
        detail: DetailView,
        errors: ErrorReporter,
        status: Callable[[str, int], None],
    ) -> None:
        super().__init__(jobs)
        self.session, self.jobs, self.detail, self.errors = session, jobs, detail, errors
        self.status = status
        self.cache: dict[Key, tuple[str, str]] = {}
        self.tokens = False  # show raw subword scores instead of words
        self._wanted: Key | None = None  # the latest request not started yet

    def clear(self) -> None:
        """New input, new run or new model: nothing cached is valid any more."""
        self.cache.clear()
        self._wanted = None

    def set_tokens(self, on: bool) -> None:
        self.tokens = on

    # ------------------------------------------------------------------ the post on screen

    def request(self, row: int, head: str, cls: str) -> None:
        if self.session.model is None:
            self.detail.show_explain_failed("Highlights need the model, which is still loading.")
            return
        key = (row, head, cls, self.tokens)
        hit = self.cache.get(key)
        if hit is not None:
            self.detail.show_explanation(row, head, cls, *hit)
            self.ready.emit(row, head, cls)
            return
        self._wanted = key
        self.detail.show_explaining()
        self._start_next()

    def _start_next(self) -> None:
        key, session = self._wanted, self.session
        if key is None or session.model is None or self.jobs.running("explain"):
            return
        row, head, cls, tokens = key
        gen = session.generation

        def work(state, emit):
            (expl,) = session.explain([row], head, [cls])
            return expl, _rendered(session, row, expl, tokens)

        def done(out) -> None:
            expl, shown = out
            if gen == session.generation:
                self.cache[key] = shown
                session.keep_words(row, expl)
                self.detail.show_explanation(row, head, cls, *shown)
                self.ready.emit(row, head, cls)
            self._start_next()

        def failed(e: BaseException) -> None:
            log_exception("explaining a post", e)
            if (row, head, cls) == (self.detail.row, *self.detail.current_target()):
                self.detail.show_explain_failed(f"Highlights could not be computed: {describe_error(e)}")
            self._start_next()

        self._wanted = None
        self.jobs.start(
            "explain", work, on_done=done, on_error=failed, on_cancelled=self._start_next, model_work=True
        )

    # ------------------------------------------------------------------ every flagged post

    def explain_all_flagged(self) -> None:
        session, tokens = self.session, self.tokens
        if session.model is None or self.jobs.busy() or self.jobs.closing:
            return
        todo = []
        for i in session.rows_to_explain("flagged"):
            head, cls = session.explain_target(i)
            if (i, head, cls, tokens) not in self.cache:
                todo.append(i)
        if not todo:
            self.status("Every flagged post is already explained.", 5000)
            self.all_done.emit(0)
            return
        gen = session.generation

        def work(state, emit):
            for part in session.iter_explain(todo, state, chunk=EXPLAIN_BATCH):
                emit([(i, expl, _rendered(session, i, expl, tokens)) for i, expl in part])
            return len(todo)

        def chunk(items) -> None:
            if gen != session.generation:
                return
            for i, expl, shown in items:
                self.cache[(i, expl.head, expl.target_class, tokens)] = shown
                session.keep_words(i, expl)
                self.detail.show_explanation(i, expl.head, expl.target_class, *shown)

        def done(n: int) -> None:
            if gen == session.generation:
                session.explain_mode = "flagged"
            self.status(f"Explained {n:,} flagged posts; the export will highlight their words.", 10000)
            self.all_done.emit(n)

        def failed(e: BaseException) -> None:
            log_exception("explaining flagged posts", e)
            self.errors.show("Explain all flagged", describe_error(e))

        self.jobs.start(
            "explain-all",
            work,
            exclusive=True,
            label=f"Explaining {len(todo):,} flagged posts…",
            progress_text=lambda d, t, rate: f"Explained {d:,} / {t:,} flagged posts · {rate:.1f}/s",
            on_chunk=chunk,
            on_done=done,
            on_error=failed,
            on_cancelled=lambda: self.status("Explaining cancelled.", 5000),
            model_work=True,
        )
