"""`cmhl explain --text T | --input F --row N [--column C] [--sheet S] [--encoding E] [--no-header]
[--head H] [--class C] [--model DIR] [--tokens] [--json]`: which words drove one post's score."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HEADS = ("distress", "emotion", "valence", "intensity")


def add_parser(sub) -> None:
    from ..core.paths import default_checkpoint
    from .score import add_read_options

    p = sub.add_parser("explain", help="show which words drove one post's score")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the post text")
    src.add_argument("--input", type=Path, help="an input file or folder (as for `cmhl score`)")
    p.add_argument(
        "--row", type=int, help="with --input: the N-th post, counting from 1 (header not counted)"
    )
    p.add_argument("--column", help="with --input: the text column (name or 0-based index; default: guessed)")
    p.add_argument("--sheet", help="with --input: the workbook sheet (default: the first)")
    add_read_options(p)
    p.add_argument(
        "--head", choices=HEADS, default="distress", help="which output to explain (default distress)"
    )
    p.add_argument(
        "--class",
        dest="target_class",
        help="the class to explain (default: the flagged distress class, else the top class)",
    )
    p.add_argument(
        "--model", type=Path, default=None, help=f"checkpoint folder (default {default_checkpoint()})"
    )
    p.add_argument("--tokens", action="store_true", help="also show the raw subword scores")
    p.add_argument(
        "--json", action="store_true", help="machine-readable output (spans, scores, tokens, delta)"
    )
    p.add_argument("--top", type=int, default=10, help="how many top words to list (default 10)")
    p.add_argument(
        "--max-steps",
        type=int,
        default=256,
        help="upper bound on gradient evaluations along one window's path (default 256)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="largest |delta| / |f(x) - f(baseline)| accepted as converged (default 0.05)",
    )
    p.set_defaults(func=run)


class _Usage(ValueError):
    pass


def _load_text(args) -> str:
    if args.text is not None:
        if any(v is not None for v in (args.row, args.column, args.sheet, args.encoding, args.header)):
            raise _Usage("--row, --column, --sheet, --encoding and --header go with --input, not --text")
        return args.text
    if args.row is None:
        raise _Usage("--input needs --row N (the N-th post, counting from 1)")
    if args.row < 1:
        raise _Usage("--row counts from 1")
    from ..core.readers import read_input

    table = read_input(
        args.input,
        sheet=args.sheet,
        column=args.column,
        limit=args.row,
        encoding=args.encoding,
        header=args.header,
    )
    texts = table.texts()
    if args.row > len(texts):
        raise _Usage(f"{args.input.name}: row {args.row} asked for, but it has {len(texts)} post(s)")
    return texts[args.row - 1]


def run(args) -> int:
    from ..core.attribution import AttributionError
    from ..core.explanation import top_words
    from ..core.highlights import render_terminal
    from ..core.loaded_model import LoadedModel
    from ..core.paths import default_checkpoint
    from ..core.results import NO_CONTENT
    from ..core.session import ScoringSession

    try:
        text = _load_text(args)
    except _Usage as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    model = LoadedModel.load(
        args.model or default_checkpoint(),
        explainer_options={"max_steps": max(args.max_steps, 16), "tolerance": args.tolerance},
    )
    # the same session as `cmhl score`: the flag policy decides which class a flagged post is explained for
    session = ScoringSession(model)
    session.open_texts([text])
    session.score()
    result = session.results[0]
    if result.status == NO_CONTENT:  # as in `cmhl score`: never scored, so nothing to explain
        msg = "no content: this post has no readable words, so the model does not score it"
        if args.json:
            print(json.dumps({"status": result.status, "words": [], "message": msg}))
        else:
            print(msg)
        return 0
    target, reason = args.target_class, "given"
    if target is None and args.head == "distress" and result.scored:
        target, reason = session.policy.explain_class(result)
    try:
        (exp,) = session.explain([0], head=args.head, classes=[target])
    except AttributionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if exp.target_reason == "given":
        exp.target_reason = reason
    ckpt = model.ckpt
    if args.json:
        d = exp.to_dict()
        if not args.tokens:
            d.pop("tokens")
        d["flag_rules"] = list(result.flag_rules)
        d["status"] = result.status
        d["model"] = {"name": ckpt.name, "path": str(ckpt.path), "sha256": ckpt.sha256}
        d["top_words"] = [w.word for w in top_words(exp, args.top)]
        print(json.dumps(d, indent=1, ensure_ascii=False))
        return 0
    print(header(exp, ckpt, result.flag_rules))
    print()
    print(render_terminal(text, exp, k=args.top))
    if args.tokens:
        print()
        print(token_table(exp))
    return 0


def header(exp, ckpt, flag_rules=()) -> str:
    lines = [f"model: {ckpt.name} ({ckpt.path}; sha256 {ckpt.sha256[:12]})"]
    if exp.n_steps == 0:
        lines.append("empty post: nothing to explain")
        return "\n".join(lines)
    if exp.target_class is not None:
        why = {"given": "chosen", "top": "top class"}.get(exp.target_reason, exp.target_reason)
        if exp.target_reason.startswith("flag:"):
            why = f"flagged by {exp.target_reason[5:]}"
        lines.append(
            f"target: {exp.head} = {exp.target_class}  P = {exp.target_prob:.3f} (calibrated)  [{why}]"
        )
        probs = "  ".join(f"{k} {v:.3f}" for k, v in exp.probs.items())
        lines.append(f"{exp.head} probabilities: {probs}")
        if flag_rules:
            lines.append(f"flag rules firing: {', '.join(flag_rules)}")
    else:
        lines.append(f"target: {exp.head} = {exp.target_value:+.3f}")
    state = "converged" if exp.converged else "NOT converged (read the scores with care)"
    lines.append(
        f"attributed: {exp.objective} f(x) = {exp.target_value:+.4f}, f(baseline) = {exp.baseline_value:+.4f}; "
        f"convergence delta {exp.delta:+.2e} ({exp.rel_delta:.1%} of the difference), {state} at "
        f"{exp.n_steps} steps; {exp.windows} window(s)"
        + ("; the end of the post was not read" if exp.truncated else "")
    )
    return "\n".join(lines)


def token_table(exp) -> str:
    from ..core.highlights import term_text

    rows = ["subword scores (index  chars  token  score):"]
    for t in exp.tokens:
        rows.append(f"  {t.index:>5}  {t.start:>5}:{t.end:<5}  {term_text(t.token):<16}  {t.score:+.4f}")
    return "\n".join(rows)
