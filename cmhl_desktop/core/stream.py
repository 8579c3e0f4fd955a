"""The streaming score loop for research-scale runs (Qt-free): records -> row tables -> the same
`Scorer` and `FlagPolicy` as the desktop -> result tables in the export's cell format. Both the
local engine (`run_local`, here) and the Ray engine (ray_engine.py) call `row_tables` and
`score_rows`, so a post gets the same result at every scale.

A run is planned once (`make_plan`) from the first records: which columns make the post (guessed
as the desktop guesses, or `--column`), which input columns are kept in the output (the text
columns, `id`/`subreddit`/`created_utc` when present, and `--keep`), the labels. Then:

    row table (pyarrow, `plan.chunk` rows):  cmhl_row_id, cmhl_shard, cmhl_line, <kept columns>,
                                              _cmhl_read_error (dropped from the output)
    result table = row table + `results.result_columns(...)` (values from `results.result_values`,
                   the export's cells) + cmhl_distress_p, cmhl_emotion_p (exact probabilities,
                   list<float32> in label order; null for posts that were not scored)

Row ids: `cmhl_row_id = shard index * 10**12 + line` (read in decimal: shard, then line), with
`cmhl_shard` and `cmhl_line` beside it; sorting by it restores the input order, whatever engine
wrote the rows. Kept input columns are text (strings as they are; numbers, booleans and nested
values as their JSON text), so every shard and every Ray block has one schema. Strings are
normalised once (text_norm.normalize_text) when a record becomes a row.

Memory stays flat: one chunk of rows and results exists at a time (plus the writer's row group).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .results import PREFIX, PostResult, result_columns, result_values
from .shards import Shard, iter_records, sample_records
from .table import InputError, build_post, guess_text_columns, resolve_column
from .tasks import TaskState
from .text_norm import normalize_text
from .triage import Counts

if TYPE_CHECKING:
    import pyarrow as pa

    from .flags import FlagPolicy
    from .scoring import Scorer

ROW_ID_BASE = 10**12
ID_COLUMNS = (PREFIX + "row_id", PREFIX + "shard", PREFIX + "line")
READ_ERROR = "_cmhl_read_error"
EXACT_COLUMNS = (PREFIX + "distress_p", PREFIX + "emotion_p")
DEFAULT_KEEP = ("id", "subreddit", "created_utc")  # forum-dump ids to join back on; never authors


@dataclass
class StreamPlan:
    """What every record of a streamed run becomes. Picklable (Ray ships it to its workers).

    shards: the inputs, in order; text_columns: names joined into each post (title + body);
    keep: input columns written out, in output order (the text columns among them);
    distress_labels / emotion_labels: the model's; chunk: rows per row table."""

    shards: list[Shard]
    text_columns: list[str]
    keep: list[str]
    distress_labels: list[str]
    emotion_labels: list[str]
    chunk: int = 1024
    columns_seen: list[str] = field(default_factory=list)  # of the sampled records, for messages

    @property
    def output_columns(self) -> list[str]:
        """The result table's columns, in order."""
        return (
            list(ID_COLUMNS)
            + self.keep
            + result_columns(self.distress_labels, self.emotion_labels)
            + list(EXACT_COLUMNS)
        )


def make_plan(
    shards: Sequence[Shard],
    distress_labels: Sequence[str],
    emotion_labels: Sequence[str],
    column: str | Sequence[str] | None = None,
    keep: Sequence[str] = (),
    chunk: int = 1024,
) -> StreamPlan:
    """Plan a run from the first 500 records. column: the text column(s) (names or 0-based
    indices of the sampled columns); None guesses (a forum dump's title + selftext are joined).
    keep: more input columns to write out. Raises InputError (no records, an unknown column, a
    kept column named like ours)."""
    if not shards:
        raise InputError("no input files")
    sample = sample_records(shards)
    if not sample:
        raise InputError(f"{shards[0].name}: no records to read (is the file empty?)")
    seen: dict[str, None] = {}
    for rec in sample:
        seen.update(dict.fromkeys(rec))
    names = [str(c) for c in seen]
    where = shards[0].name
    if column is None or (not isinstance(column, str) and not column):
        rows = [[rec.get(c) for c in seen] for rec in sample]
        text_idx = guess_text_columns(names, rows)
    else:
        wanted = [column] if isinstance(column, (str, int)) else list(column)
        text_idx = [resolve_column(where, names, c) for c in wanted]
    text = list(dict.fromkeys(names[j] for j in text_idx))
    extra = [names[resolve_column(where, names, c)] for c in keep]
    wanted_keep = set(text) | set(extra) | {c for c in DEFAULT_KEEP if c in seen}
    kept = [c for c in names if c in wanted_keep]
    clash = [c for c in kept if c.startswith(PREFIX) or c == READ_ERROR]
    if clash:
        raise InputError(
            f"{where}: column {clash[0]!r} has the name of a result column; "
            "leave it out of --keep/--column or rename it"
        )
    return StreamPlan(
        list(shards), text, kept, list(distress_labels), list(emotion_labels), chunk, names[:200]
    )


# --------------------------------------------------------------------------- rows


def cell_text(v: object) -> str | None:
    """A kept input value as text: strings as they are, None stays None, numbers, booleans and
    nested values as JSON; normalised (lone surrogates -> U+FFFD, NUL dropped)."""
    if v is None:
        return None
    if isinstance(v, str):
        return normalize_text(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        s = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        s = str(v)  # dates and other Parquet / spreadsheet values: their text
    return normalize_text(s)


def row_tables(plan: StreamPlan, shards: Sequence[Shard] | None = None) -> Iterator[pa.Table]:
    """Row tables of `plan.chunk` rows (the last of a shard may be shorter), shard by shard, in
    input order. `shards`: a part of the plan's (one Ray read task reads one). Raises InputError
    when a shard cannot be opened."""
    for shard in plan.shards if shards is None else shards:
        part: list[tuple[int, dict | None, str]] = []
        for rec in iter_records(shard, plan.keep):
            part.append(rec)
            if len(part) >= plan.chunk:
                yield rows_table(plan, shard.index, part)
                part = []
        if part:
            yield rows_table(plan, shard.index, part)


def rows_table(plan: StreamPlan, shard: int, part: list[tuple[int, dict | None, str]]) -> pa.Table:
    import pyarrow as pa

    lines = [n for n, _, _ in part]
    cols: dict[str, pa.Array] = {
        ID_COLUMNS[0]: pa.array([shard * ROW_ID_BASE + n for n in lines], pa.int64()),
        ID_COLUMNS[1]: pa.array([shard] * len(part), pa.int32()),
        ID_COLUMNS[2]: pa.array(lines, pa.int64()),
    }
    for c in plan.keep:
        cols[c] = pa.array(
            [cell_text(rec.get(c)) if rec is not None else None for _, rec, _ in part], pa.string()
        )
    cols[READ_ERROR] = pa.array([e or None for _, _, e in part], pa.string())
    return pa.table(cols)


def post_texts(plan: StreamPlan, rows: pa.Table) -> list[str]:
    """The post of every row: its text columns joined as the desktop joins them (`build_post`)."""
    values = [rows.column(c).to_pylist() for c in plan.text_columns]
    idx = list(range(len(values)))
    return [build_post(row, idx).text for row in zip(*values, strict=True)] if values else []


# --------------------------------------------------------------------------- scoring


class _ChunkState(TaskState):
    """A run's TaskState as seen by one chunk: cancellation goes through, progress is offset by
    the rows done before the chunk (the total is unknown while streaming: 0)."""

    def __init__(self, outer: TaskState, base: int) -> None:
        super().__init__()
        self.outer, self.base = outer, base

    def set_progress(self, done: int, total: int) -> None:
        self.outer.set_progress(self.base + done, 0)

    @property
    def cancelled(self) -> bool:
        return self.outer.cancelled

    def check(self) -> None:
        self.outer.check()


def score_rows(
    scorer: Scorer, policy: FlagPolicy, plan: StreamPlan, rows: pa.Table, state: TaskState | None = None
) -> tuple[pa.Table, list[PostResult]]:
    """Score one row table: (its result table, the results). A row that could not be read gets
    `error: <why>`; the rest go through `Scorer.score` with `policy` (the desktop's flag rules,
    the segment-aware suicidewatch rule included). Raises Cancelled."""
    texts = post_texts(plan, rows)
    errors = rows.column(READ_ERROR).to_pylist()
    results = scorer.score(["" if e else t for t, e in zip(texts, errors, strict=True)], state, policy)
    for i, e in enumerate(errors):
        if e:
            results[i] = PostResult(status=f"error: {e}")
    return result_table(plan, rows, results), results


def _arrow_type(v: object):
    import pyarrow as pa

    if isinstance(v, bool):
        return pa.bool_()
    if isinstance(v, int):
        return pa.int64()
    if isinstance(v, float):
        return pa.float64()
    return pa.string()


def result_types(distress_labels: Sequence[str], emotion_labels: Sequence[str]) -> list:
    """Arrow types of the result columns, read off `result_values` of a fully scored post (the
    cell format stays in results.py; a column added there gets its type here by itself)."""
    dl, el = list(distress_labels), list(emotion_labels)
    probe = PostResult(
        status="ok",
        category=dl[0] if dl else "",
        distress_probs=dict.fromkeys(dl, 0.5),
        distress_score=0.5,
        flagged=True,
        flag_rules=["rule"],
        emotion=el[0] if el else "",
        emotion_probs=dict.fromkeys(el, 0.5),
        valence=0.5,
        intensity=0.5,
    )
    return [_arrow_type(v) for v in result_values(probe, dl, el, (0, "text"), [0])]


def _exact(results: Sequence[PostResult], labels: Sequence[str], attr: str):
    import pyarrow as pa

    vals = []
    for r in results:
        probs = getattr(r, attr)
        vals.append([float(probs.get(lab, math.nan)) for lab in labels] if r.scored and probs else None)
    return pa.array(vals, pa.list_(pa.float32()))


def result_table(plan: StreamPlan, rows: pa.Table, results: Sequence[PostResult]) -> pa.Table:
    """The output table of one chunk (see the module doc): the row table without its read-error
    column, then the result cells, then the exact probabilities."""
    import pyarrow as pa

    if len(results) != rows.num_rows:
        raise ValueError(f"{len(results)} results for {rows.num_rows} rows")
    dl, el = plan.distress_labels, plan.emotion_labels
    at = len(ID_COLUMNS)
    text_idx = [at + plan.keep.index(c) for c in plan.text_columns]
    first = (text_idx[0], plan.text_columns[0]) if text_idx else (-1, "")
    cells = [result_values(r, dl, el, first, text_idx) for r in results]
    names = result_columns(dl, el)
    types = result_types(dl, el)
    out = rows.drop_columns([READ_ERROR])
    for j, (name, t) in enumerate(zip(names, types, strict=True)):
        col = [row[j] for row in cells]
        if pa.types.is_floating(t):
            col = [None if v is None else float(v) for v in col]  # type: ignore[arg-type]
        elif pa.types.is_string(t):
            col = [None if v is None else str(v) for v in col]
        out = out.append_column(name, pa.array(col, t))
    out = out.append_column(EXACT_COLUMNS[0], _exact(results, dl, "distress_probs"))
    return out.append_column(EXACT_COLUMNS[1], _exact(results, el, "emotion_probs"))


def count_table(counts: Counts, table: pa.Table) -> None:
    """Add a result table's rows to `counts` (status, category and flag rules, as `Counts.add`
    counts a result): how the Ray engine counts what its workers wrote."""
    status = table.column(PREFIX + "status").to_pylist()
    category = table.column(PREFIX + "category").to_pylist()
    rules = table.column(PREFIX + "flag_rule").to_pylist()
    for s, c, fr in zip(status, category, rules, strict=True):
        names = fr.split("; ") if fr else []
        counts.rows += 1
        counts.add(PostResult(status=s or "", category=c or "", flagged=bool(names), flag_rules=names))


# --------------------------------------------------------------------------- the local engine


@dataclass
class StreamRun:
    """What a streamed run did: counts of every row, scoring time (s), and the first rows that
    could not be read or scored (shard, line and status: never post text)."""

    counts: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    errors: int = 0  # rows with an error status (read or scoring)


MAX_WARNINGS = 20


def note_errors(run: StreamRun, plan: StreamPlan, table: pa.Table) -> None:
    """Count a result table's rows with an `error: ...` status and keep the first MAX_WARNINGS as
    warnings naming the shard and line (the status says what went wrong; never the post text)."""
    status = table.column(PREFIX + "status").to_pylist()
    bad = [i for i, s in enumerate(status) if s and s.startswith("error")]
    if not bad:
        return
    run.errors += len(bad)
    shards = table.column(ID_COLUMNS[1]).to_pylist()
    lines = table.column(ID_COLUMNS[2]).to_pylist()
    for i in bad:
        if len(run.warnings) >= MAX_WARNINGS:
            return
        run.warnings.append(f"{plan.shards[shards[i]].name} line {lines[i]}: {status[i]}")


def run_local(
    scorer: Scorer, policy: FlagPolicy, plan: StreamPlan, write, state: TaskState | None = None
) -> StreamRun:
    """Score every row of the plan on this machine, chunk by chunk, handing each result table to
    `write(table)` in input order. Progress in rows (total 0: unknown); raises Cancelled (the
    caller's writer then leaves nothing behind) and InputError (a shard that cannot be opened)."""
    run = StreamRun()
    t0 = time.perf_counter()
    if state is not None:
        state.check()
        state.set_progress(0, 0)
    for rows in row_tables(plan):
        chunk_state = _ChunkState(state, run.counts.rows) if state is not None else None
        table, results = score_rows(scorer, policy, plan, rows, chunk_state)
        write(table)
        note_errors(run, plan, table)
        for r in results:
            run.counts.add(r)
        run.counts.rows += len(results)
        if state is not None:
            state.check()
            state.set_progress(run.counts.rows, 0)
    run.seconds = time.perf_counter() - t0
    return run
