"""Score a file end to end: read -> score -> (explain) -> export. Qt-free; the CLI and GUI call it.

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

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .results import PostResult
from .tasks import TaskState

EXPLAIN_MODES = ("none", "flagged", "all")
OUTPUT_SUFFIXES = (".xlsx", ".csv", ".tsv")
EXPLAIN_CHUNK = 32  # posts per attribution call (bounded memory; progress and cancel between calls)


@dataclass
class RunSummary:
    """What a `score_file` run did (`--json` prints it)."""

    input: str
    output: str
    rows: int = 0
    scored: int = 0  # status ok or truncated
    empty: int = 0
    errors: int = 0
    truncated: int = 0
    flagged: int = 0
    by_category: dict[str, int] = field(default_factory=dict)  # scored rows per top category
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # the whole run: read, score, explain, export
    scoring_seconds: float = 0.0
    posts_per_second: float = 0.0  # rows / scoring seconds
    explained: int = 0
    explain_note: str = ""  # why attribution was skipped, when it was
    precision: str = ""  # fp32 | bf16 | bf16-fused
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

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for a terminal: rows, flagged, categories, time."""
        cats = ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_category.items(), key=lambda kv: -kv[1]))
        parts = [f"{self.rows:,} rows"]
        extra = [f"{self.empty:,} empty"] if self.empty else []
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
        parts.append(f"{self.seconds:.1f} s ({self.posts_per_second:.0f} posts/s)")
        where = f" (sheet {self.sheet!r})" if self.sheet else ""
        return f"{Path(self.input).name}{where}: " + "; ".join(parts) + f" -> {self.output}"


def summarize(results: list[PostResult]) -> dict:
    """Counts over results (shared by RunSummary and the GUI)."""
    cats = Counter(r.category for r in results if r.scored)
    rules = Counter(n for r in results if r.flagged for n in r.flag_rules)
    return {
        "rows": len(results),
        "scored": sum(r.scored for r in results),
        "empty": sum(r.status == "empty" for r in results),
        "errors": sum(r.status.startswith("error") for r in results),
        "truncated": sum(r.status == "truncated" for r in results),
        "flagged": sum(r.flagged for r in results),
        "by_category": dict(cats.most_common()),
        "flagged_by_rule": dict(rules),
    }


def check_output(out_path: str | Path, input_path: str | Path | None = None) -> Path:
    """Fail early, before any scoring, when the output cannot be written."""
    from .export import ExportError

    out = Path(out_path)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ExportError(
            f"{out.name}: unsupported output type; name a {', '.join(OUTPUT_SUFFIXES)} file"
            " (or, for `cmhl score`, an existing folder or a path ending in /)"
        )
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; choose a file name")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {out.name}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {out.name}: no permission to write in {folder}")
    if out.exists() and not os.access(out, os.W_OK):
        raise ExportError(f"cannot write {out.name}: the file exists and is read-only")
    if input_path is not None:
        src = Path(input_path)
        if out.resolve() == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src)):
            raise ExportError(f"{out.name}: refusing to overwrite the input file; choose another name")
    return out


def explain_results(
    ckpt,
    texts: list[str],
    results: list[PostResult],
    mode: str,
    state: TaskState | None = None,
    policy=None,
) -> tuple[int, str]:
    """Word scores for the flagged (or all scored) posts, in place (`words`, `attribution_target`).
    The class explained is the flagged class under `policy` (its current thresholds; a fired
    "class" rule names it, any-distress explains the most probable non-control class), else the
    top class. Returns (how many were explained, a note when attribution is unavailable)."""
    if mode == "none":
        return 0, ""
    which = [i for i, r in enumerate(results) if r.scored and (mode == "all" or r.flagged)]
    if not which:
        return 0, ""
    try:
        from .attribution import Explainer, default_target
    except ImportError as e:  # only in a build without attribution
        return 0, f"word attribution is not available ({e}); exported without word scores"
    import dataclasses

    import numpy as np

    labels = list(ckpt.config.distress_labels)
    rules = (
        [dataclasses.replace(r, threshold=policy.threshold(r.name)) for r in policy.rules] if policy else []
    )
    explainer = Explainer(ckpt)
    for s in range(0, len(which), EXPLAIN_CHUNK):
        part = which[s : s + EXPLAIN_CHUNK]
        if state is not None:
            state.check()
        targets = []
        for i in part:
            probs = np.array([results[i].distress_probs.get(c, 0.0) for c in labels])
            targets.append(labels[default_target(probs, labels, rules)[0]] if policy else None)
        exps = explainer.explain([texts[i] for i in part], head="distress", target_class=targets)
        for i, e in zip(part, exps, strict=True):
            results[i].words = e.words
            results[i].attribution_target = e.target
        if state is not None:
            state.set_progress(min(s + EXPLAIN_CHUNK, len(which)), len(which))
    return len(which), ""


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
    Raises `Cancelled` (nothing written), `InputError`, `ExportError`, `CheckpointError`."""
    from cmhl.checkpoint import load_checkpoint

    from .export import RunInfo, export_csv, export_xlsx
    from .flags import FlagPolicy
    from .paths import default_checkpoint
    from .readers import read_input
    from .scoring import Scorer

    if explain not in EXPLAIN_MODES:
        raise ValueError(f"explain must be one of {', '.join(EXPLAIN_MODES)}, not {explain!r}")
    t0 = time.perf_counter()
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    out = check_output(out_path, input_path)
    if ckpt is None:
        ckpt = load_checkpoint(Path(model_dir) if model_dir is not None else default_checkpoint())
    policy = FlagPolicy.from_checkpoint(ckpt)
    policy.set_target_recalls(target_recall)
    table = read_input(input_path, sheet=sheet, column=column, encoding=encoding, header=header)
    texts = table.texts()
    if state is not None:
        state.check()

    def phase(name: str, total: int) -> None:
        if on_phase is not None:
            on_phase(name, total)

    phase("score", len(texts))
    scorer = Scorer(ckpt, options)
    t_score = time.perf_counter()
    results = scorer.score(texts, state, policy)
    scoring_seconds = time.perf_counter() - t_score
    if table.results is not None and len(table.results) == len(results):
        for new, old in zip(results, table.results, strict=True):  # a reopened export: keep the review
            new.review_status, new.review_note, new.reviewer = (
                old.review_status,
                old.review_note,
                old.reviewer,
            )

    n_explain = sum(r.scored and (explain == "all" or r.flagged) for r in results) if explain != "none" else 0
    explained, note = 0, ""
    if n_explain:
        phase("explain", n_explain)
        explained, note = explain_results(ckpt, texts, results, explain, state, policy)

    counts = summarize(results)
    run = RunInfo(
        model_name=ckpt.name,
        model_sha256=ckpt.sha256,
        thresholds=policy.thresholds,
        target_recalls={n: t for n in policy.rule_names if (t := policy.target_recall(n)) is not None},
        input_name=table.source.name,
        input_sha256=table.sha256,
        started=started,
        explain_mode=explain,
        extra={
            "precision": scorer.precision,
            "scoring_seconds": f"{scoring_seconds:.1f}",
            "read_limit_tokens": str(scorer.read_limit_tokens),
            **dict(policy.summary_lines()),
            **({"explain_note": note} if note else {}),
        },
    )
    run.set_counts(results)
    run.finished = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    if state is not None:
        state.check()
    phase("export", len(results))
    labels = (ckpt.config.distress_labels, ckpt.config.emotion_labels)
    if out.suffix.lower() == ".xlsx":
        export_xlsx(table, results, out, run, *labels, state=state)
    else:
        export_csv(table, results, out, run, *labels, state=state)
    seconds = time.perf_counter() - t0
    return RunSummary(
        input=str(input_path),
        output=str(out),
        **counts,
        seconds=seconds,
        scoring_seconds=scoring_seconds,
        posts_per_second=len(results) / scoring_seconds if scoring_seconds > 0 else 0.0,
        explained=explained,
        explain_note=note,
        precision=scorer.precision,
        thresholds=policy.thresholds,
        target_recalls={n: policy.target_recall(n) for n in policy.rule_names},
        model=ckpt.name,
        model_sha256=ckpt.sha256,
        input_sha256=table.sha256,
        sheet=table.sheet or "",
        encoding=table.encoding or "",
        header=table.header,
        text_columns=[table.columns[j] for j in table.text_columns],
        warnings=list(table.warnings),
        notes=list(table.notes),
    )
