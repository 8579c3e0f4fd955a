"""Which words drove a score: Integrated Gradients on the word embeddings, mapped to exact characters.

Method (docs/ARCHITECTURE.md, "Word attribution")
- Integrated Gradients with respect to the output of `model.word_embeddings()`, the quantity Captum's
  `LayerIntegratedGradients` on that layer computes (the word-embedding layer only: RoBERTa derives
  position ids from input ids, so the ids themselves must never change along the path). With one
  segment and a fixed step count the result equals Captum's LIG exactly (tests/test_attribution.py).
- Baseline: the same window with every content token replaced by the pad token, special tokens
  ([CLS] .. [SEP], <s> .. </s>) kept, same attention mask. Special tokens therefore get exactly zero
  attribution and are left out of the results.
- Target: the target class's LOGIT (not its probability). Logits are what the model adds up: the
  scoring engine averages them over a post's windows, and the completeness check
  sum(attributions) == f(x) - f(baseline) is meaningful on them (a probability saturates, so its
  attributions shrink where the model is most sure). `objective="centered_logit"` attributes
  z_c - mean_k z_k instead (invariant to a shift of all logits, which softmax ignores).
  Regression heads (valence, intensity) attribute the head's output value, as scored.
- Long posts follow the scoring engine exactly: `encode_posts` with the checkpoint's `max_length` and
  `long_text` config; the target is the mean over windows of the window's logit, so each window's
  attributions are weighted 1/n_windows and, where windows overlap, a token's contributions are summed.
- Integration and convergence: `integrated_gradients.py` (the path scanned first, then integrated
  segment by segment with Gauss-Legendre nodes and refined where the exactly known error is
  largest, until |delta| <= tolerance * max(|f(x) - f(baseline)|, abs_floor); bf16 where the CPU
  has it, with fp32 end points; the speed notes).

Words and subwords: `explanation.py` (what an explanation holds, and how subword scores become
words)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from .explanation import Explanation, TokenScore, words_from_tokens
from .integrated_gradients import PathIntegrator, WindowPath, frozen

HEADS = ("distress", "emotion", "valence", "intensity")
CLASS_HEADS = ("distress", "emotion")
OBJECTIVES = ("logit", "centered_logit")
BF16_MIN_TOLERANCE = 0.01  # automatic bf16 only for tolerances at least this loose
# All attribution runs are serialised: they are CPU-bound (nothing to gain from two at once) and
# they toggle requires_grad on the shared model's parameters.
_LOCK = threading.RLock()


class AttributionError(ValueError):
    """A bad request (unknown head or class); the message says what is allowed."""


# --------------------------------------------------------------------------- explainer


class Explainer(PathIntegrator):
    """Explains posts with one checkpoint; reuse it (it keeps nothing per post).

    segments: the path from baseline to input is scanned (forward passes only) at segments + 1 evenly
    spaced points and integrated segment by segment. n_steps: gradient evaluations a window starts
    with, spread over the segments by how much the target changes along each (at least one each);
    a segment whose error is among the largest has its Gauss-Legendre nodes doubled, until the delta
    is within tolerance or a window's path would need more than max_steps. tolerance: the largest
    acceptable |delta| / |f(x) - f(baseline)|. token_budget: padded tokens per forward pass (memory:
    about 150 kB a token for MiniLM-L6 with gradients). bf16: run the integration passes under bf16
    autocast (None: where the CPU has native bf16 and tolerance >= 1%; the delta check still
    applies, against fp32 end points).
    objective: "logit" or "centered_logit" (class heads). abs_floor: the smallest |f(x) - f(baseline)|
    the tolerance is taken relative to. num_threads: torch.set_num_threads, when given (process-wide).
    """

    def __init__(
        self,
        ckpt,
        n_steps: int = 10,
        max_steps: int = 256,
        tolerance: float = 0.05,
        segments: int = 6,
        token_budget: int = 4096,
        bf16: bool | None = None,
        objective: str = "logit",
        abs_floor: float = 1e-3,
        num_threads: int | None = None,
    ) -> None:
        if segments < 1:
            raise AttributionError("need at least one segment")
        if n_steps < segments or max_steps < n_steps:
            raise AttributionError("need segments <= n_steps <= max_steps")
        if not tolerance > 0:
            raise AttributionError("tolerance must be > 0")
        if objective not in OBJECTIVES:
            raise AttributionError(f"objective must be one of {', '.join(OBJECTIVES)}")
        if bf16 is None:
            from cmhl.inference import bf16_supported

            # bf16 gradients carry errors of a few tenths of a percent: too coarse to certify a
            # tighter tolerance than 1% (the delta itself is always computed against fp32 ends)
            bf16 = bf16_supported() and tolerance >= BF16_MIN_TOLERANCE
        self.ckpt = ckpt
        self.tokenizer = ckpt.tokenizer
        self.config = ckpt.config
        self.objective = objective
        if num_threads:
            torch.set_num_threads(int(num_threads))
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            raise AttributionError("the tokenizer has no pad token (the baseline is made of pad tokens)")
        from cmhl.windows import special_tokens

        prefix, suffix = special_tokens(self.tokenizer)
        super().__init__(
            ckpt.model,
            pad_id,
            len(prefix),
            len(suffix),
            n_steps=n_steps,
            max_steps=max_steps,
            tolerance=tolerance,
            segments=segments,
            token_budget=token_budget,
            bf16=bf16,
            abs_floor=abs_floor,
        )

    # ---- public

    def labels(self, head: str) -> list[str]:
        if head == "distress":
            return list(self.config.distress_labels)
        if head == "emotion":
            return list(self.config.emotion_labels)
        return []

    def explain(
        self,
        texts: Sequence[str],
        head: str = "distress",
        target_class: str | int | Sequence[str | int | None] | None = None,
        state=None,
    ) -> list[Explanation]:
        """Explain each text for `head`. target_class: a class name or index for all texts, one per
        text, or None for the top class (the flagged class a post is explained for is decided by
        `FlagPolicy.explain_class` and given here). `state` (TaskState) gets progress in posts and
        is checked between batches. Raises AttributionError for an unknown head or class."""
        if head not in HEADS:
            raise AttributionError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
        texts = list(texts)
        if isinstance(target_class, (str, int, np.integer)) or target_class is None:
            wanted = [target_class] * len(texts)
        else:
            wanted = list(target_class)
            if len(wanted) != len(texts):
                raise AttributionError("target_class: give one class per text, or one for all")
        wanted = [self._class_index(head, c) for c in wanted]
        with _LOCK, torch.inference_mode(False), frozen(self.model):
            return self._explain(texts, head, wanted, state)

    # ---- internals

    def _class_index(self, head: str, c: str | int | None) -> int | None:
        if c is None:
            return None
        labels = self.labels(head)
        if not labels:
            raise AttributionError(f"the {head} head is a single value: it has no classes to choose from")
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not 0 <= int(c) < len(labels):
                raise AttributionError(f"class index {c} out of range for {head} ({len(labels)} classes)")
            return int(c)
        if c in labels:
            return labels.index(c)
        raise AttributionError(f"unknown {head} class {c!r}; choose one of {', '.join(labels)}")

    def _head(self, out, head: str) -> torch.Tensor:
        if head == "valence":
            return out.valence
        if head == "intensity":
            return out.intensity
        z = out.distress_logits if head == "distress" else out.emotion_logits
        if self.objective == "centered_logit":
            z = z - z.mean(-1, keepdim=True)
        return z

    def _explain(self, texts, head, wanted, state) -> list[Explanation]:
        from cmhl.windows import encode_posts

        self.model.eval()
        cfg = self.config
        encoded = encode_posts(self.tokenizer, texts, cfg.max_length, cfg.long_text)
        results: list[Explanation | None] = [None] * len(texts)
        todo = []
        for i, enc in enumerate(encoded):
            if enc.n_tokens == 0:
                results[i] = self._empty(texts[i], head)
            else:
                todo.append(i)
        done = len(texts) - len(todo)
        if state is not None:
            state.set_progress(done, len(texts))
        # Posts go in chunks of about 16 windows: enough to fill the batches, and progress (and
        # cancellation) comes chunk by chunk.
        chunk: list[int] = []
        for n, p in enumerate(todo):
            chunk.append(p)
            if n == len(todo) - 1 or sum(len(encoded[q].windows) for q in chunk) >= 16:
                for q, exp in self._explain_chunk(chunk, texts, encoded, head, wanted, state).items():
                    results[q] = exp
                done += len(chunk)
                chunk = []
                if state is not None:
                    state.set_progress(done, len(texts))
        return [r for r in results if r is not None]

    def _explain_chunk(self, posts, texts, encoded, head, wanted, state) -> dict[int, Explanation]:
        """Integrated gradients for a few posts (`PathIntegrator`): scan every window's path, choose
        each post's class from its ends, integrate and refine, then build the explanations."""
        paths = {
            p: [WindowPath(p, list(w), 1.0 / len(encoded[p].windows)) for w in encoded[p].windows]
            for p in posts
        }
        self._scan_all([w for p in posts for w in paths[p]], head, state)
        # the class each post is explained for, from the mean of its windows' f(x)
        targets = {
            p: self._target(head, np.stack([w.values[-1] for w in paths[p]]), wanted[p]) for p in posts
        }
        spent = self._integrate_all(paths, {p: targets[p][0] for p in posts}, head, state)
        return {p: self._finish(texts[p], encoded[p], paths[p], targets[p], head, spent[p]) for p in posts}

    def _target(self, head, fx_windows, wanted):
        """(class index or None, reason, calibrated probs) from the mean logits. The class is the one
        given; without one, the top class (which class a flagged post is explained for is the flag
        policy's decision: `FlagPolicy.explain_class`, passed in by the session)."""
        if head not in CLASS_HEADS:
            return None, "value", {}
        from cmhl.inference import softmax

        labels = self.labels(head)
        temp = float(self.ckpt.calibration.temperatures.get(head, 1.0))
        probs = softmax(fx_windows.mean(0)[None, :], temp)[0]
        prob_map = {lab: float(p) for lab, p in zip(labels, probs, strict=True)}
        if wanted is not None:
            return wanted, "given", prob_map
        return int(np.argmax(probs)), "top", prob_map

    def _finish(self, text, enc, paths, target, head, spent) -> Explanation:
        cls, reason, probs = target
        fx, fb, scale = self._scale(paths)
        token_scores = np.zeros(enc.n_tokens, np.float64)
        read = np.zeros(enc.n_tokens, bool)
        total = 0.0
        for start, w in zip(enc.starts, paths, strict=True):
            n = w.width - self.n_prefix - self.n_suffix
            a = w.attr.sum(0) * w.weight
            total += float(a.sum())
            token_scores[start : start + n] += a[self.n_prefix : self.n_prefix + n]
            read[start : start + n] = True
        delta = total - (fx - fb)
        rel = abs(delta) / scale
        pieces = self.tokenizer.convert_ids_to_tokens(_content_ids(enc, self.n_prefix, self.n_suffix))
        tokens = [
            TokenScore(i, int(enc.offsets[i][0]), int(enc.offsets[i][1]), pieces[i], float(token_scores[i]))
            for i in range(enc.n_tokens)
            if read[i]
        ]
        labels = self.labels(head)
        return Explanation(
            words=words_from_tokens(text, tokens),
            tokens=tokens,
            head=head,
            target_class=labels[cls] if cls is not None else None,
            target_prob=probs[labels[cls]] if cls is not None else fx,
            delta=float(delta),
            rel_delta=float(rel),
            converged=bool(rel <= self.tolerance),
            n_steps=int(max(w.nodes.sum() for w in paths)),
            windows=len(paths),
            target_value=fx,
            baseline_value=fb,
            objective=self.objective if head in CLASS_HEADS else "value",
            truncated=bool(enc.truncated),
            target_reason=reason,
            steps_tried=spent,
            probs=probs,
        )

    def _empty(self, text: str, head: str) -> Explanation:
        return Explanation(
            words=words_from_tokens(text, []),
            tokens=[],
            head=head,
            target_class=None,
            target_prob=float("nan"),
            delta=0.0,
            rel_delta=0.0,
            converged=True,
            n_steps=0,
            windows=0,
            objective=self.objective if head in CLASS_HEADS else "value",
            target_reason="empty",
        )


def _content_ids(enc, n_prefix: int, n_suffix: int) -> list[int]:
    """The post's content token ids, rebuilt from its windows (windows are prefix + content + suffix)."""
    ids = [0] * enc.n_tokens
    for start, win in zip(enc.starts, enc.windows, strict=True):
        ids[start : start + len(win) - n_prefix - n_suffix] = win[n_prefix : len(win) - n_suffix]
    return ids
