"""`cmhl score INPUT... -o OUT [--column C]... [--sheet S] [--encoding E] [--no-header] [--model DIR]
[--target-recall R] [--explain none|flagged|all] [--order input|concern] [--batch-size N] [--threads N]
[--no-bf16] [--json]`.

One input: OUT is the output file (.xlsx, or .csv/.tsv). Several inputs: OUT must be a folder (it is
created if missing), and each input is written to OUT/<input stem>.scored.xlsx (a folder of .txt
files: <folder name>.scored.xlsx). A single input with an existing folder (or a path ending in "/")
as OUT is written the same way. Inputs are scored one after the other with one loaded model; a
Ctrl-C leaves no partial file (the outputs of inputs already finished stay, complete).

Long posts are read whole in overlapping windows; a post longer than the checkpoint reads (for the
shipped model 6,206 tokens, roughly 25,000-30,000 characters) is scored on its first part and its
cmhl_status says "truncated". Empty cells give status "empty"; a row that cannot be scored gives
"error: <reason>" and the run goes on.

Give --column twice (`--column title --column selftext`) to build each post from several columns,
joined by a blank line; a forum dump with `title` and `selftext` columns is joined so by default.
What the reader repaired (stray bytes, an unclosed quote) is printed as a warning, and the summary
names the sheet scored.

Research scale (score_stream.py): compressed NDJSON dumps (.zst, .gz), .ndjson, Parquet, globs and
folders of shards are streamed as one dataset into one .parquet/.csv file (memory stays flat), and
`--engine ray` scores them on a Ray cluster into a folder of Parquet shards. `--device` picks the
CPU or a CUDA GPU on either path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def target_recall_arg(value: str) -> tuple[str | None, float]:
    """'0.9' (every flag rule) or 'RULE=0.9' (one rule)."""
    name, _, num = value.rpartition("=")
    try:
        r = float(num)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a recall such as 0.9, or RULE=0.9") from None
    if not 0 < r <= 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a target recall must be in (0, 1]")
    return (name or None), r


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: must be at least 1")
    return n


def add_parser(sub) -> None:
    from ..core.paths import default_checkpoint

    p = sub.add_parser(
        "score",
        help="score posts in files and export an annotated spreadsheet",
        description=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help=".xlsx, .csv, .tsv, .txt, .jsonl or a folder of .txt; streamed: .jsonl/.ndjson[.zst|.gz], "
        ".zst dumps, .parquet, a folder of them or a quoted glob ('dumps/RS_2019-*.zst')",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output .xlsx/.csv/.tsv file; or a folder: OUT/<stem>.scored.xlsx per input; "
        "streamed runs: a .parquet/.csv/.tsv file or a folder (OUT/scored.parquet; Ray: Parquet shards)",
    )
    p.add_argument(
        "--column",
        action="append",
        help="the text column (name or 0-based index; default: guessed); repeat it to join several "
        "columns into each post, e.g. --column title --column selftext",
    )
    p.add_argument(
        "--sheet", help="the workbook sheet (default: the sheet shown when it was saved, if visible)"
    )
    add_read_options(p)
    p.add_argument(
        "--model", type=Path, default=None, help=f"checkpoint folder (default {default_checkpoint()})"
    )
    p.add_argument(
        "--target-recall",
        type=target_recall_arg,
        action="append",
        metavar="R",
        help="validation recall the flag thresholds are moved to: R for every flag rule, or RULE=R "
        "(repeatable, e.g. --target-recall any_distress=0.9); default: the checkpoint's thresholds",
    )
    p.add_argument(
        "--explain",
        choices=("none", "flagged", "all"),
        default="none",
        help="word attribution for flagged or all posts (slower; default none)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="N",
        help="at most N windows per forward pass (default 1024)",
    )
    p.add_argument(
        "--order",
        choices=("input", "concern"),
        default="input",
        help="row order of the output: input (every input row, in order; default) or concern (most "
        "concerning first: crisis-rule flags, other flags, the rest). Either way each row gets "
        "cmhl_concern_rank (1 = most concerning) to sort by",
    )
    p.add_argument("--threads", type=positive_int, metavar="N", help="CPU threads (default: all cores)")
    p.add_argument(
        "--no-bf16", action="store_true", help="score in fp32 (default: bf16 where the CPU supports it)"
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs: auto (a CUDA GPU when there is one), cpu or cuda (default auto)",
    )
    from .score_stream import add_stream_arguments

    add_stream_arguments(p, positive_int)
    p.add_argument("--json", action="store_true", help="print the run summary as JSON (no progress bar)")
    p.set_defaults(func=run)


class UsageError(ValueError):
    pass


class _Bars:
    """One tqdm bar per phase (score, explain, export) of one input, on stderr."""

    def __init__(self, name: str, disable: bool) -> None:
        self.name, self.disable, self.bar = name, disable, None

    def phase(self, phase: str, total: int) -> None:
        from tqdm.auto import tqdm

        self.close()
        unit = {"export": "row", "hash": "B"}.get(phase, "post")  # hash: a streamed run's input bytes
        self.bar = tqdm(
            total=total or None,
            desc=f"{phase} {self.name}",
            unit=unit,
            unit_scale=phase == "hash",
            disable=self.disable,
            leave=False,
        )

    def progress(self, done: int, total: int) -> None:
        if self.bar is not None:
            if total and self.bar.total != total:  # 0: unknown (a streamed run)
                self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def wants_folder(inputs: list[Path], output: str) -> bool:
    return len(inputs) > 1 or output.endswith(("/", "\\")) or Path(output).is_dir()


def plan_outputs(inputs: list[Path], output_arg: str) -> list[tuple[Path, Path]]:
    """(input, output) pairs; see the module doc for the folder rule."""
    output = Path(output_arg)
    if not wants_folder(inputs, output_arg):
        return [(inputs[0], output)]
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: with several inputs, -o must be a folder (got an existing file)")
    if output.suffix.lower() in (".xlsx", ".csv", ".tsv") and not output.is_dir():
        raise UsageError(f"{output}: with several inputs, -o must be a folder, not a {output.suffix} file")
    pairs, seen = [], {}
    for src in inputs:
        stem = src.resolve().name if src.is_dir() else src.stem
        out = output / f"{stem}.scored.xlsx"
        if out in seen:
            raise UsageError(f"{seen[out]} and {src} would both be written to {out}; score them separately")
        seen[out] = src
        pairs.append((src, out))
    return pairs


def scoring_options(args):
    """`ScoringOptions` from the arguments. Raises UsageError for a device this machine lacks."""
    from ..core.compute import resolve_device
    from ..core.scoring import ScoringOptions

    try:
        resolve_device(args.device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    opts = ScoringOptions(bf16=False if args.no_bf16 else None, threads=args.threads, device=args.device)
    if args.batch_size:
        opts.max_batch = args.batch_size
    return opts


def target_recalls(args) -> float | dict[str, float] | None:
    """--target-recall as `score_file` takes it. Raises UsageError when both forms are mixed."""
    if not args.target_recall:
        return None
    named = {n: r for n, r in args.target_recall if n is not None}
    plain = [r for n, r in args.target_recall if n is None]
    if plain and named:
        raise UsageError("give --target-recall either as one R for every rule or as RULE=R, not both")
    return plain[-1] if plain else named


def run(args) -> int:
    from cmhl.checkpoint import load_checkpoint

    from ..core.flags import PolicyError
    from ..core.paths import default_checkpoint
    from ..core.pipeline import score_file
    from ..core.session import check_output
    from ..core.tasks import TaskState
    from . import score_stream

    if score_stream.wants_stream(args):
        try:
            opts, target = scoring_options(args), target_recalls(args)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return score_stream.run(args, opts, target, _Bars(Path(str(args.inputs[0])).name, disable=args.json))
    try:
        if args.keep:
            raise UsageError("--keep is for streamed runs (a .parquet output, dumps or --engine ray)")
        pairs = plan_outputs(list(args.inputs), args.output)
        for src, _ in pairs:
            if not src.exists():
                raise UsageError(f"{src}: no such file or folder")
        if wants_folder(list(args.inputs), args.output):
            try:
                Path(args.output).mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise UsageError(
                    f"{args.output}: cannot create the output folder ({e.strerror or e})"
                ) from None
        for src, out in pairs:
            check_output(out, src)
        target = target_recalls(args)
        opts = scoring_options(args)
        ckpt = load_checkpoint(args.model or default_checkpoint())
        if isinstance(target, dict):  # unknown rule names: fail before any scoring
            from ..core.flags import FlagPolicy

            FlagPolicy.from_checkpoint(ckpt).set_target_recalls(target)
    except (UsageError, PolicyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    summaries = []
    for src, out in pairs:
        bars = _Bars(src.name, disable=args.json)
        try:
            s = score_file(
                src,
                out,
                column=args.column[0] if args.column and len(args.column) == 1 else args.column,
                sheet=args.sheet,
                encoding=args.encoding,
                header=args.header,
                target_recall=target,
                explain=args.explain,
                state=TaskState(bars.progress),
                options=opts,
                ckpt=ckpt,
                on_phase=bars.phase,
                order=args.order,
            )
        except PolicyError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        finally:
            bars.close()
        summaries.append(s)
        for w in s.warnings:
            print(f"warning: {w}", file=sys.stderr)
        for n in s.notes:
            print(f"note: {n}", file=sys.stderr)
        if not args.json:
            print(s.line())
    if args.json:
        data = [s.to_dict() for s in summaries]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=1))
    return 0


def add_read_options(p) -> None:
    """--encoding and --header/--no-header, the read options `cmhl score` and `cmhl explain` share."""
    p.add_argument(
        "--encoding",
        metavar="E",
        help="text encoding of .csv/.tsv/.txt/.jsonl inputs, e.g. utf-8, cp1252, mac_roman, shift_jis "
        "(default: detected)",
    )
    hdr = p.add_mutually_exclusive_group()
    hdr.add_argument(
        "--no-header",
        dest="header",
        action="store_false",
        default=None,
        help="the first row of a .csv/.tsv/.xlsx is data, not column names (default: detected)",
    )
    hdr.add_argument("--header", dest="header", action="store_true", help="the first row is the header")
