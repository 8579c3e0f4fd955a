"""The CMHL model library: losses, circumplex, metrics, calibration, checkpoints, data errors."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch
from cmhl.calibration import FlagRule, fit_temperature, nll, pick_threshold, pr_points
from cmhl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, write_manifest
from cmhl.config import EMOTIONS, ConfigError, LongTextConfig, TrainConfig, default_circumplex
from cmhl.data import DataError, read_distress_csv, read_emotion_file
from cmhl.inference import predict_texts
from cmhl.losses import cmhl_loss, consistency_loss, contradiction_loss, pair_index
from cmhl.metrics import (
    auc_interval,
    binary_rates,
    classification_report,
    contradiction_rate,
    wilson_interval,
)
from cmhl.windows import encode_posts, window_starts

PAIRS = pair_index(list(EMOTIONS))


def probs_of(**kw) -> torch.Tensor:
    p = torch.tensor([[kw.get(e, 0.0) for e in EMOTIONS]])
    return p / p.sum()


# --- losses ---------------------------------------------------------------------------------------


def test_contradiction_loss_is_zero_when_one_emotion_is_certain():
    assert contradiction_loss(probs_of(joy=1.0), PAIRS).item() == pytest.approx(0.0, abs=1e-9)
    assert contradiction_loss(probs_of(anger=1.0), PAIRS).item() == pytest.approx(0.0, abs=1e-9)


def test_contradiction_loss_grows_when_joy_and_anger_are_both_high():
    low = contradiction_loss(probs_of(joy=0.9, anger=0.1), PAIRS).item()
    high = contradiction_loss(probs_of(joy=0.5, anger=0.5), PAIRS).item()
    assert high == pytest.approx(0.25)
    assert high > low > 0


def test_contradiction_ignores_surprise_and_same_valence_pairs():
    assert contradiction_loss(probs_of(joy=0.5, surprise=0.5), PAIRS).item() == pytest.approx(0.0)
    assert contradiction_loss(probs_of(sadness=0.5, anger=0.5), PAIRS).item() == pytest.approx(0.0)


def test_consistency_loss_zero_when_heads_match_implied_point():
    points = torch.tensor([default_circumplex()[e] for e in EMOTIONS])
    p = probs_of(joy=0.7, fear=0.3)
    v, a = (p @ points)[0]
    assert consistency_loss(p, v.view(1), a.view(1), points).item() == pytest.approx(0.0, abs=1e-12)
    assert consistency_loss(p, torch.tensor([-1.0]), torch.tensor([0.0]), points).item() > 0.5


def test_circumplex_targets_match_the_warriner_table():
    pts = default_circumplex()
    # (V - 5) / 4 and (A - 1) / 8 of the ratings given in the data README
    assert pts["sadness"] == pytest.approx([(2.40 - 5) / 4, (2.81 - 1) / 8])
    assert pts["joy"] == pytest.approx([(8.21 - 5) / 4, (5.55 - 1) / 8])
    assert pts["fear"] == pytest.approx([(2.93 - 5) / 4, (6.14 - 1) / 8])
    assert pts["surprise"] == pytest.approx([(7.44 - 5) / 4, (6.57 - 1) / 8])
    assert all(-1 <= v <= 1 and 0 <= a <= 1 for v, a in pts.values())


def test_gradients_reach_the_encoder(tiny_checkpoint):
    model = tiny_checkpoint.model
    model.train()
    ids = torch.randint(5, 1000, (3, 12))
    mask = torch.ones_like(ids)
    out = model(ids, mask)
    loss, terms = cmhl_loss(
        out, model.circumplex_points, PAIRS, TrainConfig().loss, "emotion", torch.tensor([0, 1, 3])
    )
    model.zero_grad()
    loss.backward()
    grad = model.word_embeddings().weight.grad
    model.eval()
    assert set(terms) >= {"emotion_ce", "circumplex", "contradiction", "consistency"}
    assert grad is not None and grad.abs().sum() > 0


# --- metrics and calibration ------------------------------------------------------------------------


def test_classification_report_matches_hand_computed_case():
    y = np.array([0, 0, 1, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0, 2])
    rep = classification_report(y, p, ["a", "b", "c"])
    # a: P 1/2 R 1/2 F1 .5; b: P 2/3 R 2/3 F1 2/3; c: 1, 1, 1
    assert rep["per_class"]["a"]["f1"] == pytest.approx(0.5)
    assert rep["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert rep["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert rep["weighted_f1"] == pytest.approx((2 * 0.5 + 3 * 2 / 3 + 1) / 6)
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert rep["confusion"]["matrix"] == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]


def test_contradiction_rate_counts_posts_with_both_sides_above_threshold():
    probs = np.array([[0.35, 0.35, 0.1, 0.1, 0.05, 0.05], [0.9, 0.02, 0.02, 0.02, 0.02, 0.02]])
    assert contradiction_rate(probs, PAIRS.numpy()) == pytest.approx(0.5)


def test_binary_rates_hand_computed():
    r = binary_rates(np.array([0.9, 0.8, 0.3, 0.2]), np.array([True, False, True, False]), 0.5)
    assert (r["recall"], r["precision"], r["specificity"]) == (0.5, 0.5, 0.5)
    assert r["recall_ci"] == pytest.approx(list(wilson_interval(1, 2)))


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe, Statistics in Medicine 1998, Table I (method 3, the Wilson score interval)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_auc_interval_covers_the_true_auc_about_95_in_100_times():
    # two normal score distributions one SD apart: true AUC = Phi(1 / sqrt(2)) = 0.7602
    rng = np.random.default_rng(0)
    true_auc, hits = 0.760250, 0
    for _ in range(300):
        pos, neg = rng.normal(1, 1, 66), rng.normal(0, 1, 541)  # stb validation's class sizes
        s = np.r_[pos, neg]
        y = np.r_[np.ones(66, bool), np.zeros(541, bool)]
        lo, hi = auc_interval(s, y)
        hits += lo <= true_auc <= hi
    assert 0.91 <= hits / 300 <= 0.98
    assert all(math.isnan(x) for x in auc_interval(np.arange(10.0), np.zeros(10, bool)))


def test_threshold_is_the_highest_meeting_the_target_recall():
    scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    pos = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 1], bool)  # 6 positives
    pr = pr_points(scores, pos)
    assert pick_threshold(pr, 0.5) == pytest.approx(0.7)  # 3/6 reached at 0.7
    assert pick_threshold(pr, 4 / 6) == pytest.approx(0.6)
    assert pick_threshold(pr, 5 / 6) == pytest.approx(0.4)
    assert pick_threshold(pr, 1.0) == pytest.approx(0.1)
    # brute force: no higher threshold reaches the recall
    for target in (0.3, 0.5, 0.8, 0.95):
        t = pick_threshold(pr, target)
        assert (pos & (scores >= t)).sum() / pos.sum() >= target
        higher = scores[scores > t]
        assert all((pos & (scores >= h)).sum() / pos.sum() < target for h in higher)


def test_flag_rule_scores_and_expected_rates():
    labels = ["depression", "suicidewatch", "control"]
    probs = np.array([[0.1, 0.1, 0.8], [0.2, 0.7, 0.1]])
    any_d = FlagRule("any_distress", "not_class", "control", 0.95)
    assert any_d.scores(probs, labels) == pytest.approx([0.2, 0.9])
    assert list(any_d.positives(np.array([2, 1]), labels)) == [False, True]
    any_d.pr = pr_points(np.array([0.9, 0.2]), np.array([True, False]))
    assert any_d.expected_at(0.5)["recall"] == 1.0


def test_temperature_scaling_lowers_nll_on_overconfident_logits():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    logits = rng.normal(size=(2000, 4))
    logits[np.arange(2000), y] += 1.0  # some signal ...
    logits *= 5.0  # ... but far too confident
    t = fit_temperature(logits, y)
    assert t > 2.0
    assert nll(logits, y, t) < nll(logits, y, 1.0) - 0.1


# --- windows ------------------------------------------------------------------------------------------


def test_windows_cover_the_end_and_mark_truncation():
    cfg = LongTextConfig(stride=8, max_windows=4)
    starts, trunc = window_starts(30, 10, cfg)
    assert starts[0] == 0 and starts[-1] == 20 and not trunc  # the last window ends at the last token
    starts, trunc = window_starts(100, 10, cfg)
    assert len(starts) == 4 and trunc
    assert window_starts(5, 10, cfg) == ([0], False)
    assert window_starts(30, 10, LongTextConfig(strategy="head")) == ([0], True)


def test_encode_posts_offsets_point_at_the_text(tiny_checkpoint):
    text = "I can't sleep. " * 40
    enc = encode_posts(tiny_checkpoint.tokenizer, [text], 64, tiny_checkpoint.config.long_text)[0]
    assert len(enc.windows) > 1 and all(len(w) <= 64 for w in enc.windows)
    assert enc.n_tokens == len(enc.offsets)
    s, e = enc.offsets[-1]
    assert text[s:e] == "."


# --- checkpoints -----------------------------------------------------------------------------------------


def test_save_load_gives_identical_outputs(tiny_checkpoint, tmp_path):
    texts = ["a calm day at the lake", "", "nothing matters and I feel empty " * 20]
    before = predict_texts(tiny_checkpoint.model, tiny_checkpoint.tokenizer, texts)
    path = save_checkpoint(
        tmp_path / "ck",
        tiny_checkpoint.model,
        tiny_checkpoint.tokenizer,
        tiny_checkpoint.calibration,
        fp16=False,
    )
    again = load_checkpoint(path)
    after = predict_texts(again.model, again.tokenizer, texts)
    np.testing.assert_allclose(before.distress_logits, after.distress_logits, atol=1e-5)
    np.testing.assert_allclose(before.emotion_logits, after.emotion_logits, atol=1e-5)
    assert again.calibration.rules[0].threshold == tiny_checkpoint.calibration.rules[0].threshold


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_tampered_weights_are_refused(tiny_checkpoint_dir, tmp_path):
    ck = _copy(tiny_checkpoint_dir, tmp_path / "ck")
    w = ck / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="do not match the manifest"):
        load_checkpoint(ck)


def test_pickle_files_are_refused_never_unpickled(tiny_checkpoint_dir, tmp_path):
    ck = _copy(tiny_checkpoint_dir, tmp_path / "ck")

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    (ck / "pytorch_model.bin").write_bytes(pickle.dumps(Boom()))
    write_manifest(ck)  # even a consistent manifest does not make a pickle acceptable
    with pytest.raises(CheckpointError, match="refusing pickle"):
        load_checkpoint(ck)


def test_missing_file_and_head_mismatch_are_clear_errors(tiny_checkpoint_dir, tmp_path):
    ck = _copy(tiny_checkpoint_dir, tmp_path / "ck")
    (ck / "calibration.json").unlink()
    with pytest.raises(CheckpointError, match="calibration.json is missing"):
        load_checkpoint(ck)

    ck2 = _copy(tiny_checkpoint_dir, tmp_path / "ck2")
    cfg = json.loads((ck2 / "config.json").read_text())
    cfg["distress_labels"] = cfg["distress_labels"] + ["extra"]
    (ck2 / "config.json").write_text(json.dumps(cfg))
    write_manifest(ck2)
    with pytest.raises(CheckpointError, match="label count or encoder size"):
        load_checkpoint(ck2)

    ck3 = _copy(tiny_checkpoint_dir, tmp_path / "ck3")
    (ck3 / "tokenizer.json").unlink()
    (ck3 / "tokenizer_config.json").unlink()
    write_manifest(ck3)
    with pytest.raises(CheckpointError, match="tokenizer"):
        load_checkpoint(ck3)


def test_unlisted_file_is_refused(tiny_checkpoint_dir, tmp_path):
    ck = _copy(tiny_checkpoint_dir, tmp_path / "ck")
    (ck / "extra.safetensors").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="not in the manifest"):
        load_checkpoint(ck)


# --- bad input -------------------------------------------------------------------------------------------


def test_emotion_file_errors_name_file_and_line(tmp_path):
    f = tmp_path / "train.txt"
    f.write_text("i feel fine;joy\nno label here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.txt:2: expected 'text;label'"):
        read_emotion_file(f, list(EMOTIONS))
    f.write_text("i feel fine;joy\ni feel odd;boredom\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.txt:2: unknown label 'boredom'"):
        read_emotion_file(f, list(EMOTIONS))
    f.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no examples"):
        read_emotion_file(f, list(EMOTIONS))


def test_distress_csv_missing_column(tmp_path):
    f = tmp_path / "posts.csv"
    f.write_text("id,split,text\n1,train,hello\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column.*label"):
        read_distress_csv(f, "train", ["control", "depression"])


def test_recipe_with_a_wrong_key_names_it(tmp_path):
    r = tmp_path / "r.toml"
    r.write_text("epochs = 2\nlearning_rate = 0.1\n[loss]\ncontradiction = 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_toml(r)
    r.write_text("[loss]\ncontradictoin = 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="contradictoin"):
        TrainConfig.from_toml(r)
    r.write_text("epochs = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig.from_toml(r)


def test_card_intervals_come_from_stored_intervals_or_counts():
    from cmhl.card import comparison_tables, interval

    flags = {"recall": 0.9, "precision": 0.5, "specificity": 0.8, "tp": 90, "fp": 90, "fn": 10, "tn": 360}
    m = {
        "distress_test": {"macro_f1": 0.75, "flags": {"suicidewatch": flags}},
        "stb_test": {
            "n_crisis": 110,
            "n_other": 908,
            "suicidewatch_recall": 0.9,
            "suicidewatch_auc": 0.89,
            "any_rule_flagged_other": 0.37,
            "suicidewatch_auc_ci": [0.86, 0.92],
            "any_rule_flagged_crisis": 0.92,
            "flags": {"suicidewatch": {"flagged_crisis": 0.9, "flagged_other": 0.36}},
        },
    }
    assert interval(m, ("distress_test", "flags", "suicidewatch", "recall")) == wilson_interval(90, 100)
    assert interval(m, ("distress_test", "flags", "suicidewatch", "precision")) == wilson_interval(90, 180)
    assert interval(m, ("stb_test", "any_rule_flagged_other")) == wilson_interval(336, 908)
    assert interval(m, ("stb_test", "suicidewatch_auc")) == (0.86, 0.92)
    assert interval(m, ("distress_test", "macro_f1")) is None  # no interval without predictions
    assert interval(m, ("emotion_test", "macro_f1")) is None  # not measured
    row = next(r for r in comparison_tables(m, ["suicidewatch"])["HEADLINE"].splitlines() if "ROC-AUC" in r)
    assert row.endswith("| 0.8600–0.9200 |")


def test_evaluate_summary_prints_the_intervals():
    from cmhl_desktop.commands.evaluate import summary

    rates = binary_rates(np.r_[np.ones(9), np.zeros(11)], np.r_[np.ones(10, bool), np.zeros(10, bool)], 0.5)
    rep = {
        "task": "distress",
        "split": "val",
        "n": 20,
        "accuracy": 0.9,
        "macro_f1": 0.9,
        "weighted_f1": 0.9,
        "macro_recall": 0.9,
        "per_class": {},
        "flags": {"suicidewatch": rates},
    }
    lo, hi = wilson_interval(9, 10)
    assert f"recall 0.9000 (95% CI {lo:.3f}-{hi:.3f})" in summary(rep)
