"""The behaviour suite: building its cases and running them through any scorer.

CheckList-style (Ribeiro, Wu, Guestrin & Singh, "Beyond Accuracy: Behavioral Testing of NLP Models
with CheckList", ACL 2020): minimum-functionality tests (`crisis_short`: the suicidewatch rule must
fire on a short explicit crisis statement), an invariance test (`crisis_diluted`: the same statements
placed at the start, middle or end of everyday text of 1 sentence to ~3,000 words must still fire
it), and contrast sets that must not fire it (`negated`, `past_resolved`) or must fire no rule
(`idioms`, `everyday`, `no_content`). Every post is fictional and written for this project.

    >>> from behaviour.suite import run_suite
    >>> report = run_suite(Scorer(load_checkpoint(path)).score)       # profile "test" (make test)
    >>> print(report.to_markdown()); report.row("crisis_diluted").rate

`score_fn(texts) -> list[PostResult]` (cmhl_desktop.core.results.PostResult or anything with
``flag_rules``, ``status`` and ``distress_probs``). Held out: never used for training, calibration or
threshold tuning (README.md).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cmhl.metrics import wilson_interval

from .filler import ALL_FILLER
from .posts_crisis import CRISIS_SHORT, CRISIS_STATEMENTS, NEGATED, PAST_RESOLVED
from .posts_everyday import EVERYDAY, IDIOMS, NO_CONTENT_OTHER, NO_CONTENT_STRICT

SW = "suicidewatch"
FIRES_SW, NO_SW, NO_FLAG = "suicidewatch fires", "suicidewatch silent", "no rule fires"
KINDS: dict[str, str] = {  # kind -> expected flag
    "crisis_short": FIRES_SW,
    "crisis_diluted": FIRES_SW,
    "negated": NO_SW,
    "past_resolved": NO_SW,
    "idioms": NO_FLAG,
    "everyday": NO_FLAG,
    "no_content": NO_FLAG,
}
BARS: dict[str, float] = {k: 0.95 for k in KINDS} | {"no_content": 1.0}  # pass-rate bars
NO_CONTENT_STATUS = "no content"

# Dilution lengths: filler sentences, or (for "Nw") filler words, around one crisis statement. The
# statement goes before the first filler sentence ("start"), after the last ("end"), or after the
# first half ("middle"; with a single filler sentence that is the end).
LENGTHS: dict[str, tuple[str, int]] = {
    "1s": ("sentences", 1),
    "4s": ("sentences", 4),
    "12s": ("sentences", 12),
    "30s": ("sentences", 30),
    "500w": ("words", 500),
    "1500w": ("words", 1500),
    "3000w": ("words", 3000),
}
POSITIONS = ("start", "middle", "end")
# Posts per dilution length (positions taken in turn, so each length covers all three), and the
# filler-only everyday controls of the same lengths. "test" runs in `make test` (a 3,000-word post
# costs ~2-5 s on a 2-core CPU); "full" is for tests/benchmarks/bench_behaviour.py.
PROFILES: dict[str, dict[str, dict[str, int]]] = {
    "test": {
        "diluted": {"1s": 9, "4s": 9, "12s": 9, "30s": 6, "500w": 3, "1500w": 3, "3000w": 3},
        "controls": {"1s": 1, "4s": 1, "12s": 1, "30s": 1, "500w": 1},
    },
    "full": {
        "diluted": {"1s": 90, "4s": 90, "12s": 90, "30s": 60, "500w": 36, "1500w": 18, "3000w": 12},
        "controls": {"1s": 6, "4s": 6, "12s": 6, "30s": 6, "500w": 3, "1500w": 3, "3000w": 3},
    },
}
SEED = 20250611


@dataclass
class Case:
    """One post of the suite. For diluted posts ``text[meta["span"][0]:meta["span"][1]]`` is the
    crisis statement."""

    kind: str
    id: str
    text: str
    meta: dict = field(default_factory=dict)


def _filler_post(
    rng: random.Random, pool: list[str], unit: str, size: int, insert: str | None, position: str
) -> tuple[str, tuple[int, int] | None, int]:
    """Everyday sentences drawn without replacement from `pool` (refilled, reshuffled, when empty),
    `size` sentences or at least `size` words, with `insert` at the start, middle or end; paragraphs of
    3-7 sentences. Returns the text, the span of `insert` and the filler word count."""
    sents: list[str] = []
    words = 0
    while (len(sents) < size) if unit == "sentences" else (words < size):
        if not pool:
            pool.extend(rng.sample(ALL_FILLER, len(ALL_FILLER)))
        s = pool.pop()
        if s in sents:  # a refill may bring back a sentence this post already has
            pool.insert(0, s)
            continue
        sents.append(s)
        words += len(s.split())
    at = None
    if insert is not None:
        at = {"start": 0, "middle": (len(sents) + 1) // 2, "end": len(sents)}[position]
        sents.insert(at, insert)
    paras: list[list[int]] = []
    i = 0
    while i < len(sents):
        k = rng.randint(3, 7) if len(sents) > 7 else len(sents)
        paras.append(list(range(i, min(i + k, len(sents)))))
        i += k
    text, span = "", None
    for pi, para in enumerate(paras):
        if pi:
            text += "\n\n"
        for si, j in enumerate(para):
            if si:
                text += " "
            if j == at:
                span = (len(text), len(text) + len(sents[j]))
            text += sents[j]
    return text, span, words


def diluted_cases(profile: str = "test", seed: int = SEED) -> list[Case]:
    """`crisis_diluted` posts: crisis statements (each length walks its own shuffled order of
    `CRISIS_STATEMENTS`) inside everyday filler, deterministic for a seed."""
    rng = random.Random(seed)
    pool: list[str] = []
    out: list[Case] = []
    for length, n in PROFILES[profile]["diluted"].items():
        unit, size = LENGTHS[length]
        order = rng.sample(range(len(CRISIS_STATEMENTS)), len(CRISIS_STATEMENTS))
        for i in range(n):
            position = POSITIONS[i % 3]
            si = order[i % len(order)]
            text, span, words = _filler_post(rng, pool, unit, size, CRISIS_STATEMENTS[si], position)
            meta = {"length": length, "position": position, "statement": si, "span": span, "words": words}
            out.append(Case("crisis_diluted", f"crisis_diluted/{length}/{position}/{i:02d}", text, meta))
    return out


def control_cases(profile: str = "test", seed: int = SEED) -> list[Case]:
    """Filler-only `everyday` posts of the dilution lengths: the invariance test's control (a model
    that flags these makes a diluted pass meaningless)."""
    rng = random.Random(seed + 1)
    pool: list[str] = []
    out = []
    for length, n in PROFILES[profile]["controls"].items():
        unit, size = LENGTHS[length]
        for i in range(n):
            text, _, words = _filler_post(rng, pool, unit, size, None, "end")
            meta = {"length": length, "words": words, "control": True}
            out.append(Case("everyday", f"everyday/filler/{length}/{i:02d}", text, meta))
    return out


def build_suite(profile: str = "test", seed: int = SEED) -> list[Case]:
    """Every case of the suite, in kind order."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
    cases = [
        Case("crisis_short", f"crisis_short/{group}/{i:02d}", t, {"group": group})
        for group, texts in CRISIS_SHORT.items()
        for i, t in enumerate(texts)
    ]
    cases += diluted_cases(profile, seed)
    cases += [Case("negated", f"negated/{i:02d}", t) for i, t in enumerate(NEGATED)]
    cases += [Case("past_resolved", f"past_resolved/{i:02d}", t) for i, t in enumerate(PAST_RESOLVED)]
    cases += [Case("idioms", f"idioms/{i:02d}", t) for i, t in enumerate(IDIOMS)]
    cases += [Case("everyday", f"everyday/{i:02d}", t) for i, t in enumerate(EVERYDAY)]
    cases += control_cases(profile, seed)
    cases += [
        Case("no_content", f"no_content/strict/{i:02d}", t, {"strict": True})
        for i, t in enumerate(NO_CONTENT_STRICT)
    ]
    cases += [
        Case("no_content", f"no_content/other/{i:02d}", t, {"strict": False})
        for i, t in enumerate(NO_CONTENT_OTHER)
    ]
    return cases


# --------------------------------------------------------------------------- running


def passes(kind: str, result) -> bool:
    """Whether a scored post meets its kind's expectation (`KINDS`)."""
    rules = list(result.flag_rules)
    expect = KINDS[kind]
    if expect == FIRES_SW:
        return SW in rules
    if expect == NO_SW:
        return SW not in rules
    return not rules


def default_sw_score(result) -> float:
    """The suicidewatch score as the scorer reports it: the post's P(suicidewatch), or its most
    concerning segment's where that is higher (NaN when not scored)."""
    if not result.distress_probs:
        return math.nan
    post = float(result.distress_probs.get(SW, math.nan))
    seg = float(getattr(result, "trigger_score", math.nan))
    return max(post, seg) if not math.isnan(seg) else post


@dataclass
class KindRow:
    kind: str
    expect: str
    n: int
    passed: int
    mean_sw: float  # mean suicidewatch score over the scored posts (NaN when none was scored)
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.passed / self.n if self.n else math.nan


@dataclass
class SuiteReport:
    """Per-post results of one run and the per-kind table."""

    cases: list[Case]
    results: list
    ok: list[bool]
    sw: list[float]
    model: str = ""

    @property
    def rows(self) -> list[KindRow]:
        return [self.row(k) for k in KINDS if any(c.kind == k for c in self.cases)]

    def row(self, kind: str) -> KindRow:
        idx = [i for i, c in enumerate(self.cases) if c.kind == kind]
        scores = [self.sw[i] for i in idx if not math.isnan(self.sw[i])]
        return KindRow(
            kind,
            KINDS[kind],
            len(idx),
            sum(self.ok[i] for i in idx),
            sum(scores) / len(scores) if scores else math.nan,
            dict(Counter(self.results[i].status for i in idx)),
        )

    def failures(self, kind: str | None = None) -> list[Case]:
        return [c for c, ok in zip(self.cases, self.ok, strict=True) if not ok and kind in (None, c.kind)]

    def breakdown(self, kind: str = "crisis_diluted", keys: Sequence[str] = ("length", "position")):
        """{(meta values...): (n, passed)} for the cases of `kind`, in first-seen order."""
        out: dict[tuple, list[int]] = {}
        for c, ok in zip(self.cases, self.ok, strict=True):
            if c.kind == kind:
                cell = out.setdefault(tuple(c.meta.get(k) for k in keys), [0, 0])
                cell[0] += 1
                cell[1] += int(ok)
        return {k: (n, p) for k, (n, p) in out.items()}

    def to_markdown(self) -> str:
        return markdown_table({self.model or "model": self})

    def to_dict(self) -> dict:
        """Per kind: expected flag, bar, n, pass rate and mean suicidewatch score (for a model card)."""
        return {
            "kinds": {
                r.kind: {
                    "expect": r.expect,
                    "target": f"≥ {BARS[r.kind]:.0%}" if BARS[r.kind] < 1 else "100%",
                    "n": r.n,
                    "pass_rate": r.rate,
                    "mean_sw": None if math.isnan(r.mean_sw) else r.mean_sw,
                }
                for r in self.rows
            }
        }


def run_suite(
    score_fn: Callable[[list[str]], list],
    cases: list[Case] | None = None,
    *,
    profile: str = "test",
    sw_score: Callable[[object], float] = default_sw_score,
    model: str = "",
) -> SuiteReport:
    """Score every case with `score_fn` (one call, all texts) and judge each against its kind."""
    cases = build_suite(profile) if cases is None else cases
    results = list(score_fn([c.text for c in cases]))
    if len(results) != len(cases):
        raise ValueError(f"score_fn returned {len(results)} results for {len(cases)} texts")
    ok = [passes(c.kind, r) for c, r in zip(cases, results, strict=True)]
    return SuiteReport(cases, results, ok, [sw_score(r) for r in results], model)


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def markdown_table(reports: dict[str, SuiteReport]) -> str:
    """Per-kind table, models side by side: n, pass rate (passed/n; 95% Wilson interval) and mean
    suicidewatch score."""
    names = list(reports)
    first = reports[names[0]]
    head = ["kind", "expected", "bar", "n"]
    for name in names:
        head += [f"{name} pass", f"{name} mean P(sw)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in first.rows:
        cells = [row.kind, row.expect, f"{BARS[row.kind]:.2f}", str(row.n)]
        for name in names:
            r = reports[name].row(row.kind)
            lo, hi = wilson_interval(r.passed, r.n)
            cells += [f"{_fmt(r.rate)} ({r.passed}/{r.n}; {_fmt(lo)}-{_fmt(hi)})", _fmt(r.mean_sw, 3)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_breakdown(reports: dict[str, SuiteReport], kind: str = "crisis_diluted") -> str:
    """Pass rate of `kind` by dilution length (rows) and position (columns), per model."""
    out = []
    for name, rep in reports.items():
        cells = rep.breakdown(kind)
        lengths = list(dict.fromkeys(k[0] for k in cells))
        lines = [f"**{name}** ({kind}: passed/n)", "", "| length | " + " | ".join(POSITIONS) + " |"]
        lines.append("|" + "---|" * (len(POSITIONS) + 1))
        for length in lengths:
            row = [
                f"{cells[(length, p)][1]}/{cells[(length, p)][0]}" if (length, p) in cells else "–"
                for p in POSITIONS
            ]
            lines.append(f"| {length} | " + " | ".join(row) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)
