"""Research-scale benchmark (issue 15): flat memory on a big dump, streaming vs in-memory speed, Ray
on one machine vs the local engine. Prints tables (ours vs baseline, with the ratio).

    .venv/bin/python tests/benchmarks/bench_scale.py [--posts 1000000] [--speed-posts 20000]
        [--model DIR] [--skip-rss] [--skip-speed] [--skip-ray]

Memory (goal: peak RSS <= 1,500 MB, not growing with the input): `--posts` synthetic short posts
(random common words, 5-25 words; no research data) are written as one zstd NDJSON dump; a fresh
subprocess runs `score_dataset(dump -> .parquet)` with a tiny random model (2 layers, width 32: the
read / bookkeeping / write path, not the encoder) and reports its own RSS high-water mark (VmHWM).
The same is done on a tenth of the posts (flat memory: the two peaks are about equal) and, as the
baseline, the desktop's in-memory path (`score_file`, .jsonl -> .csv) on that tenth.

Speed (the shipped checkpoint; an untrained MiniLM where it is absent): `--speed-posts` synthetic
posts of 20-150 words, scored in this process by the in-memory path (`score_file`, .jsonl -> .csv,
the baseline) and the streamed one (`score_dataset`, .jsonl.zst -> .parquet), in alternating order,
twice each; posts/s from the scoring seconds (model loading and input hashing left out). Goal: the
streamed path within 10% of the in-memory one.

Ray (needs the `[cluster]` extra): the same posts through `--engine ray` on a local Ray instance
(started once, all CPUs) with 1 and 2 scoring actors, against the local streamed path. Two figures
per run: posts/s over Ray's whole execution (actors loading the model included), and the same with
the actors' start measured apart (a one-off per run, whatever its size). Goal: Ray costs <= 20%.

Post text is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "model" / "checkpoints" / "cmhl-minilm-v2"
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "benchmarks")]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench_scoring import WORDS, build_untrained, vm_hwm_mb  # noqa: E402


def write_posts(path: Path, n: int, words: tuple[int, int], seed: int = 0) -> None:
    """n synthetic posts as NDJSON ({"id", "title", "selftext"}); zstd-compressed by suffix .zst."""
    import zstandard

    rng = random.Random(seed)
    with open(path, "wb") as raw:
        if path.suffix == ".zst":
            out = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        else:
            out = raw
        block: list[str] = []
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(*words)))
            block.append(json.dumps({"id": f"t3_{i:x}", "title": f"post {i}", "selftext": text}))
            if len(block) >= 10_000:
                out.write(("\n".join(block) + "\n").encode())
                block = []
        if block:
            out.write(("\n".join(block) + "\n").encode())
        if out is not raw:
            out.close()


def table(title: str, head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print(f"\n{title}")
    for r in [head, ["-" * w for w in widths], *rows]:
        print(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


# --------------------------------------------------------------------------- memory


def rss_child(mode: str, src: str, model: str, out: str) -> None:
    """Runs in a fresh subprocess (VmHWM is reset by exec): one run, one JSON line."""
    from cmhl_desktop.core.offline import go_offline

    go_offline()
    t0 = time.perf_counter()
    if mode == "stream":
        from cmhl_desktop.core.research import score_dataset

        s = score_dataset([src], out, model_dir=model)
    else:
        from cmhl_desktop.core.pipeline import score_file

        s = score_file(src, out, model_dir=model)
    print(json.dumps({"rows": s.rows, "vm_hwm_mb": vm_hwm_mb(), "seconds": time.perf_counter() - t0}))


def _child(*argv: str) -> dict:
    p = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("{")), None)
    if p.returncode or line is None:
        raise RuntimeError(f"{argv[:2]} failed (exit {p.returncode}): {p.stderr.strip().splitlines()[-3:]}")
    return json.loads(line)


def memory(args, tmp: Path) -> None:
    tiny = tmp / "tiny"
    subprocess.run([sys.executable, __file__, "--build-tiny", str(tiny)], check=True, capture_output=True)
    big, small = args.posts, max(1, args.posts // 10)
    runs = []
    for n, mode in ((small, "memory"), (small, "stream"), (big, "stream")):
        suffix = ".jsonl" if mode == "memory" else ".jsonl.zst"
        src = tmp / f"short_{n}{suffix}"
        if not src.exists():
            write_posts(src, n, (5, 25))
        out = tmp / f"out_{mode}_{n}{'.csv' if mode == 'memory' else '.parquet'}"
        d = _child("--rss-child", mode, str(src), str(tiny), str(out))
        runs.append((n, mode, d))
        out.unlink(missing_ok=True)
    base = runs[0][2]["vm_hwm_mb"]
    rows = []
    for n, mode, d in runs:
        what = (
            "in-memory score_file .jsonl -> .csv" if mode == "memory" else "streamed .jsonl.zst -> .parquet"
        )
        rows.append(
            [
                what,
                f"{n:,}",
                f"{d['vm_hwm_mb']:,.0f}",
                f"{d['vm_hwm_mb'] / base:.2f}",
                f"{d['rows'] / d['seconds']:,.0f}",
            ]
        )
    table(
        "peak RSS, tiny random model (goal: streamed <= 1,500 MB and flat with the input size)",
        ["path", "posts", "peak RSS MB", "vs baseline", "posts/s"],
        rows,
    )


# --------------------------------------------------------------------------- speed and Ray


def speed(args, tmp: Path) -> None:
    from cmhl_desktop.core.pipeline import score_file
    from cmhl_desktop.core.research import score_dataset

    model = args.model or (str(SHIPPED) if (SHIPPED / "model.safetensors").is_file() else None)
    if model is None:
        model = str(build_untrained(tmp / "untrained"))
    n = args.speed_posts
    plain, dump = tmp / "posts.jsonl", tmp / "posts.jsonl.zst"
    write_posts(plain, n, (20, 150), seed=1)
    write_posts(dump, n, (20, 150), seed=1)
    rates: dict[str, list[float]] = {"memory": [], "stream": []}
    for k, mode in enumerate(["memory", "stream", "stream", "memory"][: 2 * args.rounds]):
        out = tmp / f"speed_{k}{'.csv' if mode == 'memory' else '.parquet'}"
        if mode == "memory":
            s = score_file(plain, out, model_dir=model)
        else:
            s = score_dataset([dump], out, model_dir=model)
        rates[mode].append(s.rows / s.scoring_seconds)
        out.unlink()
        Path(str(out) + ".run.json").unlink(missing_ok=True)
    mem, st = max(rates["memory"]), max(rates["stream"])
    table(
        f"posts/s, {Path(model).name}, {n:,} synthetic posts of 20-150 words (best of {args.rounds}; "
        "goal: streamed within 10%)",
        ["path", "posts/s", "vs baseline"],
        [
            ["in-memory score_file .jsonl -> .csv (baseline)", f"{mem:.1f}", "1.00"],
            ["streamed score_dataset .jsonl.zst -> .parquet", f"{st:.1f}", f"{st / mem:.2f}"],
        ],
    )
    if args.skip_ray:
        return
    try:
        from cmhl_desktop.core.ray_engine import start_local_ray

        ray_tmp = tempfile.mkdtemp(prefix="cb-")  # short: Ray's socket paths; removed below
        start_local_ray(temp_dir=ray_tmp)
    except Exception as e:  # RayError: not installed
        print(f"\nRay: skipped ({e})")
        return
    import ray

    rows = [["local streamed (baseline)", "-", f"{st:.1f}", "-", "1.00"]]
    for workers in args.workers:
        out = tmp / f"ray_{workers}"
        t0 = time.perf_counter()
        s = score_dataset([dump], f"{out}/", model_dir=model, engine="ray", workers=workers)
        wall = time.perf_counter() - t0
        start = _actor_start(ray, model, workers)
        steady = s.rows / max(s.scoring_seconds - start, 1e-9)
        rows.append(
            [
                f"Ray Data, {workers} actor(s)",
                f"{start:.1f}",
                f"{s.rows / s.scoring_seconds:.1f}",
                f"{steady:.1f}",
                f"{steady / st:.2f}",
            ]
        )
        print(f"  (Ray, {workers} actor(s): {wall:.0f} s wall, model load and input hash included)")
    ray.shutdown()
    shutil.rmtree(ray_tmp, ignore_errors=True)
    table(
        f"Ray on this machine ({os.cpu_count()} CPUs) vs the local engine, {n:,} posts (goal: Ray costs <= 20%)",
        ["engine", "actor start s", "posts/s incl. start", "posts/s after start", "vs baseline"],
        rows,
    )


def _actor_start(ray, model: str, workers: int) -> float:
    """Seconds for `workers` scoring actors to load the checkpoint, in parallel, as Ray starts them."""
    from cmhl_desktop.core.loaded_model import LoadedModel
    from cmhl_desktop.core.scoring import ScoringOptions

    threads = max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)

    @ray.remote(num_cpus=threads)
    class Loader:
        def __init__(self) -> None:
            LoadedModel.load(model, ScoringOptions(threads=threads))

        def ready(self) -> bool:
            return True

    t0 = time.perf_counter()
    actors = [Loader.remote() for _ in range(workers)]
    ray.get([a.ready.remote() for a in actors])
    seconds = time.perf_counter() - t0
    for a in actors:
        ray.kill(a)
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000, help="memory: posts in the big dump")
    ap.add_argument("--speed-posts", type=int, default=20_000, help="speed and Ray: posts scored")
    ap.add_argument("--rounds", type=int, default=2, choices=(1, 2), help="speed: runs of each path")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    ap.add_argument("--model", help="checkpoint folder (default: the shipped one)")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--rss-child", nargs=4, metavar=("MODE", "SRC", "MODEL", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--build-tiny", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child)
        return 0
    if args.build_tiny:
        from conftest import build_tiny_checkpoint

        build_tiny_checkpoint(Path(args.build_tiny))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as d:
        tmp = Path(d)
        if not args.skip_rss:
            memory(args, tmp)
        if not args.skip_speed:
            speed(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
