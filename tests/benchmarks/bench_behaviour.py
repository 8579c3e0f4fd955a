"""Behaviour suite benchmark: per-kind pass rates of one or more checkpoints, side by side (markdown).

    .venv/bin/python tests/benchmarks/bench_behaviour.py [--model DIR ...] [--profile full|test]
                                                         [--no-breakdown] [--failures K]

The suite (tests/behaviour/, CheckList-style after Ribeiro et al., ACL 2020) holds fictional posts
written for this project, in kinds with an expected flag: crisis_short and crisis_diluted (the
suicidewatch rule must fire), negated and past_resolved (it must not), idioms, everyday and no_content
(no rule may fire). For each model: n, pass rate (passed/n) and the mean P(suicidewatch) of each kind,
then the crisis_diluted pass counts by length x position, and with --failures K the ids and texts of
up to K failing posts per kind (fictional text; no research data is read). The default model is the
app's default checkpoint; pass --model several times to compare, e.g. v1 against a new folder.

Profile "full" (default): 396 diluted posts, from 1 sentence to ~3,000 words (a few minutes per
model on a 2-core CPU); "test": what `make test` runs (42 diluted posts).
The suite is held out: never tune a threshold or choose a checkpoint on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from behaviour import suite  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", type=Path, help="checkpoint folder (repeatable)")
    ap.add_argument("--profile", choices=sorted(suite.PROFILES), default="full")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the length x position table")
    ap.add_argument("--failures", type=int, default=0, metavar="K", help="list K failing posts per kind")
    ap.add_argument("--json", type=Path, help="write the first model's per-kind table as JSON (cmhl.card)")
    args = ap.parse_args(argv)

    from cmhl.checkpoint import load_checkpoint

    from cmhl_desktop.core.offline import go_offline
    from cmhl_desktop.core.paths import default_checkpoint
    from cmhl_desktop.core.scoring import Scorer

    go_offline()
    models = args.model or [default_checkpoint()]
    cases = suite.build_suite(args.profile)
    reports: dict[str, suite.SuiteReport] = {}
    for folder in models:
        ck = load_checkpoint(folder)
        name = ck.name if ck.name not in reports else f"{ck.name} ({folder})"
        t0 = time.perf_counter()
        reports[name] = suite.run_suite(Scorer(ck).score, cases, model=name)
        print(f"{name}: {len(cases)} posts in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    if args.json:
        import json

        first = next(iter(reports.values()))
        args.json.write_text(
            json.dumps({"profile": args.profile, **first.to_dict()}, indent=1), encoding="utf-8"
        )
    print(f"## Behaviour suite ({args.profile} profile, {len(cases)} posts)\n")
    print(suite.markdown_table(reports))
    if not args.no_breakdown:
        print("\n### crisis_diluted by length and position\n")
        print(suite.markdown_breakdown(reports))
    print("\n### Status counts\n")
    for name, rep in reports.items():
        print(f"- **{name}**: " + "; ".join(f"{r.kind} {r.statuses}" for r in rep.rows))
    if args.failures:
        for name, rep in reports.items():
            print(f"\n### Failing posts, {name} (up to {args.failures} per kind)\n")
            for kind in suite.KINDS:
                for c in rep.failures(kind)[: args.failures]:
                    text = c.text if len(c.text) <= 160 else c.text[:157] + "..."
                    print(f"- `{c.id}`: {text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
