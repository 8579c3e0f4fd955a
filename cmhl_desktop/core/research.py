"""Score a dataset of shards end to end (Qt-free): `cmhl score` for streamed inputs and Parquet
outputs, on this machine or through Ray (docs/ARCHITECTURE.md, "Research scale").

    score_dataset(["dumps/RS_2019-*.zst"], "out.parquet")                 # local, streamed
    score_dataset(["dumps/"], "out/", engine="ray", address="head:6379")  # a Ray cluster

Steps: the output is checked (before any work); the inputs are expanded into shards and hashed;
the model is loaded and the flag policy set at the target recalls (as `ScoringSession` does it);
the run is planned from the first records (stream.py); then scored, locally into one file
(`export_stream.write_stream`) or with Ray into a folder of Parquet shards (ray_engine.py); last,
the run record (model, thresholds, input hashes, versions, counts) is written beside the output.

Guarantees (as `pipeline.score_file`): every input row comes out once with its row id, the text
columns untouched; the inputs are only read; a cancel (`Cancelled`, Ctrl-C) or an error leaves no
output; problems a user can fix (bad output, unknown column, unreadable input) are raised as
`ExportError` / `InputError` before the long work starts.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .export import ExportError, RunInfo
from .export_stream import SIDECAR_IN_FOLDER, XLSX_MAX_ROWS, record_dict, write_sidecar, write_stream
from .loaded_model import LoadedModel
from .pipeline import RunSummary
from .session import ScoringSession, now_iso
from .shards import Shard, dataset_sha256, expand_inputs, hash_shards
from .stream import (
    EXACT_COLUMNS,
    ROW_ID_BASE,
    StreamPlan,
    StreamRun,
    make_plan,
    result_table,
    rows_table,
    run_local,
)
from .tasks import TaskState
from .triage import Counts

ENGINES = ("local", "ray")
LOCAL_IN_FOLDER = "scored.parquet"


def is_folder_output(out_arg: str | Path) -> bool:
    """Whether `-o` names a folder: an existing one, a path ending in "/", or a name without a suffix."""
    text = str(out_arg)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix


def plan_output(out_arg: str | Path, engine: str = "local") -> Path:
    """The output path, checked before any work. A folder (existing, a path ending in "/", or a
    name without a suffix):
    Ray writes its Parquet shards there, the local engine `scored.parquet`; a file: .parquet,
    .csv or .tsv (local engine only). Raises ExportError with what to do instead."""
    if engine not in ENGINES:
        raise ExportError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}")
    out = Path(out_arg)
    if not is_folder_output(out_arg):
        suffix = out.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            raise ExportError(
                f"{out.name}: a streamed input (a dump, Parquet, a folder of shards) can hold more rows "
                f"than a workbook ({XLSX_MAX_ROWS:,} rows); write -o "
                f"{out.with_suffix('.parquet').name} or -o {out.with_suffix('.csv').name}"
            )
        if suffix not in (".parquet", ".csv", ".tsv"):
            raise ExportError(f"{out.name}: name a .parquet, .csv or .tsv file, or a folder ending in /")
        if engine == "ray":
            raise ExportError(
                f"{out.name}: --engine ray writes a folder of Parquet shards; give -o {out.stem}/"
            )
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise ExportError(f"cannot write {out.name}: the folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ExportError(f"cannot write {out.name}: no permission to write in {parent}")
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{out}: cannot create the output folder ({e.strerror or e})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write in {out}: no permission")
    old = [p.name for p in out.iterdir() if p.suffix == ".parquet" or p.name == SIDECAR_IN_FOLDER]
    if old:
        raise ExportError(f"{out}: already holds a scored dataset ({old[0]}); choose an empty folder")
    return out / LOCAL_IN_FOLDER if engine == "local" else out


def _versions() -> dict[str, str]:
    import pyarrow
    import torch
    import transformers

    from cmhl_desktop import __version__

    v = {
        "cmhl_desktop": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "pyarrow": pyarrow.__version__,
    }
    try:
        from importlib.metadata import version

        v["ray"] = version("ray")
    except Exception:  # not installed: the cluster extra is optional
        pass
    return v


def run_record(
    model: LoadedModel,
    session: ScoringSession,
    plan: StreamPlan,
    engine: dict[str, str],
    counts: Counts | None = None,
    started: str = "",
    seconds: float | None = None,
) -> dict:
    """The run record as data (RunInfo's rows + shards, columns, labels, versions, engine). Without
    `counts` (a record written before the end) the row counts are left out."""
    policy, shards = session.policy, plan.shards
    name = (
        shards[0].name if len(shards) == 1 else f"{len(shards)} files: {shards[0].name} ... {shards[-1].name}"
    )
    info = RunInfo(
        model_name=model.name,
        model_sha256=model.sha256,
        thresholds=policy.thresholds,
        target_recalls=session.target_recalls(),
        input_name=name,
        input_sha256=shards[0].sha256 if len(shards) == 1 else dataset_sha256(shards),
        started=started,
        extra={**engine, "read_limit_tokens": str(model.scorer.read_limit_tokens)},
    )
    info.extra.update(policy.summary_lines())
    if counts is not None:
        info.rows_total, info.rows_scored, info.rows_empty = counts.rows, counts.scored, counts.empty
        info.rows_flagged, info.rows_errors, info.rows_no_content = (
            counts.flagged,
            counts.errors,
            counts.no_content,
        )
        info.finished = now_iso()
        info.extra["scoring_seconds"] = f"{seconds or 0.0:.1f}"
    record = record_dict(
        info,
        {
            "shards": [s.describe() for s in shards],
            "text_columns": plan.text_columns,
            "kept_columns": plan.keep,
            "distress_labels": plan.distress_labels,
            "emotion_labels": plan.emotion_labels,
            "row_id": f"cmhl_row_id = cmhl_shard * {ROW_ID_BASE} + cmhl_line",
            "exact_columns": f"{', '.join(EXACT_COLUMNS)}: unrounded probabilities in label order",
            "versions": _versions(),
        },
    )
    if counts is None:
        for k in [k for k in record if k.startswith("rows_") or k == "finished"]:
            del record[k]
    return record


def score_dataset(
    inputs: Sequence[str | Path],
    out_path: str | Path,
    model_dir: str | Path | None = None,
    column: str | Sequence[str] | None = None,
    keep: Sequence[str] = (),
    target_recall: float | Mapping[str, float] | None = None,
    options=None,
    state: TaskState | None = None,
    *,
    ckpt=None,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    on_phase: Callable[[str, int], None] | None = None,
) -> RunSummary:
    """Score every record of `inputs` (files, folders of shards, glob patterns) into `out_path`.

    engine "local": this process, into one .parquet/.csv/.tsv file (a folder gets
    `scored.parquet`); "ray": a Ray instance (`address` of a running cluster, or None to start a
    local one) writes a folder of Parquet shards (ray_engine.py), `workers` actors. options:
    `ScoringOptions` (its `device` picks CPU or GPU). column / keep / target_recall: see
    `stream.make_plan` and `pipeline.score_file`. on_phase(name, total): "hash", "score".
    Raises ExportError, InputError, CheckpointError, PolicyError, Cancelled (nothing written),
    ray_engine.RayError."""
    from .paths import default_checkpoint
    from .scoring import ScoringOptions

    t0 = time.perf_counter()
    options = options or ScoringOptions()
    out = plan_output(out_path, engine)
    if engine == "ray":
        from .ray_engine import require_ray

        require_ray(local=not address)
    shards = expand_inputs(inputs)

    def phase(name: str, total: int) -> None:
        if on_phase is not None:
            on_phase(name, total)

    phase("hash", sum(s.size for s in shards))
    shards = hash_shards(shards, state)
    if ckpt is not None:
        model = LoadedModel.from_checkpoint(ckpt, options)
    else:
        model = LoadedModel.load(model_dir if model_dir is not None else default_checkpoint(), options)
    session = ScoringSession(model, targets=target_recall)  # the flag policy, as the desktop sets it
    plan = make_plan(shards, model.distress_labels, model.emotion_labels, column, keep, options.chunk)
    started = now_iso()
    phase("score", 0)
    if engine == "ray":
        from .ray_engine import run_ray

        first = run_record(model, session, plan, {}, started=started)
        run, info = run_ray(
            Path(model.path),
            options,
            target_recall,
            plan,
            out,
            state,
            first,
            address=address,
            workers=workers,
        )
    else:
        info = {"engine": "local", "device": str(model.scorer.device), "precision": model.scorer.precision}
        run = _run_local_file(model, session, plan, out, info, started, state)
        info["precision"] = model.scorer.precision  # decided on the first chunk on a GPU
    record = run_record(model, session, plan, info, run.counts, started, run.seconds)
    record["warnings"] = run.warnings
    write_sidecar(out.parent if engine == "local" and is_folder_output(out_path) else out, record)
    return _summary(inputs, out, shards, plan, run, record, time.perf_counter() - t0, session)


def _run_local_file(
    model: LoadedModel,
    session: ScoringSession,
    plan: StreamPlan,
    out: Path,
    info: dict[str, str],
    started: str,
    state: TaskState | None,
) -> StreamRun:
    schema = result_table(plan, rows_table(plan, 0, []), []).schema
    first = run_record(model, session, plan, info, started=started)
    done: list[StreamRun] = []

    def produce(write) -> dict:
        run = run_local(model.scorer, session.policy, plan, write, state)
        done.append(run)
        info["precision"] = model.scorer.precision
        return run_record(model, session, plan, info, run.counts, started, run.seconds)

    write_stream(out, schema, first, produce, skip_in_csv=EXACT_COLUMNS)
    return done[0]


def _summary(
    inputs,
    out: Path,
    shards: list[Shard],
    plan: StreamPlan,
    run: StreamRun,
    record: dict,
    seconds: float,
    session,
) -> RunSummary:
    c, policy = run.counts, session.policy
    notes = [f"{len(shards)} input file(s); row order: sort by cmhl_row_id"]
    if run.errors > len(run.warnings):
        notes.append(f"{run.errors:,} rows have an error status; the first {len(run.warnings)} are listed")
    return RunSummary.of(
        c,
        policy,
        input=", ".join(str(i) for i in inputs),
        output=str(out),
        rows=c.rows,
        seconds=seconds,
        scoring_seconds=run.seconds,
        posts_per_second=c.rows / run.seconds if run.seconds else 0.0,
        precision=str(record.get("precision", "")),
        model=str(record.get("model_name", "")),
        model_sha256=str(record.get("model_sha256", "")),
        input_sha256=str(record.get("input_sha256", "")),
        text_columns=list(plan.text_columns),
        warnings=list(run.warnings),
        notes=notes,
    )
