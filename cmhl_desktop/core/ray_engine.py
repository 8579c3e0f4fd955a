"""Scoring on a Ray cluster through Ray Data (Qt-free; optional: `pip install 'cmhl-desktop[cluster]'`).

    ray.data.from_items(shard indexes)                 one read task per shard
      .map_batches(read_shard)                         -> row tables (stream.row_tables), streamed
      .map_batches(ScoreActor, ActorPoolStrategy(n))   each actor loads the checkpoint once and runs
                                                       stream.score_rows: the desktop's Scorer and
                                                       FlagPolicy, CPU threads or one GPU each
      .write_parquet(OUT_DIR/.cmhl-tmp-*/)             Parquet shards, moved into OUT_DIR at the end

Ray schedules, retries and applies backpressure (memory stays bounded); there is no scheduler of
our own. Without `address` a local Ray instance is started for the run (all CPUs of this machine)
and shut down after it; with one, the run joins that cluster, whose nodes must all see the
inputs, the checkpoint and OUT_DIR at the same paths (shared storage).

Privacy: no post text is logged by this code. Ray is started with usage stats off, no dashboard,
workers' output not forwarded to the driver (`log_to_driver=False`), and bound to 127.0.0.1 when
local. A scoring actor never lets an exception out of a batch (Ray would log the batch's rows):
a batch that fails comes out with `error: ...` statuses instead. A local instance's temp folder
(session logs, spilled objects) is private (0700) and removed after the run;
tests/test_ray_engine.py checks that the session logs hold no post text and that no socket of
Ray's processes leaves loopback.

Order: Ray writes rows in any order; `cmhl_row_id` restores the input order. Counts and warnings
come from reading back the status, category and flag columns of what was written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .export_stream import RECORD_KEY, ROW_GROUP_ROWS
from .stream import ID_COLUMNS, StreamPlan, StreamRun, count_table, note_errors
from .tasks import TaskState

if TYPE_CHECKING:
    import pyarrow as pa

# Set before Ray starts (and passed to a local instance's processes by inheritance).
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage statistics, no prompt about them
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
    "RAY_DISABLE_IMPORT_WARNING": "1",
    "RAY_DEDUP_LOGS": "0",
}
# A local instance's raylet starts workers at nice +15 by default (to keep itself responsive): the
# scoring actors are the whole job, so they run at the command's own priority (measured on a busy
# 2-core machine: 1.7 posts/s at +15 against 12 in the driver). A cluster's own `ray start` decides there.
RAY_LOCAL_DEFAULTS = {"RAY_worker_niceness": "0"}
# A local instance: Ray's node address is the loopback one (Ray otherwise resolves 127.0.0.1 to the
# machine's routable address and listens on every interface). Read by Ray when it is imported.
LOCAL_ONLY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
# Read and write tasks take no CPU slot: the scoring actors hold every CPU (a read or write task
# asking for even 0.01 CPU would then never be scheduled); they mostly wait on I/O. IO_TASKS caps
# how many run at once.
IO_CPUS = 0
IO_TASKS = 2
BLOCK_BYTES = 1 << 20


class RayError(RuntimeError):
    """Ray is missing, cannot start or reach the cluster, or lacks what the run asks for."""


def require_ray(local: bool = False) -> None:
    """Set Ray's environment (`RAY_ENV`; `LOCAL_ONLY_ENV` too when `local`: a run that starts its
    own instance) and import Ray Data. Raises RayError, with the install command, when it is missing.
    The environment only counts when Ray is first imported in this process."""
    os.environ.update(RAY_ENV)
    if local:
        for k, v in RAY_LOCAL_DEFAULTS.items():
            os.environ.setdefault(k, v)
    if local and "ray" not in sys.modules:
        os.environ.update(LOCAL_ONLY_ENV)
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayError(
            f"--engine ray needs Ray Data ({e.name or 'ray'} is missing): pip install 'cmhl-desktop[cluster]'"
        ) from None


def _init_kwargs() -> dict:
    return {
        "include_dashboard": False,
        "log_to_driver": False,  # workers' stdout/stderr stay in the session logs
        "logging_level": logging.WARNING,
        "configure_logging": True,
    }


def start_local_ray(num_cpus: int | None = None, temp_dir: str | Path | None = None) -> None:
    """Start a private local Ray instance bound to 127.0.0.1 (no dashboard, no usage stats).
    temp_dir: its session folder (kept; short: Unix socket paths are at most 107 bytes).
    Raises RayError."""
    require_ray(local=True)
    import ray

    try:
        ray.init(
            num_cpus=num_cpus,
            _temp_dir=str(temp_dir) if temp_dir is not None else None,
            _node_ip_address="127.0.0.1",
            **_init_kwargs(),
        )
    except Exception as e:  # Ray's own errors: no post text is involved yet
        raise RayError(f"could not start a local Ray instance ({type(e).__name__}: {e})") from None


@contextlib.contextmanager
def ray_session(address: str | None = None):
    """Ray for one run: an already initialised Ray is used as it is (and left running); else the
    cluster at `address`, or a private local instance removed afterwards. Raises RayError."""
    require_ray(local=not address)
    import ray

    if ray.is_initialized():
        yield
        return
    tmp = None
    if address:
        try:
            ray.init(address=address, **_init_kwargs())
        except Exception as e:
            raise RayError(
                f"could not connect to the Ray cluster at {address} ({type(e).__name__}: {e})"
            ) from None
    else:
        tmp = tempfile.mkdtemp(prefix="cmhl-ray-")  # 0700: logs and spilled objects stay private
        start_local_ray(temp_dir=tmp)
    try:
        yield
    finally:
        ray.shutdown()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- Ray Data stages


def read_shard(batch: dict, plan: StreamPlan):
    """Ray Data stage: the row tables of the shards named in `batch["shard"]` (a generator: a
    shard streams out table by table)."""
    from .offline import go_offline
    from .stream import row_tables

    go_offline()
    wanted = {int(i) for i in batch["shard"]}
    yield from row_tables(plan, [s for s in plan.shards if s.index in wanted])


class ScoreActor:
    """Ray Data stage: one scoring actor. Loads the checkpoint once; each call scores one row table
    with `stream.score_rows`. Never raises out of a call (see the module doc)."""

    def __init__(self, model_dir: str, options, targets, plan: StreamPlan, record: bytes) -> None:
        from .offline import go_offline

        go_offline()
        from .loaded_model import LoadedModel
        from .session import ScoringSession

        self.model = LoadedModel.load(model_dir, options)
        self.policy = ScoringSession(self.model, targets=targets).policy
        self.plan, self.record = plan, record

    def __call__(self, rows: pa.Table) -> pa.Table:
        from .results import PostResult
        from .stream import result_table, score_rows

        try:
            table, _ = score_rows(self.model.scorer, self.policy, self.plan, rows)
        except Exception as e:  # a failed batch: its rows come out as errors, nothing is logged
            failed = [PostResult(status=f"error: scoring failed on a Ray worker ({type(e).__name__})")]
            table = result_table(self.plan, rows, failed * rows.num_rows)
        return table.replace_schema_metadata({RECORD_KEY: self.record})


# --------------------------------------------------------------------------- a run


def _sizing(ray, options, workers: int | None) -> tuple[str, int, int]:
    """(device, actors, CPU threads per actor) for this cluster. Raises RayError."""
    res = ray.cluster_resources()
    cpus, gpus = int(res.get("CPU", 1)), int(res.get("GPU", 0))
    device = options.device
    if device == "cuda" and gpus < 1:
        raise RayError("--device cuda: the Ray cluster has no GPU; use --device cpu or auto")
    if device == "auto":
        device = "cuda" if gpus else "cpu"
    if device == "cuda":
        return device, workers or gpus, options.threads or 1
    if workers:
        return device, workers, options.threads or max(1, cpus // workers)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    per_node = min((int(n["Resources"].get("CPU", 1)) for n in nodes), default=cpus)
    threads = options.threads or max(1, per_node)  # one actor per machine, all its cores
    return device, max(1, cpus // threads), threads


def run_ray(
    model_dir: Path,
    options,
    targets,
    plan: StreamPlan,
    out_dir: Path,
    state: TaskState | None,
    record: dict,
    address: str | None = None,
    workers: int | None = None,
) -> tuple[StreamRun, dict[str, str]]:
    """Score the plan with Ray Data into Parquet shards in `out_dir`; returns (what was written,
    the engine's facts for the record). `record` (without counts) goes into every shard's
    metadata. Raises RayError, Cancelled / KeyboardInterrupt (nothing is left in `out_dir`)."""
    import dataclasses
    import json

    with ray_session(address):
        import ray

        device, n, threads = _sizing(ray, options, workers)
        opts = dataclasses.replace(options, device=device, threads=threads)
        info = {
            "engine": "ray",
            "ray_address": address or "local instance",
            "ray_workers": str(n),
            "device": device,
            "threads_per_worker": str(threads),
            "precision": "decided by each worker (bf16 where the CPU supports it; GPU: agreement check)",
        }
        record = {**record, **info}
        raw = json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = state is not None and not getattr(state, "quiet", False)
        # Ray hands a block to one actor: blocks of a few chunks let every actor work even on one
        # big shard (the default, 128 MiB, makes a dump of short posts one block: one busy actor).
        ctx.target_max_block_size = BLOCK_BYTES
        tmp = Path(tempfile.mkdtemp(prefix=".cmhl-tmp-", dir=out_dir))
        t0 = time.perf_counter()
        try:
            if state is not None:
                state.check()
            ds = ray.data.from_items(
                [{"shard": s.index} for s in plan.shards], override_num_blocks=len(plan.shards)
            )
            ds = ds.map_batches(
                read_shard,
                fn_kwargs={"plan": plan},
                batch_size=1,
                num_cpus=IO_CPUS,
                compute=ray.data.TaskPoolStrategy(size=min(IO_TASKS, len(plan.shards))),
            )
            ds = ds.map_batches(
                ScoreActor,
                fn_constructor_kwargs={
                    "model_dir": str(model_dir),
                    "options": opts,
                    "targets": targets,
                    "plan": plan,
                    "record": raw,
                },
                batch_size=plan.chunk,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=n),
                num_cpus=threads if device == "cpu" else 1,
                num_gpus=1 if device == "cuda" else 0,
            )
            ds.write_parquet(
                str(tmp),
                min_rows_per_file=ROW_GROUP_ROWS,
                ray_remote_args={"num_cpus": IO_CPUS},
                concurrency=IO_TASKS,
            )
            seconds = time.perf_counter() - t0
            if state is not None:
                state.check()
            run = _read_back(tmp, plan)
            run.seconds = seconds
            for f in sorted(tmp.iterdir()):
                os.replace(f, out_dir / f.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return run, info


def _read_back(folder: Path, plan: StreamPlan) -> StreamRun:
    """Counts and error warnings of the shards Ray wrote (only the small columns are read)."""
    import pyarrow.dataset as pads

    from .results import PREFIX

    run = StreamRun()
    cols = [*ID_COLUMNS[1:], PREFIX + "status", PREFIX + "category", PREFIX + "flag_rule"]
    for batch in pads.dataset(str(folder), format="parquet").to_batches(columns=cols):
        import pyarrow as pa

        table = pa.Table.from_batches([batch])
        count_table(run.counts, table)
        note_errors(run, plan, table)
    return run
