"""Does the Suicide Risk Lexicon help the suicidewatch flag? Model alone vs model OR lexicon vs lexicon.

    .venv/bin/python tests/benchmarks/bench_lexicon.py [--model DIR] [--data DIR] [--lexicon JSON]
                                                       [--profile test|full] [--per-construct]

Signals, per post:
  model        the checkpoint's suicidewatch rule fired (its stored threshold; Scorer.score);
  lexicon      a term of a crisis construct of the Suicide Risk Lexicon (Low et al., 2024) occurs
               (cmhl.risk_lexicon.RiskLexicon.has_crisis); variants: `crisis` = passive + active
               ideation/planning + direct self-injury (the default, CRISIS_CONSTRUCTS); `extended` =
               those + other suicidal language; `proto` = only the prototypical terms of `crisis`;
  model|lex    either.
Measured on
  stb val      ../shared/data/stb/posts.csv, split == "val" (RallyPoint forum comments; label 1 = the
               post expresses suicidal thoughts or behaviours): recall on label 1, false-positive rate
               on label 0, and on the label-0 negated phrases (source ending in `_negated`). The stb
               test split is never read here.
  suite        the behaviour suite (tests/behaviour/, fictional, held out): share of posts on which
               the signal fires, per kind: a recall for crisis_short/crisis_diluted, a false-positive
               rate for the others.
Also printed: the model's own behaviour-suite table (bench_behaviour.py's, pass = the kind's
expectation on both rules). The lexicon comes from --lexicon, else the model folder's risk_lexicon.json, else it is compiled
from ../shared/data/lexicons/suicide_risk_lexicon. Only counts are printed, never post text (with
--per-construct: matched lexicon terms and their counts on stb val).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from behaviour import suite  # noqa: E402

SUITE_KINDS = list(suite.KINDS)


def _rate(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.3f} ({sum(flags)}/{len(flags)})" if flags else "–"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="checkpoint folder (default: the app's default)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--lexicon", type=Path, help="a compiled risk_lexicon.json")
    ap.add_argument("--profile", choices=sorted(suite.PROFILES), default="test")
    ap.add_argument("--per-construct", action="store_true", help="stb val counts per crisis construct")
    args = ap.parse_args(argv)

    import pandas as pd
    from cmhl.checkpoint import load_checkpoint
    from cmhl.risk_lexicon import (
        EXTENDED_CRISIS_CONSTRUCTS,
        LEXICON_FILE,
        RiskLexicon,
        compile_lexicon,
        load_lexicon,
    )

    from cmhl_desktop.core.offline import go_offline
    from cmhl_desktop.core.paths import default_checkpoint
    from cmhl_desktop.core.scoring import Scorer

    go_offline()
    folder = args.model or default_checkpoint()
    if args.lexicon:
        lex_data, lex_from = load_lexicon(args.lexicon), str(args.lexicon)
    elif (folder / LEXICON_FILE).is_file():
        lex_data, lex_from = load_lexicon(folder / LEXICON_FILE), str(folder / LEXICON_FILE)
    else:
        src = args.data / "lexicons" / "suicide_risk_lexicon"
        if not src.is_dir():
            print(f"no lexicon: {src} is absent and no --lexicon given", file=sys.stderr)
            return 2
        lex_data, lex_from = compile_lexicon(src), str(src)
    crisis = RiskLexicon(lex_data)
    lexicons = {
        "crisis": crisis,
        "extended": RiskLexicon(lex_data, crisis_constructs=EXTENDED_CRISIS_CONSTRUCTS),
        "proto": RiskLexicon(lex_data, prototypical_only=True),
    }

    stb_path = args.data / "stb" / "posts.csv"
    if not stb_path.is_file():
        print(f"{stb_path} is absent: stb val is skipped", file=sys.stderr)
        val = pd.DataFrame({"text": [], "label": [], "source": []})
    else:
        df = pd.read_csv(stb_path, keep_default_na=False)
        val = df[df["split"] == "val"].reset_index(drop=True)  # never the test split
    texts_val = [str(t) for t in val["text"]]
    y = [int(v) for v in val["label"]]
    negated = [str(s).endswith("_negated") for s in val["source"]]

    ck = load_checkpoint(folder)
    scorer = Scorer(ck)
    t0 = time.perf_counter()
    model_val = ["suicidewatch" in r.flag_rules for r in scorer.score(texts_val)]
    cases = suite.build_suite(args.profile)
    report = suite.run_suite(scorer.score, cases, model=ck.name)
    model_suite = ["suicidewatch" in r.flag_rules for r in report.results]
    print(
        f"scored {len(texts_val)} stb val + {len(cases)} suite posts in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )

    signals: dict[str, tuple[list[bool], list[bool]]] = {"(a) model": (model_val, model_suite)}
    for key, lex in lexicons.items():
        lv = [lex.has_crisis(t) for t in texts_val]
        ls = [lex.has_crisis(c.text) for c in cases]
        signals[f"(b) model OR lexicon[{key}]"] = (
            [a or b for a, b in zip(model_val, lv, strict=True)],
            [a or b for a, b in zip(model_suite, ls, strict=True)],
        )
        signals[f"(c) lexicon[{key}]"] = (lv, ls)

    pos = [i for i, v in enumerate(y) if v == 1]
    neg = [i for i, v in enumerate(y) if v == 0]
    negn = [i for i in neg if negated[i]]
    kinds = {k: [i for i, c in enumerate(cases) if c.kind == k] for k in SUITE_KINDS}
    print(f"## Suicide Risk Lexicon as a second signal: {ck.name}\n")
    print(
        f"lexicon: {lex_from} (version {lex_data['source'].get('version')}); crisis constructs: "
        f"{', '.join(crisis.crisis_constructs)}; extended adds other_suicidal_language\n"
    )
    print(
        f"### stb val (n = {len(y)}: {len(pos)} label 1, {len(neg)} label 0, {len(negn)} of them negated)\n"
    )
    print("| signal | recall (label 1) | FPR (label 0) | FPR (label 0, negated) | FPR (label 0, rest) |")
    print("|---|---|---|---|---|")
    for name, (sv, _) in signals.items():
        rest = [sv[i] for i in neg if not negated[i]]
        print(
            f"| {name} | {_rate([sv[i] for i in pos])} | {_rate([sv[i] for i in neg])} | "
            f"{_rate([sv[i] for i in negn])} | {_rate(rest)} |"
        )
    print(f"\n### Behaviour suite ({args.profile} profile): share of posts where the signal fires\n")
    head = [
        f"{k} ({'recall' if suite.KINDS[k] == suite.FIRES_SW else 'FPR'}, n={len(kinds[k])})"
        for k in SUITE_KINDS
    ]
    print("| signal | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(head))
    for name, (_, ss) in signals.items():
        print(f"| {name} | " + " | ".join(_rate([ss[i] for i in kinds[k]]) for k in SUITE_KINDS) + " |")

    if args.per_construct and y:
        print("\n### stb val, per crisis construct: posts with a match (label 1 / label 0) and top terms\n")
        print("| construct | label 1 | label 0 | top terms on label 0 |")
        print("|---|---|---|---|")
        for c in EXTENDED_CRISIS_CONSTRUCTS:
            hits = [crisis.matches(t, [c]) for t in texts_val]
            terms0 = Counter(m.term for i in neg for m in {(m.term): m for m in hits[i]}.values())
            top = ", ".join(f"{t} {n}" for t, n in terms0.most_common(8))
            print(f"| {c} | {sum(bool(hits[i]) for i in pos)} | {sum(bool(hits[i]) for i in neg)} | {top} |")
    print(f"\n### The model on the behaviour suite ({args.profile} profile; pass = the kind's expectation)\n")
    print(report.to_markdown())
    print("\n" + suite.markdown_breakdown({ck.name: report}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
