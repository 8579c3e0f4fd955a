"""Word highlights for the window: the explanation cache, the explanation of the post on screen, and
"Explain all flagged". The attributions come from the session (`ScoringSession.explain`,
`iter_explain`) on a background job; they are rendered to HTML there too (core/highlights.py), so
the GUI thread only swaps the post view's HTML. Word scores of a post's default target are kept on
its result (`ScoringSession.keep_words`) for the export."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from cmhl_desktop.core.session import ScoringSession
from cmhl_desktop.ui.detail_view import DetailView
from cmhl_desktop.ui.errors import ErrorReporter, describe_error, log_exception
from cmhl_desktop.ui.jobs import JobRunner


class _GiveWay(Exception):
    """Raised inside "Explain all flagged" when the post on screen wants the model: that post is
    explained first, then the interrupted one again."""


class _BackgroundState:
    """The TaskState "Explain all flagged" hands the explainer: it cancels with the job and gives
    way (between integration steps) as soon as the post on screen is waiting."""

    def __init__(self, state, screen: threading.Event) -> None:
        self.state, self.screen = state, screen

    def check(self) -> None:
        self.state.check()
        if self.screen.is_set():
            raise _GiveWay()

    def set_progress(self, done: int, total: int) -> None:
        pass  # the job reports progress in posts itself


Key = tuple[int, str, str, bool]  # (row, head, class, subword tokens shown)


def _marks_of(session: ScoringSession, row: int) -> dict:
    """The triggering sentence and reading marks a row's page shows now; worker-safe."""
    from cmhl_desktop.ui.detail_view import marks

    r = session.results[row]
    return marks(r) if r is not None else {}


def _rendered(session: ScoringSession, row: int, expl, tokens: bool, shown: dict) -> tuple[str, str, str]:
    """(HTML of the post with its highlights and the `shown` marks (`_marks_of`); one line in plain
    words about the explanation; its technical figures); worker-safe."""
    from cmhl_desktop.core.explanation import top_words
    from cmhl_desktop.core.highlights import explanation_details, explanation_plain, render_html

    best = top_words(expl, 1)
    html_text = render_html(
        session.texts[row], expl, tokens=tokens, focus=best[0].start if best else None, **shown
    )
    return html_text, explanation_plain(expl), explanation_details(expl, units=True)


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
        # (explanation, rendered, the sentence/reading marks it was rendered with): a re-flag can
        # change the marks, and the page is then rendered again from the kept explanation
        self.cache: dict[Key, tuple[object, tuple[str, str, str], dict]] = {}
        self.tokens = False  # show raw subword scores instead of words
        self._wanted: Key | None = None  # the latest request not started yet
        self._screen = threading.Event()  # set while the post on screen waits for (or uses) the model

    def clear(self) -> None:
        """New input, new run or new model: nothing cached is valid any more."""
        self.cache.clear()
        self._wanted = None
        if not self.jobs.running("explain"):
            self._screen.clear()

    def set_tokens(self, on: bool) -> None:
        self.tokens = on

    # ------------------------------------------------------------------ the post on screen

    def request(self, row: int, head: str, cls: str) -> None:
        if self.session.model is None:
            self.detail.show_explain_failed("Highlights need the model, which is still loading.")
            return
        key = (row, head, cls, self.tokens)
        hit = self._cached(key)
        if hit is not None:
            self.detail.show_explanation(row, head, cls, *hit)
            self.ready.emit(row, head, cls)
            return
        self._wanted = key
        self._screen.set()
        self.detail.show_explaining()
        self._start_next()

    def _cached(self, key: Key) -> tuple[str, str, str] | None:
        """The rendered page of `key`, rendered again when the post's marks changed since (a post
        unflagged by a lower target keeps no crisis underline; found by a new-user test)."""
        hit = self.cache.get(key)
        if hit is None:
            return None
        expl, shown, was = hit
        now = _marks_of(self.session, key[0])
        if now != was:
            shown = _rendered(self.session, key[0], expl, key[3], now)
            self.cache[key] = (expl, shown, now)
        return shown

    def _start_next(self) -> None:
        key, session = self._wanted, self.session
        if self.jobs.running("explain"):
            return
        if key is None or session.model is None:
            self._screen.clear()  # nothing for the screen: "Explain all flagged" may go on
            return
        row, head, cls, tokens = key
        gen = session.generation

        def work(state, emit):
            (expl,) = session.explain([row], head, [cls])
            m = _marks_of(session, row)
            return expl, _rendered(session, row, expl, tokens, m), m

        def done(out) -> None:
            expl, shown, m = out
            if gen == session.generation:
                self.cache[key] = (expl, shown, m)  # with the marks it was rendered with
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
        if not self.jobs.start(
            "explain", work, on_done=done, on_error=failed, on_cancelled=self._start_next, model_work=True
        ):
            self._screen.clear()  # the window is closing

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

        screen = self._screen

        def work(state, emit):
            quiet = _BackgroundState(state, screen)
            for k, i in enumerate(todo):
                while True:
                    while screen.is_set():  # the post on screen first
                        state.check()
                        time.sleep(0.02)
                    try:
                        (expl,) = session.explain([i], state=quiet)
                        break
                    except _GiveWay:
                        continue
                m = _marks_of(session, i)
                emit([(i, expl, _rendered(session, i, expl, tokens, m), m)])
                state.set_progress(k + 1, len(todo))
            return len(todo)

        def chunk(items) -> None:
            if gen != session.generation:
                return
            for i, expl, shown, m in items:
                self.cache[(i, expl.head, expl.target_class, tokens)] = (expl, shown, m)
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
