"""One scoring run, Qt-free: the object both front ends drive (docs/ARCHITECTURE.md, "The session").

A `ScoringSession` owns one input being screened: the input table, one result per row (in input
order, None until scored), each post's review (saved at once in a `ReviewStore`), the flag policy
at its current target recalls, the counts, the run record and the export. `cmhl score` (through
`pipeline.score_file`), `cmhl explain` and the window all drive it, so the same input gives the same
export from either front end.

    session = ScoringSession(LoadedModel.load(folder), targets=0.9)
    session.open("posts.xlsx")
    session.score(state)                               # streams: iter_scores + add_scores
    session.set_target_recall("suicidewatch", 0.95)    # re-flags at once, no re-scoring
    session.set_review(3, "confirmed", "called the GP", "dr x")
    session.explain_posts("flagged", state)            # word scores kept for the export
    session.export("out.xlsx", state)

Threads: long work is split into a part that only reads the session and may run on a worker thread
(`read`, `iter_scores`, `explain`, `iter_explain`, `export`) and short parts that change it, called
on the session's own thread (the GUI thread, or the CLI's only thread): `attach`, `begin_scoring`,
`add_scores`, `end_scoring`, `keep_words` and the setters. `generation` changes with every new input
or run, so the window can drop what a worker delivers late for an older one. The model is used by
one piece of work at a time (`LoadedModel.lock`, loaded_model.py).

Imports of torch-backed modules (readers, flags, scoring, attribution) happen inside methods: the
window imports this module before its first paint.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import score_cache
from .export import ORDERS, RunInfo, export_csv, export_xlsx
from .export_stream import check_xlsx_rows
from .loaded_model import LoadedModel
from .results import REVIEW_STATUSES, PostResult
from .review_store import Review, ReviewStore, post_keys
from .reviews import apply_review, is_reviewed, merge_reviews, open_reviews, review_of
from .run_record import EXPORT_ROWS, OUTPUT_SUFFIXES, check_output, now_iso, run_info  # noqa: F401 (the session's names)
from .session_explain import SessionExplanations
from .tasks import TaskState
from .triage import CRISIS_RULES, Counts, concern_order, set_concern_ranks

if TYPE_CHECKING:
    from .flags import FlagPolicy
    from .readers import InputTable


class SessionError(RuntimeError):
    """A step asked for something the session does not have yet (a model, an input, all scores)."""


class ScoringSession(SessionExplanations):
    """One input, its results and review, scored and flagged with one model (see the module doc).

    model: the model to score with (None: set one later with `set_model`; a reopened export can be
    reviewed and exported without one). data_dir: where reviews are autosaved (None: not saved,
    as for `cmhl score`; CMHL_DATA_DIR overrides it). targets: target recalls to flag at (a float
    for every rule, or {rule: recall}); None keeps the checkpoint's stored thresholds."""

    def __init__(
        self,
        model: LoadedModel | None = None,
        *,
        data_dir: str | Path | None = None,
        targets: float | Mapping[str, float] | None = None,
    ) -> None:
        self.model: LoadedModel | None = None
        self.policy: FlagPolicy | None = None
        self.data_dir = data_dir
        self._targets: dict[str, float] = {}  # asked-for target recalls, kept across models
        self.table: InputTable | None = None
        self.texts: list[str] = []
        self.results: list[PostResult | None] = []
        self.store: ReviewStore | None = None
        self.store_error: Exception | None = None  # why this input's reviews cannot be saved
        self.keys: list[str] = []  # each row's post identity (`review_store.post_keys`)
        self.review_message = ""  # what happened to the reviews on opening (carried over, ...)
        self.counts = Counts()
        self.generation = 0
        self.started = ""  # ISO time the results were scored (a reopened export: its own)
        self.scoring_seconds: float | None = None  # None: not scored in this session
        self.explain_mode = "none"  # the last explain_posts run; words may also come one by one
        self._kept: dict[int, Review] = {}  # reviews to put back on results as they arrive
        self._probs = None  # (key, probability matrix) for fast re-flagging
        self._t0 = 0.0
        if model is not None:
            self.set_model(model)
        self.set_target_recalls(targets)

    # ------------------------------------------------------------------ model and flag policy

    def set_model(self, model: LoadedModel) -> None:
        """Use `model` from now on: a new flag policy at the asked-for target recalls (rules the
        model lacks are ignored). Results already there stay as they are until scored again."""
        from .flags import FlagPolicy, PolicyError

        policy = FlagPolicy.from_checkpoint(model.ckpt)
        for name, recall in self._targets.items():
            if name in policy.rule_names:
                try:
                    policy.set_target_recall(name, recall)
                except PolicyError:  # a rule without PR points keeps its stored threshold
                    pass
        self.model, self.policy, self._probs = model, policy, None

    def _need_model(self, why: str) -> LoadedModel:
        """The model; raises SessionError(`why`) when there is none."""
        if self.model is None:
            raise SessionError(why)
        return self.model

    def set_target_recall(self, rule: str, recall: float) -> int:
        """Move a rule to a validation target recall and re-flag every result at once (no
        re-scoring). Without a model the target is kept for the next one. Returns how many posts
        are flagged. Raises PolicyError (unknown rule, recall out of (0, 1], no PR points)."""
        if self.policy is not None:
            self.policy.set_target_recall(rule, recall)
        self._targets[rule] = float(recall)
        return self.reflag()

    def set_target_recalls(self, target: float | Mapping[str, float] | None) -> None:
        """A float moves every rule of the model; a mapping moves the rules it names; None: nothing.
        Raises PolicyError for an unknown rule or a bad recall, SessionError for a float without a
        model (which rules there are is the model's to say)."""
        if target is None:
            return
        if not isinstance(target, Mapping):
            if self.policy is None:
                raise SessionError("a target recall for every rule needs a model")
            target = dict.fromkeys(self.policy.rule_names, float(target))
        if self.policy is not None:
            self.policy.set_target_recalls(target)
        self._targets.update({k: float(v) for k, v in target.items()})
        self.reflag()

    def target_recall(self, rule: str) -> float | None:
        """The current target of a rule (None: a threshold set by hand, or not known)."""
        if self.policy is not None:
            return self.policy.target_recall(rule)
        return self._targets.get(rule)

    def target_recalls(self) -> dict[str, float]:
        """{rule: target recall} of the model's rules that have one."""
        names = self.policy.rule_names if self.policy is not None else list(self._targets)
        return {n: t for n in names if (t := self.target_recall(n)) is not None}

    def reflag(self) -> int:
        """Apply the flag policy to every result in place; returns how many are flagged."""
        if self.policy is None:
            return self.counts.flagged
        present = [r for r in self.results if r is not None]
        key = (self.generation, len(present))
        if self._probs is None or self._probs[0] != key:  # scores do not move: build the matrix once
            self._probs = (key, self.policy.probs_matrix(present))
        self.counts.flagged = self.policy.reflag(present, self._probs[1])
        self.counts.flagged_by_rule = Counter(self.policy.flagged_by_rule(present))
        return self.counts.flagged

    # ------------------------------------------------------------------ opening an input

    @staticmethod
    def read(
        path: str | Path, sheet: str | None = None, column=None, id_column=None, **options
    ) -> InputTable:
        """Read an input, or reopen an export (worker-safe). `column`: one column or a list joined
        into each post; `id_column`: the column that identifies a post for its review (name or
        index; default: the post's text); `options`: `readers.read_input`'s encoding and header.
        Raises InputError, also for an input with no rows (a header only): nothing to score."""
        from .readers import InputError, read_input
        from .table import resolve_column

        table = read_input(path, sheet=sheet, column=column, **options)
        if not table.rows:  # scoring nothing never completes: the window waited forever, the CLI crashed
            raise InputError(
                f"{Path(path).name}: no posts to score: there are no rows under the header row. If that "
                "row is a post, read it as data (--no-header, or untick 'The first row holds the column names')"
            )
        if id_column is None:
            id_column = table.meta.get("id_column") or None  # a reopened export names its own
        if id_column is not None:
            table.id_column = resolve_column(Path(path).name, table.columns, id_column)
        return table

    def open(self, path: str | Path, sheet: str | None = None, column=None, **options) -> InputTable:
        """`read` then `attach`: the whole of opening an input, for one thread."""
        table = self.read(path, sheet, column, **options)
        self.attach(table)
        return table

    def open_texts(self, texts: Sequence[str], name: str = "typed text") -> InputTable:
        """Attach posts given as strings (`cmhl explain --text`, tests): one column "text", held in
        memory only."""
        from .readers import InputTable

        digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
        table = InputTable(Path(name), None, ["text"], [[t] for t in texts], 0, digest, "txt")
        self.attach(table)
        return table

    def attach(self, table: InputTable) -> None:
        """Make `table` this session's input: its review store opened (a failure is kept in
        `store_error`, and reviews then live in memory only). A reopened export brings its
        results, review and target recalls; anything else waits for `score`."""
        self.table, self.texts = table, table.texts()
        self.generation += 1
        self.store, self.store_error, self._kept, self._probs = None, None, {}, None
        ids = None if table.id_column is None else [row[table.id_column] for row in table.rows]
        self.keys, self.review_message = post_keys(self.texts, ids), ""
        if self.data_dir is not None:
            try:
                opened = open_reviews(self.data_dir, table, self.keys)
                self.store, self._kept, self.review_message = opened.store, opened.by_row, opened.message
            except (OSError, ValueError) as e:
                self.store, self.store_error = None, e
        self.scoring_seconds, self.explain_mode = None, "none"
        self.started = table.meta.get("started", "")
        if table.results is None:
            self.results = [None] * len(self.texts)
        else:
            self.results = list(table.results)
            newer = merge_reviews(self.results, self._kept)  # the export's cells or the journal: the newer
            if self.store is not None and newer:  # the export's own reviews, now in the journal too
                self.store.set_many((self.keys[i], rev) for i, rev in newer.items())
            # flag at the export's targets (the flags it shows were made there): no re-flag
            targets = {k.split(":", 1)[1]: v for k, v in table.meta.items() if k.startswith("target_recall:")}
            self._restore_targets(targets)
        self._recount()

    def _restore_targets(self, targets: Mapping[str, str]) -> None:
        from .flags import PolicyError

        for name, value in targets.items():
            try:
                recall = float(value)
                if self.policy is not None:
                    self.policy.set_target_recall(name, recall)
            except (ValueError, PolicyError):  # a rule this model lacks, or a damaged cell
                continue
            self._targets[name] = recall

    @property
    def needs_scoring(self) -> bool:
        return self.table is not None and self.table.results is None and not self.complete()

    def complete(self) -> bool:
        """Every row has a result (what an export needs)."""
        return bool(self.results) and self.counts.done == len(self.results)

    def labels(self) -> tuple[list[str], list[str]]:
        """(distress labels, emotion labels): the model's, else those of the results."""
        if self.model is not None:
            return self.model.distress_labels, self.model.emotion_labels
        first = next((r for r in self.results if r is not None), None)
        return (list(first.distress_probs), list(first.emotion_probs)) if first else ([], [])

    # ------------------------------------------------------------------ scoring

    def begin_scoring(self) -> int:
        """Start a (re-)scoring run: every result is cleared, every review is kept (those on the
        results, then the store's) to be put back as results arrive. Returns the run's generation.
        Raises SessionError without a model or an input."""
        if self.model is None or self.table is None:
            raise SessionError("scoring needs a model and an input")
        kept = {i: review_of(r) for i, r in enumerate(self.results) if r is not None and is_reviewed(r)}
        if self.store is not None:
            stored = self.store.all()
            kept.update({i: stored[k] for i, k in enumerate(self.keys) if k in stored})
        self._kept = kept
        self.results = [None] * len(self.texts)
        self.generation += 1
        self.started, self._t0 = now_iso(), time.perf_counter()
        self.scoring_seconds, self.explain_mode = None, "none"
        self._recount()
        return self.generation

    def iter_scores(self, state: TaskState | None = None) -> Iterator[tuple[int, list[PostResult]]]:
        """Score every post (worker-safe): yields (start row, results of that chunk) in input order;
        hand each to `add_scores`. Progress goes to `state`; raises Cancelled when it is cancelled."""
        model = self._need_model("scoring needs a model")
        chunks = model.scorer.iter_score(self.texts, state, self.policy)
        while True:
            with model.lock:
                item = next(chunks, None)
            if item is None:
                return
            yield item

    def add_scores(self, start: int, chunk: Sequence[PostResult], generation: int | None = None) -> bool:
        """Store a chunk from `iter_scores`: flagged at the current thresholds (they may have moved
        while it was scored), kept reviews put back. A chunk of an older `generation` is dropped
        (returns False)."""
        if generation is not None and generation != self.generation:
            return False
        if self.policy is not None:
            self.policy.reflag(chunk)
        for i, r in enumerate(chunk, start):
            rev = self._kept.get(i)
            if rev is not None:
                apply_review(r, rev)
            if self.results[i] is not None:
                self.counts.add(self.results[i], -1)
            self.results[i] = r
            self.counts.add(r)
        self._probs = None
        return True

    def end_scoring(self) -> None:
        """A run finished (every row has a result)."""
        self.scoring_seconds = time.perf_counter() - self._t0

    def score(self, state: TaskState | None = None) -> None:
        """Score every post on this thread (the CLI). Raises Cancelled, SessionError."""
        generation = self.begin_scoring()
        for start, chunk in self.iter_scores(state):
            self.add_scores(start, chunk, generation)
        self.end_scoring()

    @property
    def crisis_rules(self) -> frozenset[str]:
        """The rules whose flags come first in the order by concern (`FlagPolicy.crisis_rules`)."""
        return self.policy.crisis_rules if self.policy is not None else CRISIS_RULES

    def concern_order(self) -> list[int]:
        """Rows with a result, most concerning first (`triage.concern_key`)."""
        return concern_order(self.results, self.crisis_rules)

    # ------------------------------------------------------------------ kept scores

    def save_scores(self) -> Path | None:
        """Keep a complete run's scores in the data folder (worker-safe; no post text), so a crash
        can be recovered without scoring again (`restore_scores`). None when there is no data
        folder, model or complete run. Raises OSError."""
        if self.data_dir is None or self.model is None or self.table is None or not self.complete():
            return None
        if self.table.results is not None:  # a reopened export keeps its scores itself
            return None
        dl, el = self.labels()
        return score_cache.save(
            self.data_dir,
            self.table,
            self.results,
            self.model.sha256,
            dl,
            el,
            self.started,
            self.scoring_seconds or 0.0,
        )

    def restore_scores(self) -> bool:
        """Put back the kept scores of this very input made by this model (`save_scores`), with the
        reviews, flagged at the current thresholds; False when there are none (score it then)."""
        if (
            self.data_dir is None
            or self.model is None
            or self.table is None
            or self.table.results is not None
        ):
            return False
        kept = score_cache.load(
            self.data_dir, self.table, self.texts, self.model.sha256, *self.model_labels()
        )
        if kept is None:
            return False
        generation = self.begin_scoring()
        self.add_scores(0, kept.results, generation)
        self.started, self.scoring_seconds = kept.started, kept.scoring_seconds
        return True

    def model_labels(self) -> tuple[list[str], list[str]]:
        return (self.model.distress_labels, self.model.emotion_labels) if self.model else ([], [])

    # ------------------------------------------------------------------ review

    def set_review(self, row: int, status: str, note: str = "", reviewer: str = "") -> bool:
        """Set a post's review and save it at once (when there is a store). Returns False when
        nothing changed (a reviewer's name typed over an unreviewed post is not stored). Raises
        ValueError for an unknown status, OSError when the store cannot write (the review is
        then kept in memory)."""
        if status not in REVIEW_STATUSES:
            raise ValueError(f"unknown review status {status!r}")
        r = self.results[row]
        if r is None:
            return False
        unchanged = (r.review_status, r.review_note) == (status, note)
        if unchanged and (not is_reviewed(r) or r.reviewer == reviewer):
            return False
        self.counts.reviewed -= r.review_status != "unreviewed"
        r.review_status, r.review_note, r.reviewer = status, note, reviewer
        r.review_time = round(time.time(), 3)
        self.counts.reviewed += status != "unreviewed"
        if self.store is not None:
            self.store.set(self.keys[row], row, status, note, reviewer, r.review_time)
        return True

    def close(self) -> None:
        """The input is put away (a new one opened, the window closed): its journal is compacted."""
        if self.store is not None:
            try:
                self.store.compact()
            except OSError:  # compaction is tidying; the journal as it is stays valid
                pass

    # ------------------------------------------------------------------ record and export

    def run_info(self) -> RunInfo:
        """What produced these results, for the run sheet (`run_record.run_info`). Raises
        SessionError without an input."""
        if self.table is None:
            raise SessionError("no input")
        return run_info(self)

    def export(self, out_path: str | Path, state: TaskState | None = None, order: str = "input") -> Path:
        """Write every row with its results and review to .xlsx (with the run sheet), or .csv/.tsv
        by suffix, atomically (worker-safe: the results' concern ranks are set first, the only
        change). `order`: "input" (every row in input order) or "concern" (most concerning first;
        either way each row carries cmhl_concern_rank). Raises ExportError (also for an .xlsx of
        more rows than Excel holds), SessionError (not every post is scored), ValueError (an unknown
        order), Cancelled (nothing written)."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
        if self.table is None or not self.complete():
            raise SessionError("nothing to export yet: every post must be scored first")
        out = check_output(out_path, self.table.source)
        if out.suffix.lower() == ".xlsx":
            check_xlsx_rows(len(self.results), out)  # past Excel's limit: a clear error, no file
        ranked = set_concern_ranks(self.results, self.crisis_rules)
        run = self.run_info()
        write = export_xlsx if out.suffix.lower() == ".xlsx" else export_csv
        rows = ranked if order == "concern" else None
        return write(self.table, list(self.results), out, run, *self.labels(), state=state, order=rows)

    def _recount(self) -> None:
        self.counts = Counts(rows=len(self.results))
        for r in self.results:
            if r is not None:
                self.counts.add(r)
