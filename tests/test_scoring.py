"""Scorer: one result per row in order, statuses, order restoration, long posts, cancel, bf16."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest
import torch
from cmhl import fast_cpu
from cmhl.batching import bucket_width, plan_windows
from cmhl.calibration import Calibration
from cmhl.fast_cpu import bf16_model
from cmhl.inference import predict_encoded, predict_texts, softmax

from cmhl_desktop.core import scoring
from cmhl_desktop.core.results import PostResult
from cmhl_desktop.core.scoring import Scorer, ScoringOptions
from cmhl_desktop.core.tasks import Cancelled, TaskState

WORDS = "sleep work panic mood rain tired alone happy friend night scared calm family today".split()


def sentences(n: int, seed: int = 0, lo: int = 3, hi: int = 40) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))) for _ in range(n)]


def probs(r: PostResult) -> np.ndarray:
    return np.array(
        list(r.distress_probs.values()) + list(r.emotion_probs.values()) + [r.valence, r.intensity]
    )


@pytest.fixture(scope="module")
def fp32(tiny_checkpoint):
    return Scorer(tiny_checkpoint, ScoringOptions(bf16=False))


class Unprintable:
    def __str__(self):
        raise RuntimeError("no text here")


def test_every_row_comes_out_in_order(tiny_checkpoint, no_network):
    cells = [
        "I can't sleep",
        "",
        "   \n\t ",
        None,
        float("nan"),
        42,
        3.5,
        b"bytes post",
        "\u200b\u200b",
        Unprintable(),
    ]
    cells += ["lone surrogate \ud800 here", "last post"]
    res = Scorer(tiny_checkpoint).score(cells)
    assert len(res) == len(cells)
    status = [r.status for r in res]
    # numbers alone have no readable words: "no content" (not scored, never flagged)
    assert status[:10] == [
        "ok",
        "empty",
        "empty",
        "empty",
        "empty",
        "no content",
        "no content",
        "ok",
        "no content",  # zero-width characters only
        status[9],
    ]
    assert status[9].startswith("error: ") and "RuntimeError" in status[9]
    assert status[10:] == ["ok", "ok"]
    for r in res:
        if r.scored:
            assert r.category in tiny_checkpoint.config.distress_labels
            assert r.emotion in tiny_checkpoint.config.emotion_labels
            assert math.isclose(sum(r.distress_probs.values()), 1.0, rel_tol=1e-9)
            assert math.isclose(sum(r.emotion_probs.values()), 1.0, rel_tol=1e-9)
            assert r.distress_score == pytest.approx(1 - r.distress_probs["control"])
            assert -1 <= r.valence <= 1 and 0 <= r.intensity <= 1 and r.n_tokens > 0
        else:
            assert not r.flagged and not r.distress_probs and r.category == ""


def test_matches_the_reference_inference(tiny_checkpoint, fp32):
    """fp32 scoring = cmhl.inference.predict_texts + temperature-scaled softmax."""
    texts = sentences(30, seed=1)
    ref = predict_texts(tiny_checkpoint.model, tiny_checkpoint.tokenizer, texts)
    res = fp32.score(texts)
    p = softmax(ref.distress_logits.astype(np.float64), 1.0)
    got = np.array([list(r.distress_probs.values()) for r in res])
    np.testing.assert_allclose(got, p, atol=1e-6)
    labels = tiny_checkpoint.config.distress_labels
    assert [r.category for r in res] == [labels[i] for i in p.argmax(1)]
    np.testing.assert_allclose([r.valence for r in res], ref.valence, atol=1e-6)


def test_temperatures_are_applied(tiny_checkpoint):
    cal = dataclasses.replace(tiny_checkpoint.calibration, temperatures={"distress": 3.0, "emotion": 0.5})
    ck = dataclasses.replace(tiny_checkpoint, calibration=cal)
    texts = sentences(5, seed=2)
    ref = predict_texts(tiny_checkpoint.model, tiny_checkpoint.tokenizer, texts)
    res = Scorer(ck, ScoringOptions(bf16=False)).score(texts)
    np.testing.assert_allclose(
        [list(r.distress_probs.values()) for r in res],
        softmax(ref.distress_logits.astype(np.float64), 3.0),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        [list(r.emotion_probs.values()) for r in res],
        softmax(ref.emotion_logits.astype(np.float64), 0.5),
        atol=1e-6,
    )


def test_same_text_same_result_regardless_of_position_and_batch(tiny_checkpoint):
    rng = random.Random(3)
    texts = sentences(40, seed=3, hi=120)  # some posts need several windows (tiny: 64 tokens)
    alone = {t: probs(Scorer(tiny_checkpoint, ScoringOptions(bf16=False)).score([t])[0]) for t in texts[:6]}
    shuffled = texts[:]
    rng.shuffle(shuffled)
    a = Scorer(tiny_checkpoint, ScoringOptions(bf16=False)).score(texts)
    b = Scorer(tiny_checkpoint, ScoringOptions(bf16=False, chunk=7, max_batch=3, token_budget=200)).score(
        shuffled
    )
    by_text = {t: probs(r) for t, r in zip(shuffled, b, strict=True)}
    for t, r in zip(texts, a, strict=True):
        np.testing.assert_allclose(probs(r), by_text[t], atol=1e-5)
    for t, p in alone.items():
        np.testing.assert_allclose(p, by_text[t], atol=1e-5)
    # bf16: batch composition changes the kernels' blocking a little; results stay close
    c = Scorer(tiny_checkpoint, ScoringOptions(bf16=True, chunk=5, max_batch=4)).score(shuffled)
    d = Scorer(tiny_checkpoint, ScoringOptions(bf16=True)).score(texts)
    by_text = {t: probs(r) for t, r in zip(shuffled, c, strict=True)}
    for t, r in zip(texts, d, strict=True):
        np.testing.assert_allclose(probs(r), by_text[t], atol=2e-2)


def test_iter_score_streams_chunks_in_order(tiny_checkpoint, fp32):
    texts = sentences(23, seed=4)
    texts[5] = ""
    s = Scorer(tiny_checkpoint, ScoringOptions(bf16=False, chunk=5))
    seen = []
    for start, part in s.iter_score(iter(texts)):  # a generator: no len()
        assert start == len(seen)
        assert 1 <= len(part) <= 5
        seen.extend(part)
    assert len(seen) == 23 and seen[5].status == "empty"
    whole = fp32.score(texts)
    for x, y in zip(seen, whole, strict=True):
        assert x.status == y.status and x.category == y.category


def test_progress_reaches_the_total(tiny_checkpoint):
    calls = []
    state = TaskState(lambda d, t: calls.append((d, t)))
    Scorer(tiny_checkpoint, ScoringOptions(chunk=4)).score(sentences(10), state)
    assert calls[-1] == (10, 10)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def filler(n_words: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def test_long_post_reads_its_end(tiny_checkpoint, fp32):
    """A post longer than one window (tiny: 64 tokens) but within max_windows is read to its end:
    a tail changes the logits. Truncation at max_length would ignore it."""
    head = filler(300)
    tail = " suicide hopeless goodbye forever " * 3
    a, b = fp32.score([head, head + tail])
    assert a.status == b.status == "ok"
    assert b.n_tokens > a.n_tokens > tiny_checkpoint.config.max_length
    assert not np.allclose(probs(a), probs(b), atol=1e-6)
    # the first window alone is the same in both: the difference comes from reading the end
    first = fp32.score([fp32.ckpt.tokenizer.decode(fp32.ckpt.tokenizer(head)["input_ids"][1:60])])[0]
    assert not np.allclose(probs(first), probs(b), atol=1e-6)


def test_50k_char_post_is_truncated_per_max_windows(tiny_checkpoint, fp32):
    text = filler(9000, seed=5)[:50_000]
    assert len(text) == 50_000
    limit = fp32.read_limit_tokens
    cfg = tiny_checkpoint.config
    assert (
        limit
        == (cfg.long_text.max_windows - 1) * min(cfg.long_text.stride, cfg.max_length - 2)
        + cfg.max_length
        - 2
    )
    r, short = fp32.score([text, text[:2000]])
    assert r.status == "truncated" and r.n_tokens > limit and r.scored and r.category
    assert short.status == "ok"  # 2,000 characters fit in max_windows
    # documented: beyond the read limit nothing counts (the first `limit` tokens are read)
    r2 = fp32.score([text + " suicide hopeless goodbye"])[0]
    np.testing.assert_allclose(probs(r), probs(r2), atol=1e-6)


def test_cancel_midway_raises(tiny_checkpoint):
    texts = sentences(200, seed=6)
    state = TaskState()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done > 0:
            state.cancel()

    state._on_progress = progress
    with pytest.raises(Cancelled):
        Scorer(tiny_checkpoint, ScoringOptions(chunk=50, max_batch=8)).score(texts, state)
    assert 0 < max(seen) < 200


def test_cancel_before_start(tiny_checkpoint):
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        Scorer(tiny_checkpoint).score(["a post"], state)


def test_bf16_agrees_with_fp32(tiny_checkpoint):
    texts = sentences(300, seed=7, hi=80)
    b = Scorer(tiny_checkpoint, ScoringOptions(bf16=True))
    assert b.precision in ("bf16-fused", "bf16")
    rb = b.score(texts)
    rf = Scorer(tiny_checkpoint, ScoringOptions(bf16=False)).score(texts)
    pb = np.array([list(r.distress_probs.values()) for r in rb])
    pf = np.array([list(r.distress_probs.values()) for r in rf])
    assert np.abs(pb - pf).max() < 0.02
    same = np.mean([x.category == y.category for x, y in zip(rb, rf, strict=True)])
    # the random tiny model's classes are close to ties; the trained MiniLM's agreement is measured in
    # tests/benchmarks/bench_scoring.py (bar 99.5%)
    assert same >= 0.9, same


def test_fused_encoder_matches_hugging_face(tiny_checkpoint):
    model = tiny_checkpoint.model
    fast = bf16_model(model)
    assert fast.encoder.kind == "bf16-fused"
    assert fast.distress_head is model.distress_head  # heads shared, fp32
    assert model.encoder.embeddings.word_embeddings.weight.dtype == torch.float32  # original untouched
    ids = torch.randint(5, 1000, (4, 30))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    with torch.inference_mode():
        ref = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        plain = fast_cpu._Bf16Encoder(model.encoder)(ids, mask).last_hidden_state
        got = fast.encoder(ids, mask).last_hidden_state
        assert got.dtype == torch.float32
        m = mask.bool()
        err_fast = (got - ref)[m].abs().mean()
        err_plain = (plain - ref)[m].abs().mean()
        assert err_fast <= 2 * err_plain + 1e-3
        out_f, out_r = fast(ids, mask), model(ids, mask)
    np.testing.assert_allclose(out_f.distress_logits.numpy(), out_r.distress_logits.numpy(), atol=0.05)


def test_fused_failure_falls_back_to_plain_bf16(tiny_checkpoint, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("op missing")

    monkeypatch.setattr(fast_cpu._FusedBertEncoder, "forward", broken)
    s = Scorer(tiny_checkpoint, ScoringOptions(bf16=True))
    assert s.precision == "bf16"
    assert [r.status for r in s.score(["a post", "another"])] == ["ok", "ok"]


def test_bf16_failure_at_run_time_falls_back_to_fp32(tiny_checkpoint, monkeypatch):
    s = Scorer(tiny_checkpoint, ScoringOptions(bf16=True))

    class Broken(torch.nn.Module):
        config = tiny_checkpoint.model.config

        def forward(self, ids, mask):
            raise RuntimeError("bf16 kernel missing")

    s._fast = Broken()
    res = s.score(["a post", "", "another"])
    assert [r.status for r in res] == ["ok", "empty", "ok"]
    assert s.precision.startswith("fp32") and "bf16 failed" in s.fallback_reason


def test_fp32_fused_path_matches_hugging_face_exactly(tiny_checkpoint):
    """The default CPU fp32 path (fused, weights shared) gives the Hugging Face module's outputs."""
    texts = sentences(120, seed=9, hi=120)
    fused = Scorer(tiny_checkpoint, ScoringOptions(bf16=False))
    plain = Scorer(tiny_checkpoint, ScoringOptions(bf16=False, fused=False))
    assert fused.precision == "fp32-fused" and plain.precision == "fp32"
    enc = fused._fp32_model().encoder
    assert enc.embeddings is tiny_checkpoint.model.encoder.embeddings  # shared, not copied
    pf = np.array([list(r.distress_probs.values()) for r in fused.score(texts)])
    pp = np.array([list(r.distress_probs.values()) for r in plain.score(texts)])
    np.testing.assert_allclose(pf, pp, atol=1e-5)


def test_fp32_fused_failure_at_run_time_falls_back_to_the_plain_module(tiny_checkpoint, monkeypatch):
    s = Scorer(tiny_checkpoint, ScoringOptions(bf16=False))
    assert s.precision == "fp32-fused"

    def broken(*a, **k):
        raise RuntimeError("op missing")

    monkeypatch.setattr(fast_cpu._FusedBertEncoder, "forward", broken)
    assert [r.status for r in s.score(["a post", "another"])] == ["ok", "ok"]
    assert s.precision == "fp32"


def test_bf16_needs_native_instructions(monkeypatch):
    """oneDNN says yes on plain AVX-512 (emulated bf16, ~3x slower than fp32): auto must say no."""
    from cmhl.inference import bf16_supported

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert bf16_supported() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert bf16_supported() is True


def test_a_failing_post_does_not_stop_the_run(tiny_checkpoint, monkeypatch):
    """A forward failure isolates the post(s) that fail; the others are scored."""

    def flaky(real):
        def run(model, enc, *a, **k):
            if any(e.n_tokens == 7 for e in enc):
                raise RuntimeError("boom")
            return real(model, enc, *a, **k)

        return run

    monkeypatch.setattr(scoring, "predict_encoded", flaky(scoring.predict_encoded))
    texts = ["one two", "a b c d e f g", "three four five"]  # the second has 7 tokens
    for bf16 in (False, True):
        res = Scorer(tiny_checkpoint, ScoringOptions(bf16=bf16)).score(texts)
        assert res[0].status == "ok" and res[2].status == "ok"
        assert res[1].status.startswith("error: ") and "RuntimeError" in res[1].status


def test_bucketed_batches_have_few_shapes_and_cover_every_window(tiny_checkpoint):
    from cmhl.windows import encode_posts

    cfg = tiny_checkpoint.config
    enc = encode_posts(
        tiny_checkpoint.tokenizer, sentences(300, seed=9, lo=1, hi=90), cfg.max_length, cfg.long_text
    )
    batches = plan_windows(enc, token_budget=512, max_batch=32, max_width=cfg.max_length)
    seen = sorted(pw for _, b in batches for pw in b)
    assert seen == sorted((p, w) for p, e in enumerate(enc) for w in range(len(e.windows)))
    for width, b in batches:
        assert all(len(enc[p].windows[w]) <= width <= cfg.max_length for p, w in b)
        assert len(b) * width <= max(512, width)
    assert len({w for w, _ in batches}) <= 16 + 6  # exact up to 16, then multiples of 8 up to 64
    assert all(width == bucket_width(width) for width, _ in batches)


def test_bucketed_prediction_equals_the_reference(tiny_checkpoint):
    from cmhl.windows import encode_posts

    cfg = tiny_checkpoint.config
    enc = encode_posts(
        tiny_checkpoint.tokenizer, sentences(50, seed=10, hi=150), cfg.max_length, cfg.long_text
    )
    pad = tiny_checkpoint.tokenizer.pad_token_id
    # reference: every window alone, unpadded
    one_by_one = [(len(e.windows[w]), [(p, w)]) for p, e in enumerate(enc) for w in range(len(e.windows))]
    ref = predict_encoded(tiny_checkpoint.model, enc, pad, plan=lambda _: one_by_one)
    got = predict_encoded(tiny_checkpoint.model, enc, pad, token_budget=300, max_batch=7)
    for f in ("distress_logits", "emotion_logits", "valence", "intensity"):
        np.testing.assert_allclose(getattr(got, f), getattr(ref, f), atol=1e-5)
    np.testing.assert_array_equal(got.n_tokens, ref.n_tokens)


def test_threads_are_restored(tiny_checkpoint):
    before = torch.get_num_threads()
    Scorer(tiny_checkpoint, ScoringOptions(threads=1)).score(["a post"])
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "kw", [{"token_budget": 0}, {"max_batch": -1}, {"chunk": 1.5}, {"threads": 0}, {"bf16": "yes"}]
)
def test_options_are_validated(kw):
    with pytest.raises(ValueError):
        ScoringOptions(**kw)


def test_checkpoint_without_rules_flags_nothing(tiny_checkpoint):
    ck = dataclasses.replace(tiny_checkpoint, calibration=Calibration())
    res = Scorer(ck).score(["a post", "another post"])
    assert [r.flagged for r in res] == [False, False] and all(r.scored for r in res)


def test_fused_path_and_buckets_with_a_roberta_encoder():
    """RoBERTa derives position ids from the ids (pads excluded): the fused bf16 encoder and the
    bucket padding must keep every real token's position."""
    from cmhl.config import ModelConfig
    from cmhl.inference import predict_encoded
    from cmhl.modeling import CMHLModel, tiny_roberta
    from cmhl.windows import EncodedPost

    torch.manual_seed(0)
    encoder, tok = tiny_roberta(["a few made-up words to train a small byte-level vocabulary"] * 20, 300)
    encoder.eval()
    model = CMHLModel(ModelConfig(encoder=encoder.config.to_dict(), max_length=64), encoder).eval()
    fast = bf16_model(model)
    assert fast.encoder.kind == "bf16-fused"
    rng = np.random.default_rng(0)
    posts = [
        EncodedPost(
            [[tok.bos_token_id, *rng.integers(5, len(tok), n).tolist(), tok.eos_token_id]], [0], [], n, False
        )
        for n in (3, 17, 30, 62, 9, 41)
    ]
    ref = predict_encoded(model, posts, 1)
    got32 = predict_encoded(model, posts, 1, token_budget=100, max_batch=3)
    np.testing.assert_allclose(got32.distress_logits, ref.distress_logits, atol=1e-5)
    gotb = predict_encoded(fast, posts, 1)
    np.testing.assert_allclose(gotb.distress_logits, ref.distress_logits, atol=0.05)


def test_device_choice_is_checked(tiny_checkpoint):
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        ScoringOptions(device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            Scorer(tiny_checkpoint, ScoringOptions(device="cuda"))
        s = Scorer(tiny_checkpoint, ScoringOptions(device="auto", bf16=False))
        assert s.device.type == "cpu" and s.precision.startswith("fp32")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_gpu_scoring_matches_the_cpu_path(tiny_checkpoint):
    texts = sentences(200, seed=21, hi=160)
    cpu = Scorer(tiny_checkpoint, ScoringOptions(device="cpu", bf16=False)).score(texts)
    gpu_scorer = Scorer(tiny_checkpoint, ScoringOptions(device="cuda"))
    gpu = gpu_scorer.score(texts)
    assert gpu_scorer.half_agreement is not None and gpu_scorer.precision.startswith("cuda-")
    same = np.mean([a.category == b.category for a, b in zip(cpu, gpu, strict=True)])
    assert same >= 0.995
    for a, b in zip(cpu[:20], gpu[:20], strict=True):
        assert a.distress_probs["control"] == pytest.approx(b.distress_probs["control"], abs=2e-2)
