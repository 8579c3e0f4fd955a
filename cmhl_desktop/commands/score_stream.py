"""`cmhl score` for research-scale runs: streamed inputs, Parquet/csv outputs, and Ray.

    cmhl score 'dumps/RS_2019-*.zst' -o scored.parquet              # this machine, streamed
    cmhl score dumps/ -o scored.csv --column title --column selftext
    cmhl score dumps/ -o out/ --engine ray                           # a local Ray instance
    cmhl score dumps/ -o out/ --engine ray --address HEAD:6379       # a running Ray cluster

A run is streamed when an input is a dump (.zst, .gz), an .ndjson, a Parquet file, a folder of
them or a glob pattern, when the output is .parquet, or with --engine ray. All inputs then form one
dataset: every record comes out once, with `cmhl_row_id` (shard * 10**12 + line) to restore the
order, the text columns untouched, and the run record (model, thresholds, input hashes, versions,
counts) in the Parquet metadata and in a sidecar JSON (core/research.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_stream_arguments(p, positive_int) -> None:
    """The options only streamed runs read, added to `cmhl score`'s parser (`positive_int`: its
    argument type for counts; score.py imports this module, never the other way)."""
    p.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="COL",
        help="streamed runs: also write this input column (repeatable); the text columns and "
        "id/subreddit/created_utc are always written",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: Ray Data actors, into a folder of Parquet shards",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="--engine ray: a running Ray cluster (HOST:PORT or 'auto'); default: start a local "
        "instance for this run",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="--engine ray: scoring actors (each loads the model once); default: one per GPU with "
        "--device cuda, else as many as the CPUs allow at --threads each",
    )


def wants_stream(args) -> bool:
    """Whether `cmhl score` takes the streamed path (see the module doc)."""
    from ..core.shards import is_streamed

    if args.engine == "ray" or args.address or args.workers:
        return True
    if Path(args.output).suffix.lower() == ".parquet":
        return True
    return any(is_streamed(i) for i in args.inputs)


def run(args, opts, target, bars) -> int:
    """A streamed `cmhl score`. opts: `ScoringOptions`; target: the target recall(s) as
    `score_dataset` takes them; bars: score.py's progress bars (phase, progress, close). Returns the
    exit status (2: a usage error, a flag-policy or Ray error; the message is printed)."""
    from ..core.flags import PolicyError
    from ..core.ray_engine import RayError
    from ..core.research import score_dataset
    from ..core.tasks import TaskState

    bad = ""
    if args.sheet or args.encoding or args.header is not None or args.explain != "none":
        bad = (
            "--sheet, --encoding, --header/--no-header and --explain are for the desktop path "
            "(an .xlsx/.csv output of a spreadsheet or text input), not for streamed runs"
        )
    elif args.engine != "ray" and (args.address or args.workers):
        bad = "--address and --workers go with --engine ray"
    if bad:
        bars.close()
        print(f"error: {bad}", file=sys.stderr)
        return 2
    try:
        s = score_dataset(
            [str(i) for i in args.inputs],
            args.output,
            model_dir=args.model,
            column=args.column,
            keep=args.keep,
            target_recall=target,
            options=opts,
            state=TaskState(bars.progress),
            engine=args.engine,
            address=args.address,
            workers=args.workers,
            on_phase=bars.phase,
        )
    except (PolicyError, RayError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        bars.close()
    for w in s.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for n in s.notes:
        print(f"note: {n}", file=sys.stderr)
    print(json.dumps(s.to_dict(), indent=1) if args.json else s.line())
    return 0
