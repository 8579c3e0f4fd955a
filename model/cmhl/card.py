"""Model-card tooling: fold sweep results and the other-subreddit flag shares into metrics.json, and
render the checkpoint's README.md from metrics.json, so every number in the card has one source.

    python -m cmhl.card ablation --model DIR --sweep runs/sweep      # summarise a sweep (no data needed)
    python -m cmhl.card other --model DIR --data ../shared/data      # flag shares on other subreddits
    python -m cmhl.card previous --model DIR --previous OLD          # keep OLD's figures to compare
    python -m cmhl.card behaviour --model DIR --json FILE            # the behaviour suite's table
    python -m cmhl.card lexicon --model DIR --src LEXICON_DIR        # compile risk_lexicon.json into DIR
    python -m cmhl.card render --model DIR                           # write README.md, refresh manifest

Every figure of the previous checkpoint shown beside this one comes from the previous checkpoint's
own metrics.json, measured by the same commands.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint, write_manifest
from .inference import predict_texts, segment_max_probs, softmax
from .metrics import wilson_interval

LADDER = [
    ("ce", "plain cross-entropy (emotion head only)"),
    ("heads", "+ valence/intensity heads (lexicon targets)"),
    ("circumplex", "+ circumplex supervision"),
    ("contradiction", "+ contradiction & consistency terms (emotion-only CMHL)"),
    ("default", "+ joint distress training = full CMHL (shipped recipe)"),
]


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def _store(folder: Path, metrics: dict) -> None:
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    write_manifest(folder)


def summarise_sweep(sweep: Path) -> dict:
    runs = defaultdict(list)
    for f in sorted(sweep.glob("*.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        row = {"seed": r["seed"], "train_seconds": r["train_seconds"]}
        for key in ("emotion_test", "distress_test", "emotion_val", "distress_val"):
            if key in r:
                row[key] = {k: r[key][k] for k in ("macro_f1", "weighted_f1", "accuracy", "macro_recall")}
                if "contradiction_rate" in r[key]:
                    row[key]["contradiction_rate"] = r[key]["contradiction_rate"]
        runs[r["name"]].append(row)
    return dict(runs)


def other_subreddit_shares(ckpt, data: Path) -> dict:
    csv.field_size_limit(2**31 - 1)
    with open(data / "distress" / "other_subreddits.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    preds = predict_texts(ckpt.model, ckpt.tokenizer, [r["text"] for r in rows])
    T = ckpt.calibration.temperatures.get("distress", 1.0)
    probs = softmax(preds.distress_logits, T)
    smax = segment_max_probs(preds, T)[0]
    labels = ckpt.config.distress_labels
    out: dict[str, dict] = {}
    subs = np.array([r["subreddit"] for r in rows])
    for sub in sorted(set(subs), key=str.lower):
        m = subs == sub
        entry = {"n": int(m.sum())}
        fired = np.zeros(int(m.sum()), dtype=bool)
        for rule in ckpt.calibration.rules:
            hit = rule.scores(probs[m], labels, smax[m]) >= rule.threshold
            entry[rule.name] = float(hit.mean())
            fired |= hit
        entry["any_rule"] = float(fired.mean())
        top = probs[m].argmax(1)
        entry["top_category"] = {lab: float((top == i).mean()) for i, lab in enumerate(labels)}
        out[sub] = entry
    return out


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def render(ckpt, template: Path) -> str:
    m = ckpt.metrics
    emo, dis = m.get("emotion_test", {}), m.get("distress_test", {})
    lines = []
    sub = {}
    sub["EMOTION_SUMMARY"] = (
        f"| accuracy | macro-F1 | weighted-F1 | macro recall | contradiction rate | valence agreement (r) |\n"
        f"|---|---|---|---|---|---|\n| {emo['accuracy']:.4f} | {emo['macro_f1']:.4f} | {emo['weighted_f1']:.4f} "
        f"| {emo['macro_recall']:.4f} | {emo['contradiction_rate']:.4f} | {emo['valence_agreement']['pearson']:.3f} |"
    )
    sub["DISTRESS_SUMMARY"] = (
        f"| accuracy | macro-F1 | weighted-F1 | macro recall |\n|---|---|---|---|\n"
        f"| {dis['accuracy']:.4f} | {dis['macro_f1']:.4f} | {dis['weighted_f1']:.4f} | {dis['macro_recall']:.4f} |"
    )
    for key, rep in (("EMOTION_CLASSES", emo), ("DISTRESS_CLASSES", dis)):
        rows = ["| class | precision | recall | F1 | n |", "|---|---|---|---|---|"]
        rows += [
            f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
            for c, v in rep["per_class"].items()
        ]
        sub[key] = "\n".join(rows)
    cm = dis["confusion"]
    rows = [
        "| gold \\ predicted | " + " | ".join(cm["labels"]) + " |",
        "|---" * (len(cm["labels"]) + 1) + "|",
    ]
    rows += [
        f"| {lab} | " + " | ".join(str(x) for x in r) + " |"
        for lab, r in zip(cm["labels"], cm["matrix"], strict=True)
    ]
    sub["DISTRESS_CONFUSION"] = "\n".join(rows)
    rows = [
        "| rule | score | target recall (validation) | threshold | test recall | test precision | "
        "test specificity | share of test posts flagged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    prev = m.get("previous", {})
    prev_flags = prev.get("distress_test", {}).get("flags", {})
    for rule in ckpt.calibration.rules:
        f = dis["flags"][rule.name]
        score = f"1 − P({rule.cls})" if rule.kind == "not_class" else f"P({rule.cls})"
        if rule.segments:
            score = f"max({score} of the post, of its most concerning segment)"
        rows.append(
            f"| {rule.name}, {ckpt.name} | {score} | {rule.target_recall:.2f} | {rule.threshold:.4f} | {f['recall']:.4f} | "
            f"{f['precision']:.4f} | {f['specificity']:.4f} | {f['flagged_share']:.3f} |"
        )
        if rule.name in prev_flags:
            g = prev_flags[rule.name]
            rows.append(
                f"| {rule.name}, {prev.get('name', 'previous')} | | {g['target_recall']:.2f} | {g['threshold']:.4f} "
                f"| {g['recall']:.4f} | {g['precision']:.4f} | {g['specificity']:.4f} | {g['flagged_share']:.3f} |"
            )
    sub["FLAGS"] = "\n".join(rows)
    sub.update(comparison_tables(m, [r.name for r in ckpt.calibration.rules], ckpt.name))
    abl = m.get("ablation", {})
    rows = [
        "| recipe | seeds | emotion macro-F1 | emotion weighted-F1 | contradiction rate | distress macro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, desc in LADDER:
        runs = abl.get(name, [])
        if not runs:
            continue
        e = [r["emotion_test"] for r in runs if "emotion_test" in r]
        d = [r["distress_test"]["macro_f1"] for r in runs if "distress_test" in r]
        rows.append(
            f"| {desc} | {len(runs)} | {_mean_sd([x['macro_f1'] for x in e])} | {_mean_sd([x['weighted_f1'] for x in e])} "
            f"| {_mean_sd([x['contradiction_rate'] for x in e])} | {_mean_sd(d) if d else '—'} |"
        )
    if "distress_ce" in abl:
        d = [r["distress_test"]["macro_f1"] for r in abl["distress_ce"]]
        rows.append(
            f"| plain cross-entropy, distress only (reference) | {len(d)} | — | — | — | {_mean_sd(d)} |"
        )
    sub["ABLATION"] = "\n".join(rows)
    other = m.get("other_subreddits", {})
    prev_other = prev.get("other_subreddits", {})
    rules = [r.name for r in ckpt.calibration.rules]
    pname = prev.get("name", "previous")
    cols = [f"flagged by {r}" for r in rules] + (
        [f"{pname}: flagged by {r}" for r in rules] if prev_other else []
    )
    rows = [
        "| subreddit | n | " + " | ".join(cols) + " | most common top category |",
        "|---" * (len(cols) + 3) + "|",
    ]
    for s, e in other.items():
        top = max(e["top_category"], key=e["top_category"].get)
        old = prev_other.get(s, {})
        rows.append(
            f"| r/{s} | {e['n']} | "
            + " | ".join(f"{e[r]:.1%}" for r in rules)
            + ("".join(f" | {old[r]:.1%}" if r in old else " | —" for r in rules) if prev_other else "")
            + f" | {top} ({e['top_category'][top]:.0%}) |"
        )
    sub["OTHER"] = "\n".join(rows) if other else "(not measured)"
    sub["HASHES"] = "\n".join(
        f"- `{k}`: {v.get('data_file')} sha256 `{v.get('data_sha256')}`"
        for k, v in m.items()
        if isinstance(v, dict) and "data_sha256" in v
    )
    text = template.read_text(encoding="utf-8")
    for k, v in sub.items():
        text = text.replace("{{" + k + "}}", v)
    del lines
    return text


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"


def _f(x, nd=4) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def _span(ci, fmt) -> str:
    if ci is None or ci[0] != ci[0]:
        return "—"
    return f"{fmt(ci[0])}–{fmt(ci[1])}"


def interval(m: dict, path: tuple) -> tuple[float, float] | None:
    """The 95% interval of the figure at `path` in a metrics dict: the one `cmhl evaluate` stored
    (`<figure>_ci`), else a Wilson interval from the stored counts (a flag rule's tp/fp/fn/tn, stb's
    class sizes); None for a figure without one (macro-F1, or an AUC measured before intervals)."""
    d = m
    for k in path[:-1]:
        d = d.get(k, {}) if isinstance(d, dict) else {}
    key = path[-1]
    if not isinstance(d, dict) or d.get(key) is None:
        return None
    if d.get(f"{key}_ci"):
        return tuple(d[f"{key}_ci"])
    if {"tp", "fp", "fn", "tn"} <= set(d):
        k, n = {
            "recall": (d["tp"], d["tp"] + d["fn"]),
            "precision": (d["tp"], d["tp"] + d["fp"]),
            "specificity": (d["tn"], d["tn"] + d["fp"]),
        }.get(key, (None, None))
        return wilson_interval(k, n) if n else None
    stb = m.get("stb_test", {})
    n = {"suicidewatch_recall": stb.get("n_crisis"), "any_rule_flagged_other": stb.get("n_other")}.get(key)
    if path[0] == "stb_test" and n:
        return wilson_interval(round(d[key] * n), n)
    return None


def comparison_tables(m: dict, rules: list[str], name: str = "this model") -> dict[str, str]:
    """HEADLINE (every target, this checkpoint beside the previous one, with this checkpoint's 95%
    intervals), STB and BEHAVIOUR tables."""
    prev = m.get("previous", {})
    pname = prev.get("name", "previous")

    def pick(d: dict, *path):
        for k in path:
            if not isinstance(d, dict) or k not in d:
                return None
            d = d[k]
        return d

    rows = [
        f"| figure | target | {pname} | {name} | {name}: 95% interval |",
        "|---|---|---|---|---|",
    ]
    spec = [
        ("stb test: suicidewatch recall (label 1)", "≥ 0.90", ("stb_test", "suicidewatch_recall"), _f),
        (
            "stb test: label-0 posts flagged by any rule",
            "≤ 10%",
            ("stb_test", "any_rule_flagged_other"),
            _pct,
        ),
        ("stb test: ROC-AUC of the suicidewatch score", "report", ("stb_test", "suicidewatch_auc"), _f),
        (
            "stand-in test: any-distress recall",
            "≥ 0.95",
            ("distress_test", "flags", "any_distress", "recall"),
            _f,
        ),
        (
            "stand-in test: any-distress specificity",
            "≥ 0.90",
            ("distress_test", "flags", "any_distress", "specificity"),
            _f,
        ),
        (
            "stand-in test: suicidewatch recall",
            "≥ 0.90",
            ("distress_test", "flags", "suicidewatch", "recall"),
            _f,
        ),
        (
            "stand-in test: suicidewatch precision",
            "≥ 0.60",
            ("distress_test", "flags", "suicidewatch", "precision"),
            _f,
        ),
        ("stand-in test: distress macro-F1", "≥ 0.7525 (goal 0.797)", ("distress_test", "macro_f1"), _f),
        ("emotion test: macro-F1", "≥ 0.88", ("emotion_test", "macro_f1"), _f),
        ("emotion test: weighted-F1", "report", ("emotion_test", "weighted_f1"), _f),
    ]
    for label, target, path, fmt in spec:
        ci = interval(m, path)
        rows.append(
            f"| {label} | {target} | {fmt(pick(prev, *path))} | {fmt(pick(m, *path))} | {_span(ci, fmt)} |"
        )
    beh, pbeh = m.get("behaviour", {}), prev.get("behaviour", {})
    for kind, e in beh.get("kinds", {}).items():
        old = pbeh.get("kinds", {}).get(kind, {})
        ci = None
        if e.get("n") and e.get("pass_rate") is not None:
            ci = wilson_interval(round(e["pass_rate"] * e["n"]), e["n"])
        rows.append(
            f"| behaviour suite: {kind} ({e.get('expect', '')}) | {e.get('target', '≥ 95%')} "
            f"| {_pct(old.get('pass_rate'))} | {_pct(e.get('pass_rate'))} | {_span(ci, _pct)} |"
        )
    out = {"HEADLINE": "\n".join(rows)}

    stb, pstb = m.get("stb_test"), prev.get("stb_test", {})
    if stb:
        rows = [
            f"| rule | flags posts with suicidal content ({stb['n_crisis']}) | flags the other posts "
            f"({stb['n_other']}) | {pname}: with | {pname}: other |",
            "|---|---|---|---|---|",
        ]
        for r in rules + ["any rule"]:
            if r == "any rule":
                a, b = stb["any_rule_flagged_crisis"], stb["any_rule_flagged_other"]
                pa, pb = pstb.get("any_rule_flagged_crisis"), pstb.get("any_rule_flagged_other")
            else:
                a, b = stb["flags"][r]["flagged_crisis"], stb["flags"][r]["flagged_other"]
                g = pstb.get("flags", {}).get(r, {})
                pa, pb = g.get("flagged_crisis"), g.get("flagged_other")
            rows.append(f"| {r} | {_pct(a)} | {_pct(b)} | {_pct(pa)} | {_pct(pb)} |")
        by = stb.get("by_source")
        if by:  # where the false flags are: general chatter, or threads where suicide is discussed
            rows += [
                "",
                "By source (the stb set's own subsets; sources with crisis comments are threads where "
                "suicide is discussed):",
                "",
                "| source | posts without suicidal content | flagged by any rule | 95% interval "
                "| posts with suicidal content | flagged by any rule |",
                "|---|---|---|---|---|---|",
            ]
            for src, g in by.items():
                ci = g.get("any_rule_flagged_other_ci")
                rows.append(
                    f"| {src} | {g['n_other']} | {_pct(g['any_rule_flagged_other'])} | {_span(ci, _pct)} "
                    f"| {g['n_crisis']} | {_pct(g['any_rule_flagged_crisis'])} |"
                )
        out["STB"] = "\n".join(rows)
    else:
        out["STB"] = "(not measured)"
    if beh:
        rows = [
            f"| kind | expected | n | pass rate | {pname} pass rate | mean suicidewatch score |",
            "|---|---|---|---|---|---|",
        ]
        for kind, e in beh.get("kinds", {}).items():
            old = pbeh.get("kinds", {}).get(kind, {})
            rows.append(
                f"| {kind} | {e.get('expect', '')} | {e.get('n', '')} | {_pct(e.get('pass_rate'))} "
                f"| {_pct(old.get('pass_rate'))} | {_f(e.get('mean_sw'), 3)} |"
            )
        out["BEHAVIOUR"] = "\n".join(rows)
    else:
        out["BEHAVIOUR"] = "(not measured)"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cmhl.card")
    ap.add_argument("action", choices=("ablation", "other", "previous", "behaviour", "lexicon", "render"))
    ap.add_argument("--src", type=Path, help="the suicide_risk_lexicon folder (lexicon)")
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--previous", type=Path, help="the previous checkpoint folder (previous)")
    ap.add_argument("--json", type=Path, help="bench_behaviour.py --json output (behaviour)")
    ap.add_argument("--sweep", type=Path)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--template", type=Path, default=Path(__file__).parent / "card_template.md")
    a = ap.parse_args(argv)
    metrics = _metrics(a.model)
    if a.action == "ablation":
        metrics["ablation"] = summarise_sweep(a.sweep)
        _store(a.model, metrics)
    elif a.action == "previous":
        old = _metrics(a.previous)
        keep = ("emotion_test", "distress_test", "stb_test", "other_subreddits", "behaviour")
        metrics["previous"] = {"name": a.previous.name, **{k: old[k] for k in keep if k in old}}
        _store(a.model, metrics)
    elif a.action == "lexicon":
        from .risk_lexicon import LEXICON_FILE, compile_lexicon, save_lexicon

        save_lexicon(compile_lexicon(a.src), a.model / LEXICON_FILE)
        write_manifest(a.model)
    elif a.action == "behaviour":
        metrics["behaviour"] = json.loads(a.json.read_text(encoding="utf-8"))
        _store(a.model, metrics)
    elif a.action == "other":
        metrics["other_subreddits"] = other_subreddit_shares(load_checkpoint(a.model), a.data)
        _store(a.model, metrics)
    else:
        (a.model / "README.md").write_text(render(load_checkpoint(a.model), a.template), encoding="utf-8")
        write_manifest(a.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
