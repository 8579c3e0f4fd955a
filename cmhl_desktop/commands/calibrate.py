"""`cmhl calibrate --model DIR --data DIR`: temperatures and flag thresholds from the validation split."""

import json
from pathlib import Path


def add_parser(sub) -> None:
    from ..core.paths import data_dir

    p = sub.add_parser("calibrate", help="temperature-scale and set flag thresholds on validation")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder (rewritten in place)")
    p.add_argument("--data", type=Path, default=data_dir(), help="data folder (default ../shared/data)")
    p.add_argument("--any-distress-recall", type=float, default=0.95, help="target validation recall")
    p.add_argument("--suicidewatch-recall", type=float, default=0.90, help="target validation recall")
    p.set_defaults(func=run)


def run(args) -> int:
    from cmhl.calibration import pick_threshold
    from cmhl.checkpoint import load_checkpoint, write_manifest
    from cmhl.training import calibrate_model

    ckpt = load_checkpoint(args.model)
    calib = calibrate_model(ckpt.model, ckpt.tokenizer, args.data)
    targets = {"any_distress": args.any_distress_recall, "suicidewatch": args.suicidewatch_recall}
    for r in calib.rules:
        r.target_recall = targets.get(r.name, r.target_recall)
        r.threshold = pick_threshold(r.pr, r.target_recall)
    calib.save(ckpt.path / "calibration.json")
    write_manifest(ckpt.path)
    print(
        json.dumps(
            {
                "temperatures": calib.temperatures,
                "rules": {
                    r.name: {"target_recall": r.target_recall, "threshold": r.threshold} for r in calib.rules
                },
            },
            indent=1,
        )
    )
    return 0
