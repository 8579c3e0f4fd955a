"""The behaviour suite (README.md): its own integrity, its runner, and the shipped checkpoint held to
the per-kind pass-rate bars (`suite.BARS`).

The checkpoint is `cmhl_desktop.core.paths.default_checkpoint()` (or the folder in the environment
variable CMHL_BEHAVIOUR_MODEL, to hold a candidate to the same bars). A checkpoint with measured rates
in `MEASURED` is also held to them (less a margin), so a change that makes it worse fails; where its
measured rate is below the bar, the bar is xfail(strict=True): reaching the bar makes that test fail
until the entry is updated. Any other checkpoint must meet the bars.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from data_paths import DATA

from . import suite
from .filler import ALL_FILLER, FILLER
from .posts_crisis import CRISIS_STATEMENTS, NEGATED, PAST_RESOLVED
from .posts_everyday import EVERYDAY, IDIOMS, NO_CONTENT_OTHER, NO_CONTENT_STRICT

# Pass rates measured with the "test" profile (`report` below) on this machine, fp32 and bf16 alike.
MEASURED: dict[str, dict[str, float]] = {
    "cmhl-minilm-v2": {
        "crisis_short": 0.93,
        "crisis_diluted": 0.88,
        "negated": 0.60,
        "past_resolved": 0.32,
        "idioms": 0.79,
        "everyday": 0.94,
        "no_content": 1.00,
    },
}
MARGIN = 0.05  # rounding and the small bf16/fp32 differences between CPUs
LEXICON_DIR = DATA / "lexicons" / "suicide_risk_lexicon"


def _checkpoint_dir() -> Path:
    from cmhl_desktop.core.paths import default_checkpoint

    env = os.environ.get("CMHL_BEHAVIOUR_MODEL")
    return Path(env) if env else default_checkpoint()


needs_checkpoint = pytest.mark.skipif(
    not (_checkpoint_dir() / "model.safetensors").is_file(),
    reason=f"no checkpoint with weights at {_checkpoint_dir()}",
)
needs_lexicon = pytest.mark.skipif(
    not LEXICON_DIR.is_dir(), reason="../shared/data/lexicons/suicide_risk_lexicon is absent"
)
needs_research_text = pytest.mark.skipif(
    not (DATA / "distress" / "posts.csv").is_file(), reason="../shared/data is absent"
)


# --------------------------------------------------------------------------- the suite itself


def test_suite_sizes_and_variety():
    assert len(CRISIS_STATEMENTS) >= 60 and len(set(CRISIS_STATEMENTS)) == len(CRISIS_STATEMENTS)
    assert len(ALL_FILLER) >= 300 and len(set(ALL_FILLER)) == len(ALL_FILLER)
    assert len(FILLER) >= 15 and min(len(v) for v in FILLER.values()) >= 10  # many topics
    for profile in suite.PROFILES:
        cases = suite.build_suite(profile)
        counts = Counter(c.kind for c in cases)
        assert set(counts) == set(suite.KINDS), profile
        assert min(counts.values()) >= 25, counts
        fixed = [c.text for c in cases if c.kind != "crisis_diluted" and not c.meta.get("control")]
        assert len(set(fixed)) == len(fixed), "a post appears twice"
        ids = [c.id for c in cases]
        assert len(set(ids)) == len(ids)
        diluted = [c for c in cases if c.kind == "crisis_diluted"]
        cells = {(c.meta["length"], c.meta["position"]) for c in diluted}
        assert cells == {(n, p) for n in suite.LENGTHS for p in suite.POSITIONS}, profile


def test_short_items_are_short_and_everyday_spans_lengths():
    assert max(len(s.split()) for s in CRISIS_STATEMENTS) <= 30
    lengths = sorted(len(t.split()) for t in EVERYDAY)
    assert lengths[0] <= 2 and lengths[-1] >= 100  # "ok" .. several paragraphs
    assert any("\n\n" in t for t in EVERYDAY)


def test_diluted_posts_hold_the_statement_at_its_place():
    for c in suite.build_suite("full"):
        if c.kind != "crisis_diluted":
            continue
        a, b = c.meta["span"]
        assert c.text[a:b] == CRISIS_STATEMENTS[c.meta["statement"]], c.id
        unit, size = suite.LENGTHS[c.meta["length"]]
        rest = (c.text[:a] + c.text[b:]).strip()
        if c.meta["position"] == "start":
            assert a == 0, c.id
        elif c.meta["position"] == "end":
            assert b == len(c.text), c.id
        else:  # after at least one filler sentence; before one unless there is a single one
            assert 0 < a and (b < len(c.text) or size == 1), c.id
        if unit == "words":
            assert size <= c.meta["words"] <= size + 40, c.id
        sents = [s for s in ALL_FILLER if s in rest]
        if unit == "sentences":
            assert len(sents) == size, c.id


def test_long_posts_do_not_repeat_filler():
    for c in suite.build_suite("full"):
        if c.meta.get("words", 0) >= 1000:
            seen = {s: c.text.count(s) for s in ALL_FILLER if s in c.text}
            assert max(seen.values()) == 1, c.id
            assert len(seen) >= c.meta["words"] / 15, c.id  # ~11 words a sentence, each once


def test_build_is_deterministic():
    one, two = suite.build_suite("test"), suite.build_suite("test")
    assert [(c.id, c.text) for c in one] == [(c.id, c.text) for c in two]
    other = suite.build_suite("test", seed=suite.SEED + 7)
    assert [c.text for c in one] != [c.text for c in other]


# --------------------------------------------------------------------------- the runner


def _fake(rules_for):
    def score(texts):
        return [
            SimpleNamespace(flag_rules=rules_for(t), status="ok", distress_probs={"suicidewatch": 0.5})
            for t in texts
        ]

    return score


def test_runner_judges_each_kind_by_its_rule():
    everything = suite.run_suite(_fake(lambda t: ["any_distress", "suicidewatch"]))
    nothing = suite.run_suite(_fake(lambda t: []))
    distress_only = suite.run_suite(_fake(lambda t: ["any_distress"]))
    for row in everything.rows:
        assert row.rate == (1.0 if row.expect == suite.FIRES_SW else 0.0), row
        assert row.mean_sw == pytest.approx(0.5) and row.statuses == {"ok": row.n}
    for row in nothing.rows:
        assert row.rate == (0.0 if row.expect == suite.FIRES_SW else 1.0), row
    for row in distress_only.rows:  # any_distress alone: fine for negated/past, not for no-flag kinds
        assert row.rate == (1.0 if row.expect == suite.NO_SW else 0.0), row
    assert len(nothing.failures("crisis_short")) == nothing.row("crisis_short").n
    table = everything.to_markdown()
    assert table.count("\n") == len(suite.KINDS) + 1 and "crisis_diluted" in table
    n = everything.row("crisis_short").n
    assert f"1.00 ({n}/{n}; {suite.wilson_interval(n, n)[0]:.2f}-1.00)" in table  # with its interval
    cells = everything.breakdown()
    assert sum(n for n, _ in cells.values()) == everything.row("crisis_diluted").n


def test_runner_rejects_a_short_answer():
    with pytest.raises(ValueError, match="results for"):
        suite.run_suite(lambda texts: [])


# --------------------------------------------------------------------------- against the data


@needs_lexicon
def test_filler_and_everyday_carry_no_crisis_lexicon_term():
    """Else the lexicon's score on diluted posts would come from the filler, not the statement."""
    from cmhl.risk_lexicon import RiskLexicon

    lex = RiskLexicon.from_source(LEXICON_DIR)
    hits = [(s, [m.term for m in lex.crisis_matches(s)]) for s in ALL_FILLER + EVERYDAY]
    assert [h for h in hits if h[1]] == []


def _sentences(text: str) -> list[str]:
    out = []
    for s in re.split(r"(?<=[.!?])\s+|\n+", text):
        s = " ".join(re.sub(r"[^\w']+", " ", s.lower().replace("\u2019", "'")).split())
        if len(s.split()) >= 8:
            out.append(s)
    return out


@pytest.mark.slow
@needs_research_text
def test_no_suite_sentence_is_copied_from_research_data():
    """Every sentence of 8+ words written for the suite is absent from the research texts (checked
    by normalised whole sentences; nothing of the research text is printed)."""
    import pandas as pd

    research: set[str] = set()
    for path, col in [
        (DATA / "distress" / "posts.csv", "text"),
        (DATA / "distress" / "other_subreddits.csv", "text"),
        (DATA / "stb" / "posts.csv", "text"),
    ]:
        if path.is_file():
            for t in pd.read_csv(path, usecols=[col], keep_default_na=False)[col]:
                research.update(_sentences(str(t)))
    for split in ("train", "val", "test"):
        p = DATA / "emotion" / f"{split}.txt"
        if p.is_file():
            for line in p.read_text("utf-8").splitlines():
                research.update(_sentences(line.rsplit(";", 1)[0]))
    ours = CRISIS_STATEMENTS + NEGATED + PAST_RESOLVED + IDIOMS + EVERYDAY + ALL_FILLER
    copied = [s for t in ours for s in _sentences(t) if s in research]
    assert copied == []
    assert len(research) > 10_000  # the check did read the data


# --------------------------------------------------------------------------- the checkpoint


@pytest.fixture(scope="module")
def report():
    from cmhl.checkpoint import load_checkpoint

    from cmhl_desktop.core.scoring import Scorer

    ck = load_checkpoint(_checkpoint_dir())
    rep = suite.run_suite(Scorer(ck).score, profile="test", model=ck.name)
    print("\n" + rep.to_markdown() + "\n\n" + suite.markdown_breakdown({ck.name: rep}))
    return rep


@pytest.mark.slow
@needs_checkpoint
@pytest.mark.parametrize("kind", list(suite.KINDS))
def test_pass_rate_meets_the_bar(kind, report, request):
    known = MEASURED.get(report.model, {}).get(kind)
    if known is not None and known < suite.BARS[kind]:
        request.applymarker(
            pytest.mark.xfail(
                strict=True, reason=f"issue 11: {report.model} measured {known:.2f}, bar {suite.BARS[kind]}"
            )
        )
    row = report.row(kind)
    failed = [c.id for c in report.failures(kind)][:12]
    assert row.rate >= suite.BARS[kind], (
        f"{kind}: {row.passed}/{row.n} pass, bar {suite.BARS[kind]}; failing e.g. {failed}"
    )


@pytest.mark.slow
@needs_checkpoint
@pytest.mark.parametrize("kind", list(suite.KINDS))
def test_pass_rate_does_not_fall_below_what_was_measured(kind, report):
    known = MEASURED.get(report.model, {}).get(kind)
    if known is None:
        pytest.skip(f"no measured rates for {report.model}")
    row = report.row(kind)
    assert row.rate >= known - MARGIN, f"{kind}: {row.passed}/{row.n}, measured {known:.2f}"


@pytest.mark.slow
@needs_checkpoint
def test_no_content_status(report, request):
    """Posts without readable words get the `no content` status once the scorer has it (until then
    xfail); real short replies ("ok", "lol") never do."""
    for c, r in zip(report.cases, report.results, strict=True):
        if c.kind != "no_content":
            assert r.status != suite.NO_CONTENT_STATUS, c.id
    if not any(r.status == suite.NO_CONTENT_STATUS for r in report.results):
        request.applymarker(
            pytest.mark.xfail(strict=False, reason="the scorer has no `no content` status yet")
        )
    strict = [
        (c.id, r.status)
        for c, r in zip(report.cases, report.results, strict=True)
        if c.meta.get("strict") and r.status not in (suite.NO_CONTENT_STATUS, "empty")
    ]
    assert strict == []
    assert len(NO_CONTENT_STRICT) + len(NO_CONTENT_OTHER) == report.row("no_content").n
