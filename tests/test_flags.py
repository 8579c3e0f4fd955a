"""FlagPolicy: thresholds from the stored validation PR points, expected rates, apply and reflag."""

from __future__ import annotations

import copy
import math
import sys

import numpy as np
import pytest
from cmhl.calibration import Calibration, FlagRule, pick_threshold, pr_points
from cmhl.metrics import wilson_interval

from cmhl_desktop.core.flags import FlagPolicy, PolicyError
from cmhl_desktop.core.results import PostResult
from cmhl_desktop.core.scoring import Scorer, ScoringOptions

LABELS = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]


def make_calibration(seed: int = 0) -> Calibration:
    rng = np.random.default_rng(seed)
    rules = [
        FlagRule("any_distress", "not_class", "control", 0.95),
        FlagRule("suicidewatch", "class", "suicidewatch", 0.90),
    ]
    for r in rules:
        s = rng.random(300)
        r.pr = pr_points(s, rng.random(300) < s)
        r.threshold = pick_threshold(r.pr, r.target_recall)
    return Calibration({"emotion": 1.0, "distress": 1.0}, rules)


def random_results(n: int, seed: int = 0) -> list[PostResult]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(LABELS)), size=n)
    out = []
    for i, p in enumerate(probs):
        if i % 50 == 7:
            out.append(PostResult(status="empty", flagged=True, flag_rules=["stale"]))  # must be cleared
        else:
            out.append(PostResult(status="ok", distress_probs=dict(zip(LABELS, p.tolist(), strict=True))))
    return out


def test_defaults_are_the_stored_thresholds(tiny_checkpoint):
    policy = FlagPolicy.from_checkpoint(tiny_checkpoint)
    assert policy.rule_names == [r.name for r in tiny_checkpoint.calibration.rules]
    for r in tiny_checkpoint.calibration.rules:
        assert policy.threshold(r.name) == r.threshold
        assert policy.target_recall(r.name) == r.target_recall


@pytest.mark.parametrize("target", [0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0])
def test_target_recall_matches_pick_threshold(tiny_checkpoint, target):
    policy = FlagPolicy.from_checkpoint(tiny_checkpoint)
    for r in tiny_checkpoint.calibration.rules:
        t = policy.set_target_recall(r.name, target)
        assert t == pick_threshold(r.pr, target)
        assert policy.threshold(r.name) == t
        assert policy.target_recall(r.name) == target
        exp = policy.expected(r.name)
        i = r.pr["thresholds"].index(t)  # the threshold is one of the stored points
        assert {k: exp[k] for k in ("recall", "precision", "specificity")} == {
            k: r.pr[k][i] for k in ("recall", "precision", "specificity")
        }
        assert exp["recall"] >= target - 1e-12  # the validation recall meets the target
        tp = round(exp["recall"] * r.pr["positives"])  # intervals from the stored counts
        assert exp["recall_ci"] == wilson_interval(tp, r.pr["positives"])
        assert exp["recall_ci"][0] <= exp["recall"] <= exp["recall_ci"][1]
        assert exp["precision_ci"][0] <= exp["precision"] <= exp["precision_ci"][1]


def test_higher_target_recall_never_raises_the_threshold():
    policy = FlagPolicy(make_calibration(), LABELS)
    ts = [policy.set_target_recall("any_distress", r) for r in np.linspace(0.05, 1.0, 40)]
    assert all(a >= b for a, b in zip(ts, ts[1:], strict=False))


def test_policy_never_mutates_the_checkpoint_calibration(tiny_checkpoint):
    before = copy.deepcopy(tiny_checkpoint.calibration)
    policy = FlagPolicy.from_checkpoint(tiny_checkpoint)
    policy.set_target_recalls(0.5)
    policy.set_threshold(policy.rule_names[0], 0.123)
    assert tiny_checkpoint.calibration == before


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01, float("nan")])
def test_bad_target_recall_is_refused(bad):
    policy = FlagPolicy(make_calibration(), LABELS)
    with pytest.raises(PolicyError, match="target recall"):
        policy.set_target_recall("any_distress", bad)


def test_unknown_rule_names_the_known_ones():
    policy = FlagPolicy(make_calibration(), LABELS)
    with pytest.raises(PolicyError, match="any_distress, suicidewatch"):
        policy.set_target_recall("nope", 0.9)
    with pytest.raises(PolicyError):
        policy.set_target_recalls({"nope": 0.9})


def test_rule_without_pr_points_cannot_move_but_still_flags():
    cal = Calibration(rules=[FlagRule("sw", "class", "suicidewatch", 0.9, threshold=0.4)])
    policy = FlagPolicy(cal, LABELS)
    with pytest.raises(PolicyError, match="PR points"):
        policy.set_target_recall("sw", 0.8)
    assert all(math.isnan(v) for v in policy.expected("sw").values())
    assert policy.apply([0, 0.4, 0, 0, 0.6]) == (True, ["sw"])


def test_apply_semantics_and_boundaries():
    policy = FlagPolicy(make_calibration(), LABELS)
    policy.set_threshold("any_distress", 0.5)
    policy.set_threshold("suicidewatch", 0.3)
    # 1 - P(control) = 0.5 >= 0.5 fires (>=); P(sw) = 0.3 fires
    assert policy.apply([0.1, 0.3, 0.05, 0.05, 0.5]) == (True, ["any_distress", "suicidewatch"])
    assert policy.apply([0.1, 0.29, 0.05, 0.05, 0.51]) == (False, [])
    assert policy.apply(np.array([0.0, 0.35, 0.0, 0.0, 0.65])) == (True, ["suicidewatch"])
    assert policy.apply(dict(zip(LABELS, [0.6, 0.0, 0.0, 0.0, 0.4], strict=True))) == (True, ["any_distress"])
    r = PostResult(status="ok", distress_probs=dict(zip(LABELS, [0.6, 0.0, 0.0, 0.0, 0.4], strict=True)))
    assert policy.apply(r) == (True, ["any_distress"])
    assert policy.apply(PostResult(status="empty")) == (False, [])
    assert policy.apply(PostResult(status="error: x", distress_probs=r.distress_probs)) == (False, [])
    assert policy.target_recall("any_distress") is None  # set by hand
    policy.reset("any_distress")
    assert policy.target_recall("any_distress") == 0.95


def test_reflag_matches_apply_row_by_row():
    policy = FlagPolicy(make_calibration(), LABELS)
    policy.set_target_recalls({"any_distress": 0.6, "suicidewatch": 0.5})
    results = random_results(2000)
    n = policy.reflag(results)
    assert n == sum(r.flagged for r in results) > 0
    for r in results:
        assert (r.flagged, r.flag_rules) == policy.apply(r)
    assert not any(r.flagged or r.flag_rules for r in results if r.status == "empty")
    rule_lists = [r.flag_rules for r in results if r.flagged]
    assert len({id(x) for x in rule_lists}) == len(rule_lists)  # no shared mutable lists


def test_reflag_with_a_cached_probability_matrix():
    policy = FlagPolicy(make_calibration(), LABELS)
    results = random_results(500)
    probs = policy.probs_matrix(results)
    counts = []
    for target in (0.3, 0.6, 0.9, 1.0):
        policy.set_target_recalls(target)
        counts.append(policy.reflag(results, probs))
        assert [(r.flagged, r.flag_rules) for r in results] == [policy.apply(r) for r in results]
    assert counts == sorted(counts)  # a higher recall target flags at least as many posts


def python_calls(fn) -> int:
    """How many Python functions `fn()` calls (builtins and C code not counted)."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def test_reflag_is_vectorised():
    """Re-flagging from the session's cached probability matrix makes the same number of Python
    calls for 20,000 rows as for 1,000 (the rules fire on whole arrays, never through a per-row
    `apply`), and gives `apply`'s answer. Its speed is in tests/benchmarks/bench_table.py."""
    policy = FlagPolicy(make_calibration(), LABELS)
    small, big = random_results(1000), random_results(20_000, seed=1)
    policy.set_target_recalls(0.8)
    probs_small, probs_big = policy.probs_matrix(small), policy.probs_matrix(big)
    policy.reflag(small, probs_small)  # warm: numpy's first calls run setup code once
    n_small = python_calls(lambda: policy.reflag(small, probs_small))
    n_big = python_calls(lambda: policy.reflag(big, probs_big))
    assert 0 < n_big <= n_small + 2 ** len(policy.rule_names)  # + one list per combination of rules
    assert 0 < sum(r.flagged for r in big) < len(big)
    for r in big[::97]:
        assert (r.flagged, r.flag_rules) == policy.apply(r)


def test_summary_for_the_run_sheet():
    policy = FlagPolicy(make_calibration(), LABELS)
    policy.set_target_recall("any_distress", 0.9)
    policy.set_threshold("suicidewatch", 0.42)
    s = policy.summary()
    assert s["any_distress"]["score"] == "1 - P(control)"
    assert s["any_distress"]["target_recall"] == 0.9 and s["any_distress"]["source"] == "target"
    assert s["suicidewatch"]["threshold"] == 0.42 and s["suicidewatch"]["target_recall"] is None
    assert s["any_distress"]["expected_recall"] >= 0.9
    lines = dict(policy.summary_lines())
    assert "1 - P(control) >= " in lines["flag any_distress"]
    assert "manual threshold" in lines["flag suicidewatch"]


def test_reflag_matches_rescoring(tiny_checkpoint):
    """Moving the target recall and re-flagging stored results = scoring again with that policy."""
    texts = [
        f"post number {i} about {w}" for i, w in enumerate(["sleep", "work", "panic", "mood", "rain"] * 8)
    ]
    texts[3] = "   "
    scorer = Scorer(tiny_checkpoint, ScoringOptions(bf16=False))
    results = scorer.score(texts)
    policy = FlagPolicy.from_checkpoint(tiny_checkpoint)
    policy.set_target_recalls(0.6)
    policy.reflag(results)
    again = scorer.score(texts, policy=policy)
    assert [(r.flagged, r.flag_rules) for r in results] == [(r.flagged, r.flag_rules) for r in again]
    # a threshold inside the (narrow, random-model) score range, so that the split is not trivial
    median = float(np.median([r.distress_score for r in results if r.scored]))
    policy.set_threshold("any_distress", median)
    policy.reflag(results)
    again = scorer.score(texts, policy=policy)
    assert [(r.flagged, r.flag_rules) for r in results] == [(r.flagged, r.flag_rules) for r in again]
    hits = ["any_distress" in r.flag_rules for r in again if r.scored]
    assert any(hits) and not all(hits)


def test_explain_class_at_the_current_thresholds():
    """The class a post is explained for: a fired class rule names it, a fired not_class rule gives
    the top class it does not exclude, else the top class; and it follows moved thresholds."""
    labels = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
    any_d = FlagRule("any_distress", "not_class", "control", 0.95, threshold=0.5)
    sw = FlagRule("suicidewatch", "class", "suicidewatch", 0.9, threshold=0.2)
    policy = FlagPolicy(Calibration({"distress": 1.0}, [any_d, sw]), labels)
    # nothing fires: the top class (control)
    assert policy.explain_class(np.array([0.1, 0.05, 0.1, 0.05, 0.7])) == ("control", "top")
    # any-distress fires: the top non-control class, even when control is the single top class
    assert policy.explain_class(np.array([0.2, 0.1, 0.25, 0.0, 0.45])) == ("anxiety", "flag:any_distress")
    # the suicidewatch rule fires: its class, though depression is more probable
    probs = {"depression": 0.5, "suicidewatch": 0.25, "anxiety": 0.1, "bipolar": 0.05, "control": 0.1}
    assert policy.explain_class(probs) == ("suicidewatch", "flag:suicidewatch")
    # at a moved threshold the same post is explained for another class
    policy.set_threshold("suicidewatch", 0.3)
    assert policy.explain_class(probs) == ("depression", "flag:any_distress")
    scored = PostResult(distress_probs=probs)
    assert policy.explain_class(scored) == ("depression", "flag:any_distress")
    with pytest.raises(PolicyError, match="not scored"):
        policy.explain_class(PostResult(status="empty"))


def test_explain_class_of_a_post_flagged_by_its_segment_only():
    """A post whose suicidewatch flag comes from one crisis sentence (its segment), while the whole
    post reads as control, is explained for suicidewatch, the class it is flagged for: not for
    control (found by the new-user test: "Red words pushed this post toward control" on a post
    flagged "suicidewatch: one sentence reads as a crisis")."""
    labels = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
    any_d = FlagRule("any_distress", "not_class", "control", 0.95, threshold=0.5)
    sw = FlagRule("suicidewatch", "class", "suicidewatch", 0.9, threshold=0.3, segments=True)
    policy = FlagPolicy(Calibration({"distress": 1.0}, [any_d, sw]), labels)
    probs = {"depression": 0.1, "suicidewatch": 0.1, "anxiety": 0.1, "bipolar": 0.05, "control": 0.65}
    segment = {"depression": 0.2, "suicidewatch": 0.6, "anxiety": 0.05, "bipolar": 0.05, "control": 0.1}
    post = PostResult(distress_probs=probs, segment_max=segment)
    assert policy.apply(post) == (True, ["suicidewatch"])
    assert policy.explain_class(post) == ("suicidewatch", "flag:suicidewatch")
    # the bare probabilities (no segment) still give the top class
    assert policy.explain_class(probs) == ("control", "top")
