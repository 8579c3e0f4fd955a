"""`cmhl evaluate --model DIR --task emotion|distress --data DIR --split val|test [--json] [--write]`."""

import json
from pathlib import Path


def add_parser(sub) -> None:
    from ..core.paths import data_dir, default_checkpoint

    p = sub.add_parser("evaluate", help="measure a checkpoint on a named split")
    p.add_argument(
        "--model", type=Path, default=None, help=f"checkpoint folder (default {default_checkpoint()})"
    )
    p.add_argument(
        "--task",
        choices=("emotion", "distress", "stb"),
        required=True,
        help="stb: flags on everyday forum comments with and without suicidal content",
    )
    p.add_argument("--data", type=Path, default=data_dir(), help="data folder (default ../shared/data)")
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--write", action="store_true", help="store the report in the checkpoint's metrics.json")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (faster; default fp32)")
    p.set_defaults(func=run)


def _ci(d: dict, key: str) -> str:
    """ " (95% CI 0.851-0.947)" when the report holds the interval of `key`, else ""."""
    from cmhl.metrics import interval_text

    return interval_text(d.get(f"{key}_ci"), 3, "95% CI")


def summary(rep: dict) -> str:
    """The report in a few lines; proportions carry their 95% intervals (Wilson; AUC: DeLong)."""
    if rep["task"] == "stb":
        lines = [
            f"stb / {rep['split']}: n={rep['n']} ({rep['n_crisis']} with suicidal content)",
            f"  suicidewatch recall {rep['suicidewatch_recall']:.4f}{_ci(rep, 'suicidewatch_recall')}",
            f"  ROC-AUC of the suicidewatch score {rep['suicidewatch_auc']:.4f}{_ci(rep, 'suicidewatch_auc')}",
            f"  other posts flagged by any rule {rep['any_rule_flagged_other']:.4f}"
            f"{_ci(rep, 'any_rule_flagged_other')}",
        ]
        for name, f in rep["flags"].items():
            lines.append(
                f"  flag {name}: threshold {f['threshold']:.4f}  flags {f['flagged_crisis']:.4f}"
                f"{_ci(f, 'flagged_crisis')} of posts with suicidal content, {f['flagged_other']:.4f}"
                f"{_ci(f, 'flagged_other')} of the others"
            )
        return "\n".join(lines)
    lines = [
        f"{rep['task']} / {rep['split']}: n={rep['n']}  accuracy {rep['accuracy']:.4f}  "
        f"macro-F1 {rep['macro_f1']:.4f}  weighted-F1 {rep['weighted_f1']:.4f}  macro recall {rep['macro_recall']:.4f}"
    ]
    for lab, m in rep["per_class"].items():
        lines.append(
            f"  {lab:<13} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  n={m['support']}"
        )
    if "contradiction_rate" in rep:
        lines.append(
            f"  contradiction rate {rep['contradiction_rate']:.4f}; valence agreement r="
            f"{rep['valence_agreement']['pearson']:.3f}"
        )
    for name, f in rep.get("flags", {}).items():
        lines.append(
            f"  flag {name}: threshold {f['threshold']:.4f}  recall {f['recall']:.4f}{_ci(f, 'recall')}  "
            f"precision {f['precision']:.4f}{_ci(f, 'precision')}  "
            f"specificity {f['specificity']:.4f}{_ci(f, 'specificity')}"
        )
    return "\n".join(lines)


def run(args) -> int:
    from cmhl.checkpoint import load_checkpoint, write_manifest
    from tqdm.auto import tqdm

    from ..core.paths import default_checkpoint

    ckpt = load_checkpoint(args.model or default_checkpoint())
    bar = tqdm(desc=f"evaluate {args.task}", unit="post", disable=args.json)

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    from cmhl.evaluation import evaluate

    rep = evaluate(ckpt, args.task, args.data, args.split, bf16=args.bf16, progress=progress)
    bar.close()
    if args.write:
        metrics_path = ckpt.path / "metrics.json"
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
        rep_to_store = {k: v for k, v in rep.items() if k != "model_sha256"}  # the manifest changes on write
        metrics[f"{args.task}_{args.split}"] = rep_to_store
        metrics_path.write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        write_manifest(ckpt.path)
    print(json.dumps(rep, indent=1) if args.json else summary(rep))
    return 0
