"""Word attribution (cmhl_desktop.core.attribution) and `cmhl explain`, on tiny models; sockets off."""

from __future__ import annotations

import copy
import dataclasses
import html.parser
import json
import os
import re
import unicodedata

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmhl_desktop.core.attribution import AttributionError, Explainer
from cmhl_desktop.core.explanation import Explanation, TokenScore, top_words, words_from_tokens
from cmhl_desktop.core.highlights import explanation_info, render_html, render_terminal
from cmhl_desktop.core.tasks import Cancelled, TaskState

pytestmark = pytest.mark.usefixtures("no_network")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ODD_TEXTS = [
    "I feel so alone, and tired of everything.",
    "Café naïve façade — résumé; ÉLAN",
    "emoji 😀😢🏳️‍🌈 in👍the middle",
    "tabs\tand  double  spaces\u00a0NBSP\u2003em-space\n\nnew\r\nlines   ",
    "שלום עולם, مرحبا بالعالم — RTL text",
    "zero\u200bwidth and combining e\u0301 letters",
    "   leading and trailing whitespace   ",
    "x",
]

CAPTURED = "hopeless"  # the word the rigged model reads


def _is_punct(c: str) -> bool:
    return unicodedata.category(c).startswith("P")


def trimmed_words(text: str) -> list[str]:
    """text.split(), each word without the punctuation at its ends (punctuation alone stays whole),
    except a trailing percent/per-mille sign and an abbreviation's last stop ("U.S.")."""
    out = []
    for w in text.split():
        a, b = 0, len(w)
        while a < b and _is_punct(w[a]):
            a += 1
        while b > a and _is_punct(w[b - 1]) and w[b - 1] not in "%\u2030":
            b -= 1
        if a < b < len(w) and w[b] == "." and "." in w[a:b]:
            b += 1
        out.append(w[a:b] if a < b else w)
    return out


def _check_spans(text, exp):
    for w in exp.words:
        assert text[w.start : w.end] == w.word
        assert w.word and not any(c.isspace() for c in w.word)
    # words plus the gaps between them rebuild the text, and every gap is whitespace or end punctuation
    pos = 0
    for w in exp.words:
        assert all(c.isspace() or _is_punct(c) for c in text[pos : w.start])
        pos = w.end
    assert all(c.isspace() or _is_punct(c) for c in text[pos:])
    assert [w.word for w in exp.words] == trimmed_words(text)
    for t in exp.tokens:
        assert 0 <= t.start <= t.end <= len(text)


@pytest.fixture(scope="module")
def explainer(tiny_checkpoint):
    return Explainer(tiny_checkpoint)


# --------------------------------------------------------------------------- spans


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_word_spans_are_exact_substrings(explainer, text):
    (exp,) = explainer.explain([text])
    _check_spans(text, exp)
    assert exp.tokens, "every non-empty test text has tokens"
    # token spans are the tokenizer's offsets of the whole post
    enc = explainer.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    assert [(t.start, t.end) for t in exp.tokens] == [tuple(o) for o in enc["offset_mapping"]]
    # word scores are the sums of their subwords' scores
    assert sum(w.score for w in exp.words) == pytest.approx(exp.total, abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(
        alphabet=st.one_of(
            st.characters(codec="utf-8", exclude_categories=("Cs",)),
            st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "é", "😀", "ש", "'", "."]),
        ),
        max_size=60,
    )
)
def test_words_from_tokenizer_offsets_property(tiny_checkpoint, text):
    tok = tiny_checkpoint.tokenizer
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    tokens = [TokenScore(i, s, e, "t", float(i + 1)) for i, (s, e) in enumerate(enc["offset_mapping"])]
    words = words_from_tokens(text, tokens)
    for w in words:
        assert text[w.start : w.end] == w.word
    assert [w.word for w in words] == trimmed_words(text)
    # no score is lost where tokens cover characters of words
    covered = sum(t.score for t in tokens if t.end > t.start and not text[t.start : t.end].isspace())
    assert sum(w.score for w in words) == pytest.approx(covered)


def test_a_token_across_a_space_is_split_between_words():
    text = "ab cd"
    words = words_from_tokens(text, [TokenScore(0, 0, 5, "abcd", 4.0)])
    assert [(w.word, w.score) for w in words] == [("ab", 2.0), ("cd", 2.0)]


def test_highlights_cover_the_word_not_its_punctuation():
    """A word's span stops before the punctuation at its ends (its score keeps what the punctuation
    got); inner punctuation stays and punctuation alone is a word. The window and the terminal
    highlight the word only."""
    text = 'so "alone,," tonight... don\'t self-harm — (really)!'
    pieces = list(re.finditer(r"\w+|[^\w\s]", text))  # words and single punctuation marks, score 1 each
    tokens = [TokenScore(i, m.start(), m.end(), m.group(), 1.0) for i, m in enumerate(pieces)]
    words = words_from_tokens(text, tokens)
    assert [w.word for w in words] == ["so", "alone", "tonight", "don't", "self-harm", "—", "really"]
    assert all(text[w.start : w.end] == w.word for w in words)
    assert [w.score for w in words] == [1.0, 5.0, 4.0, 3.0, 3.0, 1.0, 4.0]
    exp = Explanation(words, tokens, "distress", "depression", 0.5, 0.0, 0.0, True, 1, 1)
    assert ">alone</span>,,&quot;" in render_html(text, exp, legend=False)
    assert '"[alone:+5.00],," [tonight:+4.00]...' in render_terminal(text, exp, color=False, mark=0.5)


def test_empty_and_blank_posts(explainer):
    empty, blank, real = explainer.explain(["", " \n\t ", "fine"])
    assert empty.words == [] and empty.tokens == [] and empty.n_steps == 0
    assert blank.words == [] and blank.converged
    assert real.n_steps >= explainer.n_steps and real.words[0].word == "fine"


# --------------------------------------------------------------------------- completeness


def _captum_lig(ckpt, text_or_ids, c, n_steps):
    """Plain Captum usage (one post, one window): LIG on the word embeddings, pad baseline with the
    special tokens kept. Returns (content-token attributions, delta)."""
    from captum.attr import LayerIntegratedGradients

    m, tok = ckpt.model, ckpt.tokenizer
    ids = torch.tensor([tok(text_or_ids)["input_ids"] if isinstance(text_or_ids, str) else text_or_ids])
    base = torch.full_like(ids, tok.pad_token_id)
    base[0, 0], base[0, -1] = ids[0, 0], ids[0, -1]
    lig = LayerIntegratedGradients(lambda i, am: m(i, am).distress_logits, m.word_embeddings())
    ref, delta = lig.attribute(
        ids,
        base,
        target=c,
        additional_forward_args=(torch.ones_like(ids),),
        n_steps=n_steps,
        return_convergence_delta=True,
    )
    return ref.sum(-1)[0, 1:-1].detach().numpy(), float(delta)


def test_one_segment_equals_captum_lig(tiny_checkpoint):
    """With one segment and a fixed step count, ours is exactly Captum's LIG (same Gauss-Legendre rule)."""
    text = "I can't sleep and everything feels hopeless lately."
    (exp,) = Explainer(tiny_checkpoint, segments=1, n_steps=12, max_steps=12, bf16=False).explain(
        [text], target_class=1
    )
    ref, ref_delta = _captum_lig(tiny_checkpoint, text, 1, 12)
    np.testing.assert_allclose([t.score for t in exp.tokens], ref, atol=1e-6)
    assert exp.n_steps == 12 and exp.steps_tried == [12]
    assert exp.delta == pytest.approx(ref_delta, abs=1e-5)


def test_completeness_and_converged_reference(tiny_checkpoint, explainer):
    """The segmented integral is complete within tolerance and agrees with a 256-step Captum LIG."""
    from cmhl.inference import predict_texts, softmax

    text = "I can't sleep and everything feels hopeless lately."
    (exp,) = explainer.explain([text], target_class="anxiety")
    m, tok = tiny_checkpoint.model, tiny_checkpoint.tokenizer
    c = tiny_checkpoint.config.distress_labels.index("anxiety")
    ref, _ = _captum_lig(tiny_checkpoint, text, c, 256)
    ours = np.array([t.score for t in exp.tokens])
    assert np.abs(ours - ref).max() <= 0.05 * np.abs(ref).max()
    # f(x) is exactly what scoring computes; the probability is the calibrated one
    pred = predict_texts(m, tok, [text])
    assert exp.target_value == pytest.approx(float(pred.distress_logits[0, c]), abs=1e-5)
    assert exp.target_prob == pytest.approx(float(softmax(pred.distress_logits, 1.0)[0, c]), abs=1e-5)
    # completeness within tolerance
    assert exp.converged
    assert (
        abs(exp.total - (exp.target_value - exp.baseline_value))
        <= 0.05 * abs(exp.target_value - exp.baseline_value) + 1e-6
    )
    assert exp.delta == pytest.approx(exp.total - (exp.target_value - exp.baseline_value), abs=1e-9)


@pytest.mark.parametrize("head", ["distress", "emotion", "valence", "intensity"])
def test_every_head_is_complete(explainer, head):
    texts = ["nothing matters anymore", "what a lovely surprise party!"]
    for exp in explainer.explain(texts, head=head):
        assert exp.head == head
        diff = exp.target_value - exp.baseline_value
        assert abs(exp.total - diff) <= 0.05 * max(abs(diff), 1e-3)
        if head in ("valence", "intensity"):
            assert exp.target_class is None and exp.target == head and exp.probs == {}
        else:
            assert exp.target_class in exp.probs and sum(exp.probs.values()) == pytest.approx(1.0)


def _sharp(ckpt, scale=6.0, seed=1):
    """A copy of the tiny model with amplified weights: a strongly non-linear path integral."""
    torch.manual_seed(seed)
    model = copy.deepcopy(ckpt.model)
    with torch.no_grad():
        for name, p in model.encoder.named_parameters():
            if name.endswith("weight") and p.dim() == 2 and "embeddings" not in name:
                p.mul_(scale)
        model.encoder.get_input_embeddings().weight.mul_(scale)
    return dataclasses.replace(ckpt, model=model)


def test_steps_double_until_converged(tiny_checkpoint):
    ckpt = _sharp(tiny_checkpoint)
    texts = ["the storm kept me awake all night and I could not stop shaking", "calm morning"]
    coarse = Explainer(ckpt, segments=1, n_steps=1, max_steps=1).explain(texts)
    fine = Explainer(ckpt, segments=1, n_steps=1, max_steps=256, tolerance=0.01).explain(texts)
    assert any(not e.converged for e in coarse), "the rigged model must need more than one step"
    for c, f in zip(coarse, fine, strict=True):
        assert f.converged and f.rel_delta <= 0.01
        assert f.rel_delta == pytest.approx(abs(f.delta) / max(abs(f.target_value - f.baseline_value), 1e-3))
        if not c.converged:
            assert f.n_steps > 1 and f.steps_tried == [
                2**i for i in range(len(f.steps_tried))
            ]  # doubled from 1


def test_segments_with_the_largest_errors_are_refined(tiny_checkpoint):
    """On a sharply non-linear model the first allocation misses; only some segments get more nodes,
    and the result is complete and close to a converged single-segment reference."""
    ckpt = _sharp(tiny_checkpoint, scale=10.0)
    text = "the storm kept me awake all night and I could not stop shaking"
    ex = Explainer(ckpt, segments=4, n_steps=4, tolerance=0.01)
    (exp,) = ex.explain([text])
    assert exp.converged and exp.rel_delta <= 0.01
    assert len(exp.steps_tried) > 1 and exp.steps_tried[0] == 4
    assert exp.n_steps < sum(exp.steps_tried) + 4  # refined, not every segment doubled each round
    (ref,) = Explainer(ckpt, segments=1, n_steps=256, max_steps=256).explain(
        [text], target_class=exp.target_class
    )
    ours, full = np.array([t.score for t in exp.tokens]), np.array([t.score for t in ref.tokens])
    assert np.abs(ours - full).max() <= 0.05 * np.abs(full).max()


def test_allocation_follows_the_change_along_the_path():
    from cmhl_desktop.core.integrated_gradients import allocate_nodes

    nodes = allocate_nodes(np.array([0.0, 0.1, 3.0, 3.2, 3.2]), 10)
    assert nodes.sum() == 10 and nodes.min() >= 1 and nodes.argmax() == 1
    assert list(allocate_nodes(np.zeros(5), 8)) == [2, 2, 2, 2]  # flat: spread evenly


def test_never_converging_is_reported(tiny_checkpoint):
    ckpt = _sharp(tiny_checkpoint)
    (exp,) = Explainer(ckpt, segments=1, n_steps=2, max_steps=4, tolerance=1e-12).explain(
        ["a restless night again"]
    )
    assert not exp.converged and exp.n_steps == 4 and exp.rel_delta > 1e-12
    assert exp.steps_tried == [2, 4]
    (seg,) = Explainer(ckpt, segments=3, n_steps=3, max_steps=12, tolerance=1e-12).explain(
        ["a restless night again"]
    )
    assert not seg.converged and 3 < seg.n_steps <= 12


def test_bad_settings_are_refused(tiny_checkpoint):
    for kw in (
        {"segments": 0},
        {"segments": 6, "n_steps": 4},
        {"n_steps": 20, "max_steps": 10},
        {"tolerance": 0},
    ):
        with pytest.raises(AttributionError):
            Explainer(tiny_checkpoint, **kw)


# --------------------------------------------------------------------------- faithfulness by construction


def _rigged(ckpt, word=CAPTURED):
    """A model whose distress logit for 'anxiety' (and valence) reads one word's embedding only.

    Attention and feed-forward outputs are zeroed and every LayerNorm is plain (gain 1, bias 0), so
    each token's final vector is LN(its embedding): no token sees another. The chosen word's embedding
    is +10/-10 on coordinates 0/1, where every other embedding (words, positions, types) is 0, and the
    head reads coordinate 0 minus coordinate 1. LayerNorm maps equal coordinates to equal values, so
    every other token contributes exactly 0 at every point of the path; only the word moves the logit.
    """
    model = copy.deepcopy(ckpt.model)
    enc = model.encoder
    wid = ckpt.tokenizer.convert_tokens_to_ids(word)
    c = ckpt.config.distress_labels.index("anxiety")
    with torch.no_grad():
        for name, mod in enc.named_modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.fill_(1.0)
                mod.bias.zero_()
            if name.endswith("attention.output.dense") or re.search(r"layer\.\d+\.output\.dense$", name):
                mod.weight.zero_()
                mod.bias.zero_()
        for emb in (
            enc.embeddings.word_embeddings,
            enc.embeddings.position_embeddings,
            enc.embeddings.token_type_embeddings,
        ):
            emb.weight[:, :2] = 0.0
        enc.embeddings.word_embeddings.weight[wid, 0] = 10.0
        enc.embeddings.word_embeddings.weight[wid, 1] = -10.0
        for head in (model.distress_head, model.valence_head):
            head.weight.zero_()
            head.bias.zero_()
        model.distress_head.weight[c, 0], model.distress_head.weight[c, 1] = 1.0, -1.0
        model.valence_head.weight[0, 0], model.valence_head.weight[0, 1] = 0.1, -0.1
    return dataclasses.replace(ckpt, model=model)


@pytest.mark.parametrize("head", ["distress", "valence"])
def test_the_word_the_model_relies_on_scores_top(tiny_checkpoint, head):
    ckpt = _rigged(tiny_checkpoint)
    text = "Some days are fine, but tonight I feel hopeless, honestly; the rest is noise."
    (exp,) = Explainer(ckpt).explain(
        [text], head=head, target_class="anxiety" if head == "distress" else None
    )
    (best,) = top_words(exp, 1)
    assert best.word == "hopeless" and text[best.start : best.end] == "hopeless"  # not its comma
    assert best.start == text.index("hopeless")
    others = [w for w in exp.words if w.start != best.start]
    assert best.score > 0 and max(abs(w.score) for w in others) < 1e-3 * best.score
    assert exp.converged


def test_the_word_the_model_relies_on_scores_top_when_absent_is_zero(tiny_checkpoint):
    ckpt = _rigged(tiny_checkpoint)
    (exp,) = Explainer(ckpt).explain(["nothing special in this line"], target_class="anxiety")
    assert max(abs(w.score) for w in exp.words) < 1e-6


# --------------------------------------------------------------------------- long posts


def _long_text(n_words=140, where=97):
    words = [f"w{i}x" if i % 7 else "lighthouse" for i in range(n_words)]
    words[where] = "hopeless"
    return " \t".join(words[:60]) + "\n\n" + "  ".join(words[60:])


def test_long_posts_map_back_to_the_right_characters(tiny_checkpoint):
    ckpt = _rigged(tiny_checkpoint)
    text = _long_text()
    (exp,) = Explainer(ckpt).explain([text], target_class="anxiety")
    assert exp.windows > 2, "the test post must need several windows (max_length 64)"
    _check_spans(text, exp)
    (best,) = top_words(exp, 1)
    assert best.word == "hopeless" and best.start == text.index("hopeless")
    # every content token is reported once, in order, with the tokenizer's offsets
    enc = ckpt.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    assert [t.index for t in exp.tokens] == list(range(len(enc["input_ids"])))
    assert [(t.start, t.end) for t in exp.tokens] == [tuple(o) for o in enc["offset_mapping"]]


def test_long_posts_match_per_window_reference(tiny_checkpoint):
    """Overlapping windows: a token's score = sum over the windows that read it of attr / n_windows."""
    from cmhl.windows import encode_posts

    text = _long_text(120, 50)
    cfg = tiny_checkpoint.config
    single = Explainer(tiny_checkpoint, segments=1, n_steps=16, max_steps=16, bf16=False)
    (exp,) = single.explain([text], target_class="bipolar")
    (enc,) = encode_posts(tiny_checkpoint.tokenizer, [text], cfg.max_length, cfg.long_text)
    assert len(enc.windows) == exp.windows > 1
    c = cfg.distress_labels.index("bipolar")
    ref = np.zeros(enc.n_tokens)
    for start, win in zip(enc.starts, enc.windows, strict=True):
        a, _ = _captum_lig(tiny_checkpoint, list(win), c, 16)
        ref[start : start + len(win) - 2] += a / len(enc.windows)
    np.testing.assert_allclose([t.score for t in exp.tokens], ref, atol=1e-6)


def test_truncated_posts_score_unread_words_zero(tiny_checkpoint):
    cfg = copy.deepcopy(tiny_checkpoint.config)
    cfg.long_text.max_windows = 2
    ckpt = dataclasses.replace(tiny_checkpoint, config=cfg)
    text = " ".join(f"w{i}" for i in range(300))
    (exp,) = Explainer(ckpt).explain([text])
    assert exp.truncated and exp.windows == 2
    _check_spans(text, exp)
    last_read = max(t.end for t in exp.tokens)
    assert last_read < len(text)
    assert all(w.score == 0.0 for w in exp.words if w.start >= last_read)


def test_batches_of_mixed_lengths_equal_one_at_a_time(explainer):
    texts = ["short one", _long_text(90, 10), "a medium sized post about nothing much at all", "x y"]
    together = explainer.explain(texts, target_class="depression")
    for t, e in zip(texts, together, strict=True):
        (alone,) = explainer.explain([t], target_class="depression")
        np.testing.assert_allclose([x.score for x in e.tokens], [x.score for x in alone.tokens], atol=1e-5)


def test_a_small_token_budget_splits_passes_without_changing_results(tiny_checkpoint):
    texts = ["short one", _long_text(90, 10), "a medium sized post about nothing much at all"]
    big = Explainer(tiny_checkpoint, bf16=False).explain(texts, target_class="anxiety")
    small = Explainer(tiny_checkpoint, bf16=False, token_budget=64).explain(texts, target_class="anxiety")
    for a, b in zip(big, small, strict=True):
        assert a.steps_tried == b.steps_tried
        np.testing.assert_allclose([x.score for x in a.tokens], [x.score for x in b.tokens], atol=1e-6)


# --------------------------------------------------------------------------- targets


def test_without_a_class_the_top_class_is_explained(explainer):
    """Attribution takes the class it is given; without one, the top class (never a flag rule of its
    own: which class a flagged post is explained for is FlagPolicy.explain_class's decision)."""
    (e,) = explainer.explain(["I can't go on like this"])
    assert e.target_reason == "top" and e.target_class == max(e.probs, key=e.probs.get)
    assert not hasattr(e, "flag_rules")
    info = explanation_info(e)
    assert info.startswith(f"Highlights for distress: {e.target_class} · P({e.target_class}) = ")


def test_targets_by_name_index_and_list(explainer):
    texts = ["one post", "another post"]
    a, b = explainer.explain(texts, target_class=["control", 0])
    assert (a.target_class, b.target_class) == ("control", "depression")
    assert a.target_reason == "given" and a.target == "distress:control"
    (e,) = explainer.explain(["happy"], head="emotion")
    assert e.target_class == max(e.probs, key=e.probs.get) and e.target_reason == "top"
    with pytest.raises(AttributionError, match="unknown distress class"):
        explainer.explain(["x"], target_class="happiness")
    with pytest.raises(AttributionError, match="single value"):
        explainer.explain(["x"], head="valence", target_class="joy")
    with pytest.raises(AttributionError, match="unknown head"):
        explainer.explain(["x"], head="mood")
    with pytest.raises(AttributionError, match="one class per text"):
        explainer.explain(["x", "y"], target_class=["control"])


def test_target_prob_uses_the_calibrated_temperature(tiny_checkpoint):
    from cmhl.inference import predict_texts, softmax

    calib = copy.deepcopy(tiny_checkpoint.calibration)
    calib.temperatures["distress"] = 0.25
    ckpt = dataclasses.replace(tiny_checkpoint, calibration=calib)
    text = "tell me why"
    (exp,) = Explainer(ckpt).explain([text], target_class="bipolar")
    pred = predict_texts(ckpt.model, ckpt.tokenizer, [text])
    want = softmax(pred.distress_logits, 0.25)[0, ckpt.config.distress_labels.index("bipolar")]
    assert exp.target_prob == pytest.approx(float(want), abs=1e-5)
    assert exp.target_prob != pytest.approx(float(softmax(pred.distress_logits, 1.0)[0, 3]), abs=1e-4)


def test_centered_logit_objective(tiny_checkpoint):
    (exp,) = Explainer(tiny_checkpoint, objective="centered_logit").explain(
        ["so tired"], target_class="control"
    )
    assert exp.objective == "centered_logit"
    assert abs(exp.total - (exp.target_value - exp.baseline_value)) <= 0.05 * max(
        abs(exp.target_value - exp.baseline_value), 1e-3
    )


# --------------------------------------------------------------------------- runtime behaviour


def test_progress_cancel_and_model_left_as_found(tiny_checkpoint, explainer):
    seen = []
    state = TaskState(on_progress=lambda d, t: seen.append((d, t)))
    explainer.explain(["a", "b c", ""], state=state)
    assert seen[-1] == (3, 3)
    assert all(p.requires_grad for p in tiny_checkpoint.model.parameters())
    cancelled = TaskState()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        explainer.explain(["a"], state=cancelled)
    assert all(p.requires_grad for p in tiny_checkpoint.model.parameters())
    with torch.inference_mode():  # a caller inside inference mode (e.g. next to scoring) still works
        (exp,) = explainer.explain(["still works"])
    assert exp.tokens


def test_bf16_follows_the_cpu_and_agrees_with_fp32(tiny_checkpoint):
    """bf16 is on by default only where the CPU has native bf16; its f(x), f(baseline) (and so the
    target and the delta) are fp32, and its scores agree with the fp32 run."""
    from cmhl.inference import bf16_supported

    assert Explainer(tiny_checkpoint).bf16 == bf16_supported()
    assert not Explainer(tiny_checkpoint, tolerance=0.001).bf16  # too tight for bf16 gradients
    texts = ["a short post", "I can't sleep and everything feels hopeless lately."]
    fast = Explainer(tiny_checkpoint, bf16=True).explain(texts)
    exact = Explainer(tiny_checkpoint, bf16=False).explain(texts)
    for a, b in zip(fast, exact, strict=True):
        assert a.target_value == b.target_value and a.baseline_value == b.baseline_value
        assert a.converged and a.rel_delta == pytest.approx(
            abs(a.delta) / max(abs(a.target_value - a.baseline_value), 1e-3)
        )
        x, y = np.array([t.score for t in a.tokens]), np.array([t.score for t in b.tokens])
        assert np.abs(x - y).max() <= 0.05 * np.abs(y).max()


# --------------------------------------------------------------------------- rendering


class _TextOf(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "br":
            self.out.append("\n")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.out.append(data)


def test_html_escapes_markup_and_keeps_the_text(tiny_checkpoint):
    ckpt = _rigged(tiny_checkpoint)
    text = "<script>alert(\"x\")</script> & <b>hopeless</b>\n\n  two  spaces\ttab  'q' &amp;"
    (exp,) = Explainer(ckpt).explain([text], target_class="anxiety")
    out = render_html(text, exp, legend=False)
    assert "<script" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out
    parser = _TextOf()
    parser.feed(out)
    assert "".join(parser.out) == text.replace("\r\n", "\n")
    assert set(parser.tags) <= {"p", "span", "br"}
    assert "white-space:pre-wrap" in out
    # the word the model relies on is the red one, at full strength
    (best,) = top_words(exp, 1)
    assert best.word == "<b>hopeless</b>"
    assert re.search(
        r'background-color:#[0-9a-f]{6}; color:#000000" title="pushed toward [^"]+ \(\+[0-9.]+\)">&lt;b&gt;hopeless',
        out,
    )
    legend = render_html(text, exp)
    assert "toward <b>anxiety</b>" in legend and "against" in legend


def test_html_colours_diverge(explainer):
    (exp,) = explainer.explain(["one two three four five six seven"])
    exp.words[0].score, exp.words[1].score = 1.0, -1.0
    for w in exp.words[2:]:
        w.score = 0.0
    out = render_html("one two three four five six seven", exp, legend=False)
    spans = re.findall(r"background-color:#([0-9a-f]{6})[^>]*>([^<]*)<", out)
    colours = dict((word, hexc) for hexc, word in spans)
    assert set(colours) == {"one", "two"}
    r, g, b = (int(colours["one"][i : i + 2], 16) for i in (0, 2, 4))
    assert r > g and r > b  # red toward
    r, g, b = (int(colours["two"][i : i + 2], 16) for i in (0, 2, 4))
    assert b > r and b > g  # blue against


def test_html_loads_in_a_qt_text_view(qapp, tiny_checkpoint):
    QtWidgets = pytest.importorskip("PySide6.QtWidgets")
    text = "line one  <i>two</i>\n\nthird\tline — 😀 שלום"
    (exp,) = Explainer(tiny_checkpoint).explain([text])
    view = QtWidgets.QTextBrowser()
    view.setHtml(render_html(text, exp, legend=False))
    assert view.document().toRawText().replace("\u2029", "\n").replace("\u2028", "\n") == text


def test_terminal_plain_and_colour(tiny_checkpoint):
    ckpt = _rigged(tiny_checkpoint)
    text = "calm words then hopeless here\x1b[31m and more"
    (exp,) = Explainer(ckpt).explain([text], target_class="anxiety")
    plain = render_terminal(text, exp, color=False)
    assert "[hopeless:+" in plain and "\x1b" not in plain
    assert "Top words toward anxiety: hopeless (+" in plain
    coloured = render_terminal(text, exp, color=True)
    assert "\x1b[48;2;" in coloured and "\x1b[31m" not in coloured  # the post's own ESC is neutralised


# --------------------------------------------------------------------------- CLI


def test_cli_explain_json(tiny_checkpoint_dir, capsys):
    from cmhl_desktop.cli import main

    text = "Café  naïve\tI feel hopeless 😀\nbye"
    rc = main(["explain", "--text", text, "--model", str(tiny_checkpoint_dir), "--json", "--tokens"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["head"] == "distress" and d["target_class"] in d["probs"]
    assert {"delta", "rel_delta", "converged", "n_steps", "windows", "target_prob"} <= set(d)
    for w in d["words"]:
        assert text[w["start"] : w["end"]] == w["word"]
    assert len(d["tokens"]) >= len(d["words"]) and d["model"]["name"] == "tiny-test"
    assert sum(w["score"] for w in d["words"]) == pytest.approx(
        sum(t["score"] for t in d["tokens"]), abs=1e-6
    )
    rc = main(["explain", "--text", " \t ", "--model", str(tiny_checkpoint_dir), "--json"])
    d = json.loads(capsys.readouterr().out)  # strict JSON: no NaN for the empty post's probability
    assert rc == 0 and d["words"] == [] and d["target_prob"] is None and d["n_steps"] == 0


def test_cli_explain_text_and_input(tiny_checkpoint_dir, tmp_path, capsys):
    from cmhl_desktop.cli import main

    f = tmp_path / "posts.csv"
    f.write_text(
        "id,text\n1,first fictional post here\n2,second made-up post about sleep\n", encoding="utf-8"
    )
    rc = main(
        [
            "explain",
            "--input",
            str(f),
            "--row",
            "2",
            "--model",
            str(tiny_checkpoint_dir),
            "--class",
            "control",
            "--tokens",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "target: distress = control" in out and "convergence delta" in out
    assert "sleep" in out and "subword scores" in out
    rc = main(["explain", "--input", str(f), "--row", "3", "--model", str(tiny_checkpoint_dir)])
    assert rc == 2 and "has 2 post" in capsys.readouterr().err
    rc = main(["explain", "--text", "x", "--class", "nope", "--model", str(tiny_checkpoint_dir)])
    assert rc == 2 and "unknown distress class" in capsys.readouterr().err
    rc = main(["explain", "--text", "x", "--head", "intensity", "--model", str(tiny_checkpoint_dir)])
    assert rc == 0 and "target: intensity = " in capsys.readouterr().out
    rc = main(["explain", "--text", "x", "--tolerance", "0", "--model", str(tiny_checkpoint_dir)])
    assert rc == 2 and "tolerance must be > 0" in capsys.readouterr().err
    args = ["explain", "--text", "a restless night again", "--json", "--model", str(tiny_checkpoint_dir)]
    rc = main([*args, "--tolerance", "0.001"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["converged"] and d["rel_delta"] <= 0.001


def test_cli_explain_input_takes_the_read_options(tiny_checkpoint_dir, tmp_path, capsys):
    """--encoding and --no-header reach the reader, as for `cmhl score` (a cp1252 file, no header)."""
    from cmhl_desktop.cli import main

    f = tmp_path / "legacy.csv"
    f.write_bytes("1,caf\xe9 visit was lovely\n2,na\xefve question about bread\n".encode("latin-1"))
    base = ["explain", "--input", str(f), "--column", "1", "--json", "--model", str(tiny_checkpoint_dir)]
    rc = main([*base, "--row", "1", "--no-header", "--encoding", "cp1252"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and "café" in {w["word"] for w in d["words"]}
    rc = main([*base, "--row", "2", "--header"])  # the first row taken as column names: 1 post left
    assert rc == 2 and "has 1 post" in capsys.readouterr().err
    rc = main(["explain", "--text", "x", "--encoding", "utf-8", "--model", str(tiny_checkpoint_dir)])
    assert rc == 2 and "go with --input" in capsys.readouterr().err


def test_cli_explain_says_no_content_instead_of_explaining(tiny_checkpoint_dir, capsys):
    from cmhl_desktop.cli import main

    for text in ("[deleted]", "=1+2"):
        rc = main(["explain", "--text", text, "--json", "--model", str(tiny_checkpoint_dir)])
        d = json.loads(capsys.readouterr().out)
        assert rc == 0 and d["status"] == "no content" and d["words"] == []
    rc = main(["explain", "--text", "12345", "--model", str(tiny_checkpoint_dir)])
    assert rc == 0 and "no readable words" in capsys.readouterr().out


def test_word_span_keeps_percent_signs_and_abbreviations():
    from cmhl_desktop.core.explanation import word_span

    def trimmed(w: str) -> str:
        a, b = word_span(w, 0, len(w))
        return w[a:b]

    assert [trimmed(w) for w in ("alone,,", "10%", "50%,", "U.S.", "e.g.,", "(hello)", "don't.", "—")] == [
        "alone",
        "10%",
        "50%",
        "U.S.",
        "e.g.",
        "hello",
        "don't",
        "—",
    ]
