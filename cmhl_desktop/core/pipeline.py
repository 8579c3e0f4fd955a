"""Score a file end to end: read -> score -> (explain) -> export, as `cmhl score` does it: a thin use
of the scoring session (`session.py`, which the window drives too). Qt-free.

Guarantees
- Every input row comes out, in order, with its original columns untouched (see export.py).
- The input is only ever opened for reading.
- Nothing is written before scoring (and attribution) is done, and the export is atomic (a temp file
  beside the output, then a rename): a cancel (`Cancelled`, Ctrl-C) or an error at any point leaves
  no output file and an existing file of that name as it was.
- Problems a user can fix (bad output folder or suffix, missing column, unreadable input) are raised
  before the long work starts, as `ExportError` / `InputError` with one clear message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .export import ORDERS
from .loaded_model import LoadedModel
from .session import ScoringSession, check_output
from .session_explain import EXPLAIN_MODES
from .tasks import TaskState


@dataclass
class RunSummary:
    """What a `score_file` run did (`--json` prints it)."""

    input: str
    output: str
    rows: int = 0
    scored: int = 0  # status ok or truncated
    empty: int = 0
    no_content: int = 0  # no readable words: not scored, never flagged
    errors: int = 0
    truncated: int = 0
    flagged: int = 0
    by_category: dict[str, int] = field(default_factory=dict)  # scored rows per top category
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # the whole run: read, score, explain, export
    scoring_seconds: float = 0.0
    posts_per_second: float = 0.0  # rows / scoring seconds
    explained: int = 0
    precision: str = ""  # fp32 | fp32-fused | bf16 | bf16-fused | cuda-...
    thresholds: dict[str, float] = field(default_factory=dict)
    target_recalls: dict[str, float | None] = field(default_factory=dict)
    model: str = ""
    model_sha256: str = ""
    input_sha256: str = ""
    sheet: str = ""  # the workbook sheet scored ("" for other inputs)
    encoding: str = ""  # text inputs: the encoding read
    header: bool = True  # False: the first row was data
    text_columns: list[str] = field(default_factory=list)  # the columns each post was built from
    warnings: list[str] = field(default_factory=list)  # what was repaired while reading (no post text)
    notes: list[str] = field(default_factory=list)  # choices made for the user (sheet, ...)

    @classmethod
    def of(cls, counts, policy, **fields) -> RunSummary:
        """A summary from a run's `triage.Counts` and its `FlagPolicy` (thresholds, target recalls);
        `fields` fill the rest. One place for what both the desktop and the streamed path report."""
        return cls(
            scored=counts.scored,
            empty=counts.empty,
            no_content=counts.no_content,
            errors=counts.errors,
            truncated=counts.truncated,
            flagged=counts.flagged,
            by_category={k: n for k, n in counts.by_category.most_common() if n},
            flagged_by_rule={k: n for k, n in counts.flagged_by_rule.items() if n},
            thresholds=policy.thresholds,
            target_recalls={n: policy.target_recall(n) for n in policy.rule_names},
            **fields,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for a terminal: rows, flagged, categories, time."""
        cats = ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_category.items(), key=lambda kv: -kv[1]))
        parts = [f"{self.rows:,} row{'' if self.rows == 1 else 's'}"]
        extra = [f"{self.empty:,} empty"] if self.empty else []
        if self.no_content:
            extra.append(f"{self.no_content:,} with no content")
        if self.errors:
            extra.append(f"{self.errors:,} errors")
        if self.truncated:
            extra.append(f"{self.truncated:,} truncated")
        if extra:
            parts[0] += f" ({', '.join(extra)})"
        parts.append(f"{self.flagged:,} flagged")
        if cats:
            parts.append(cats)
        if self.explained:
            parts.append(f"{self.explained:,} explained")
        # the rate is over the model's time (scoring_seconds), the seconds are the whole run's
        parts.append(f"{self.seconds:.1f} s in all (scoring {self.posts_per_second:.0f} posts/s)")
        where = f" (sheet {self.sheet!r})" if self.sheet else ""
        return f"{Path(self.input).name}{where}: " + "; ".join(parts) + f" -> {self.output}"


def score_file(
    input_path: str | Path,
    out_path: str | Path,
    model_dir: str | Path | None = None,
    column: str | int | list[str | int] | None = None,
    sheet: str | None = None,
    target_recall: float | Mapping[str, float] | None = None,
    explain: str = "none",
    state: TaskState | None = None,
    options=None,
    *,
    ckpt=None,
    on_phase: Callable[[str, int], None] | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    order: str = "input",
) -> RunSummary:
    """Read `input_path`, score every row, optionally explain flagged/all posts, export to `out_path`
    (.xlsx, or .csv/.tsv by suffix).

    target_recall: a float moves every flag rule to that validation recall; a {rule: recall} mapping
    moves the rules it names; None keeps the checkpoint's stored thresholds.
    options: `ScoringOptions`. ckpt: an already loaded checkpoint (several files, one load).
    on_phase(name, total): called when a phase starts ("score", "explain", "export"); progress of
    the phase then goes to `state.set_progress(done, total)`.
    column: one column, or a list joined into each post (title + body); encoding: a codec name for
    text inputs (None detects); header: whether the first row is a header (None detects).
    order: "input" (every row in input order) or "concern" (most concerning first); each row
    carries cmhl_concern_rank either way.
    Raises `Cancelled` (nothing written), `InputError`, `ExportError`, `CheckpointError`, `PolicyError`."""
    from .paths import default_checkpoint

    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if explain not in EXPLAIN_MODES:
        raise ValueError(f"explain must be one of {', '.join(EXPLAIN_MODES)}, not {explain!r}")
    t0 = time.perf_counter()
    out = check_output(out_path, input_path)
    if ckpt is not None:
        model = LoadedModel.from_checkpoint(ckpt, options)
    else:
        model = LoadedModel.load(model_dir if model_dir is not None else default_checkpoint(), options)
    session = ScoringSession(model, targets=target_recall)  # no review store: the CLI keeps none
    table = session.open(input_path, sheet=sheet, column=column, encoding=encoding, header=header)
    if out.suffix.lower() == ".xlsx":  # refuse before scoring, never a broken workbook
        from .export_stream import check_xlsx_rows

        check_xlsx_rows(len(session.texts), out)
    if state is not None:
        state.check()

    def phase(name: str, total: int) -> None:
        if on_phase is not None:
            on_phase(name, total)

    phase("score", len(session.texts))
    session.score(state)
    explained = 0
    if explain != "none" and (rows := session.rows_to_explain(explain)):
        phase("explain", len(rows))
        explained = session.explain_posts(explain, state)
    if state is not None:
        state.check()
    phase("export", len(session.results))
    session.export(out, state, order=order)
    c, policy = session.counts, session.policy
    return RunSummary.of(
        c,
        policy,
        input=str(input_path),
        output=str(out),
        rows=len(session.results),
        seconds=time.perf_counter() - t0,
        scoring_seconds=session.scoring_seconds or 0.0,
        posts_per_second=len(session.results) / session.scoring_seconds if session.scoring_seconds else 0.0,
        explained=explained,
        precision=model.scorer.precision,
        model=model.name,
        model_sha256=model.sha256,
        input_sha256=table.sha256,
        sheet=table.sheet or "",
        encoding=table.encoding or "",
        header=table.header,
        text_columns=[table.columns[j] for j in table.text_columns],
        warnings=list(table.warnings),
        notes=list(table.notes),
    )
