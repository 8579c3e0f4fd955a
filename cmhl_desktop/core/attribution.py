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
- Integration (Captum `IntegratedGradients` on the word embeddings, segment by segment): the path
  from baseline (alpha = 0) to input (alpha = 1) is first scanned with forward passes only, f at
  `segments + 1` evenly spaced alphas. Each segment between two scan points is then integrated with
  its own Gauss-Legendre rule (each node is one example of a Captum IntegratedGradients call, taken
  in one step over its own share of the path, so the nodes of all segments and posts share batched
  passes); the exact integral of the scalar df/dalpha over a segment is
  f(end) - f(start), known from the scan, so every segment's completeness error is known exactly.
  `n_steps` gradient evaluations a window are spread over the segments, one each and the rest where
  f changes most. While |delta| is above tolerance, the segments with the largest errors get twice
  the nodes (the rest of the post is kept), up to `max_steps` a window; a post that never gets there
  is reported with `converged=False`. Segment attributions add up to the whole path's, since
  (e(b) - e(a)) is a share of (x - baseline) on a straight path.
- Convergence: delta = sum(attributions) - (f(x) - f(baseline)), with both end points computed in
  fp32 on the exact path end points (word embeddings of the input / of the baseline, input ids
  unchanged); |delta| <= tolerance * max(|f(x) - f(baseline)|, abs_floor).

Words and subwords: `explanation.py` (what an explanation holds, and how subword scores become
words).

Speed (tests/benchmarks/bench_attribution.py, shipped MiniLM checkpoint, ~150-token posts, 2-core
CPU): the trained model's integrand peaks sharply where the interpolated embeddings stop looking
like padding (alpha ~ 0.25-0.5), so one rule over the whole path needs 24-32 steps to meet a 5%
tolerance, and doubling from 16 wastes the first 16. Scanning first and refining only the segments
that miss needs about 12 gradient evaluations plus 7 forward-only rows a post. On CPUs with native
bf16 (AVX512-BF16 / AMX; `cmhl.inference.bf16_supported`) the integration and the points between
the scan ends run under bf16 autocast with the math attention kernel (about 1.8x faster a row than
fp32; autocast's numerics keep LayerNorm and softmax in fp32), while f(x), f(baseline) and hence
the target, the probabilities and the delta stay fp32. Parameters are frozen during attribution:
autograd then builds only the input's graph (memory, not time)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from cmhl.batching import pack_by_width

from .explanation import Explanation, TokenScore, words_from_tokens

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


@dataclass
class _Path:
    """One window's straight path from its baseline (alpha = 0) to its input (alpha = 1), cut into
    segments at evenly spaced scan points, and what is known of it so far."""

    post: int
    ids: list[int]  # the window: prefix + content + suffix token ids
    weight: float  # 1 / windows of the post: the post's target is the mean over its windows
    values: np.ndarray | None = None  # head output at the scan points: (segments + 1, classes or 1)
    f: np.ndarray | None = None  # the attributed quantity at the scan points
    nodes: np.ndarray | None = None  # Gauss-Legendre nodes per segment
    attr: np.ndarray | None = None  # token attributions per segment: (segments, len(ids))

    @property
    def width(self) -> int:
        return len(self.ids)

    @property
    def err(self) -> np.ndarray:
        """Per segment: sum(attr) - (f(end) - f(start)), known exactly from the scan."""
        return self.attr.sum(1) - np.diff(self.f)


class Explainer:
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
        self.ckpt = ckpt
        self.model = ckpt.model
        self.tokenizer = ckpt.tokenizer
        self.config = ckpt.config
        self.n_steps, self.max_steps, self.tolerance = int(n_steps), int(max_steps), float(tolerance)
        self.segments = int(segments)
        self.token_budget = int(token_budget)
        if bf16 is None:
            from cmhl.inference import bf16_supported

            # bf16 gradients carry errors of a few tenths of a percent: too coarse to certify a
            # tighter tolerance than 1% (the delta itself is always computed against fp32 ends)
            bf16 = bf16_supported() and self.tolerance >= BF16_MIN_TOLERANCE
        self.bf16 = bool(bf16)
        self.objective = objective
        self.abs_floor = float(abs_floor)
        if num_threads:
            torch.set_num_threads(int(num_threads))
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            raise AttributionError("the tokenizer has no pad token (the baseline is made of pad tokens)")
        from cmhl.windows import special_tokens

        prefix, suffix = special_tokens(self.tokenizer)
        self.n_prefix, self.n_suffix = len(prefix), len(suffix)

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
        with _LOCK, torch.inference_mode(False), _frozen(self.model):
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

    def _kernels(self):
        """The passes that may run in bf16 (the points between the scan ends, and the integration):
        with bf16, autocast and the math attention kernel (on CPU the bf16 flash-attention backward
        is several times slower, while the math kernel's matmuls use the bf16 units)."""
        stack = contextlib.ExitStack()
        if self.bf16:
            stack.enter_context(torch.autocast("cpu", dtype=torch.bfloat16))
            try:
                from torch.nn.attention import SDPBackend, sdpa_kernel

                stack.enter_context(sdpa_kernel([SDPBackend.MATH]))
            except ImportError:  # older torch: keep the default kernel
                pass
        return stack

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
        """Integrated gradients for a few posts: scan every window's path, integrate each segment with
        Gauss-Legendre nodes where the target changes, then refine the segments with the largest
        (exactly known) errors until each post's delta is within tolerance."""
        paths = {
            p: [_Path(p, list(w), 1.0 / len(encoded[p].windows)) for w in encoded[p].windows] for p in posts
        }
        every = [w for p in posts for w in paths[p]]
        # 1. Scan: f at the scan points of every path (its ends give f(x), f(baseline), the target).
        for batch in _batches(every, self.token_budget, rows=lambda w: self.segments + 1):
            if state is not None:
                state.check()
            self._scan(batch, head)
        targets = {
            p: self._target(head, np.stack([w.values[-1] for w in paths[p]]), wanted[p]) for p in posts
        }
        for p in posts:
            cls = targets[p][0]
            for w in paths[p]:
                w.f = w.values[:, cls] if cls is not None else w.values[:, 0]
                w.nodes = _allocate(w.f, self.n_steps)
                w.attr = np.zeros((self.segments, w.width))
        # 2. Integrate; refine until converged (or out of steps).
        units = [(w, s, int(w.nodes[s])) for w in every for s in range(self.segments)]
        spent = {p: [] for p in posts}
        open_posts = list(posts)
        while units:
            for p in open_posts:
                spent[p].append(sum(k for w, _, k in units if w.post == p))
            self._integrate(units, head, targets, state)
            units = []
            for p in list(open_posts):
                more = self._refine(paths[p])
                if more:
                    units += more
                else:
                    open_posts.remove(p)
        return {p: self._finish(texts[p], encoded[p], paths[p], targets[p], head, spent[p]) for p in posts}

    def _pack(self, paths: Sequence[_Path]):
        """Padded ids, mask and baseline ids (special tokens kept, content replaced by pads)."""
        width = max(w.width for w in paths)
        ids = torch.full((len(paths), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(paths), width), dtype=torch.long)
        for r, w in enumerate(paths):
            ids[r, : w.width] = torch.tensor(w.ids)
            mask[r, : w.width] = 1
        base = ids.clone()
        for r, w in enumerate(paths):
            base[r, self.n_prefix : w.width - self.n_suffix] = self.pad_id
        return ids, mask, base

    def _run(self, embeds, ids, mask, head) -> torch.Tensor:
        """The head's output (fp32) with the word-embedding layer's output replaced by `embeds`; the
        input ids stay the same along the path (RoBERTa-style position ids are derived from them)."""
        handle = self.model.word_embeddings().register_forward_hook(lambda _m, _i, _o: embeds)
        try:
            return self._head(self.model(ids, mask), head).float()
        finally:
            handle.remove()

    def _scan_points(self, paths: Sequence[_Path]):
        """ids, mask and the word embeddings at every scan point, alpha = j / segments (a list of
        segments + 1 tensors), the ends exact: the baseline's and the input's own embeddings."""
        ids, mask, base = self._pack(paths)
        emb = self.model.word_embeddings()
        with torch.no_grad():
            x, b = emb(ids), emb(base)
        inner = [b + (j / self.segments) * (x - b) for j in range(1, self.segments)]
        return ids, mask, [b, *inner, x]

    @torch.no_grad()
    def _scan(self, paths: Sequence[_Path], head: str) -> None:
        """f at every scan point. The two ends (f(x), f(baseline): the target, the probabilities and the
        delta) always in fp32; the points between only steer where nodes go, so bf16 may run them."""
        ids, mask, points = self._scan_points(paths)
        n, reps = len(paths), len(points)

        def run(pts):
            k = len(pts)
            return self._run(torch.cat(pts), ids.repeat(k, 1), mask.repeat(k, 1), head).numpy()

        ends = run([points[0], points[-1]])
        out = np.empty((reps, n, *ends.shape[1:]))
        out[0], out[-1] = ends[:n], ends[n:]
        if reps > 2:
            with self._kernels():
                out[1:-1] = run(points[1:-1]).reshape(reps - 2, n, *ends.shape[1:])
        out = out.reshape(reps, n, -1)
        for r, w in enumerate(paths):
            w.values = out[:, r]

    def _integrate(self, units, head: str, targets, state) -> None:
        """Gauss-Legendre integration of each unit's segment (path, segment, nodes) with Captum
        IntegratedGradients. Every node is one example, integrated in one step over its own share
        of the path (node +- weight / 2: the gradient at the node times its share of x - baseline),
        so segments with different node counts share batched passes of about token_budget tokens."""
        nodes = []  # (unit, alpha from, alpha to)
        for u, (_, s, k) in enumerate(units):
            t, v = _gauss_legendre(k)
            a, half = (s + t) / self.segments, v / (2 * self.segments)
            nodes += [(u, lo, hi) for lo, hi in zip(a - half, a + half, strict=True)]
        sums = [np.zeros(w.width) for w, _, _ in units]
        for batch in _batches(nodes, self.token_budget, width=lambda n: units[n[0]][0].width):
            if state is not None:
                state.check()
            paths = [units[u][0] for u, _, _ in batch]
            attr = self._node_pass(
                paths, [lo for _, lo, _ in batch], [hi for _, _, hi in batch], head, targets
            )
            for (u, _, _), a, w in zip(batch, attr, paths, strict=True):
                sums[u] += a[: w.width]  # special tokens and padding: input == baseline, exactly 0
        for u, (w, s, k) in enumerate(units):
            w.attr[s] = sums[u]
            w.nodes[s] = k

    def _node_pass(self, paths, lo, hi, head, targets) -> np.ndarray:
        """One batched Captum IntegratedGradients pass: row r integrates paths[r] from alpha lo[r] to
        hi[r] in one Gauss-Legendre step. Returns token attributions (rows, width)."""
        from captum.attr import IntegratedGradients

        ids, mask, base = self._pack(paths)
        emb = self.model.word_embeddings()
        with torch.no_grad():
            x, b = emb(ids), emb(base)
        lo_t = torch.tensor(lo, dtype=torch.float32).view(-1, 1, 1)
        hi_t = torch.tensor(hi, dtype=torch.float32).view(-1, 1, 1)
        target = [targets[w.post][0] for w in paths] if head in CLASS_HEADS else None

        def forward(embeds, ids, mask):
            return self._run(embeds, ids, mask, head)

        with self._kernels():
            attr = IntegratedGradients(forward).attribute(
                b + hi_t * (x - b),
                baselines=b + lo_t * (x - b),
                target=target,
                additional_forward_args=(ids, mask),
                n_steps=1,
                method="gausslegendre",
            )
        return attr.detach().float().sum(-1).numpy().astype(np.float64)

    def _scale(self, paths: Sequence[_Path]) -> tuple[float, float, float]:
        """(f(x), f(baseline), the delta is measured against) for a post: means over its windows."""
        fx = float(sum(w.weight * w.f[-1] for w in paths))
        fb = float(sum(w.weight * w.f[0] for w in paths))
        return fx, fb, max(abs(fx - fb), self.abs_floor)

    def _refine(self, paths: Sequence[_Path]) -> list[tuple[_Path, int, int]]:
        """The segments to integrate again with twice the nodes: the largest errors first, until the
        rest add up to at most half the tolerance. Nothing when the post has converged, or when no
        window may spend more steps."""
        _, _, scale = self._scale(paths)
        delta = sum(w.weight * w.err.sum() for w in paths)
        if abs(delta) <= self.tolerance * scale:
            return []
        ranked = sorted(
            ((w.weight * abs(e), w, s) for w in paths for s, e in enumerate(w.err)), key=lambda u: -u[0]
        )
        rest = sum(e for e, _, _ in ranked)
        planned = {id(w): int(w.nodes.sum()) for w in paths}  # nodes a window would have after this round
        out = []
        for e, w, s in ranked:
            if rest <= self.tolerance / 2 * scale:
                break
            rest -= e
            k = int(w.nodes[s])
            if planned[id(w)] + k <= self.max_steps:
                planned[id(w)] += k
                out.append((w, s, 2 * k))
        return out

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


def _allocate(f: np.ndarray, n_steps: int) -> np.ndarray:
    """n_steps Gauss-Legendre nodes over the segments between the scan points f: one each, the rest in
    proportion to |f(end) - f(start)| (largest remainders first), where the integrand is large."""
    change = np.abs(np.diff(f))
    k = len(change)
    share = change / change.sum() if change.sum() > 0 else np.full(k, 1.0 / k)
    raw = share * (n_steps - k)
    nodes = 1 + np.floor(raw).astype(int)
    nodes[np.argsort(-(raw - np.floor(raw)), kind="stable")[: n_steps - int(nodes.sum())]] += 1
    return nodes


def _gauss_legendre(k: int) -> tuple[np.ndarray, np.ndarray]:
    """k Gauss-Legendre nodes and weights on [0, 1] (as Captum's "gausslegendre" method uses them)."""
    t, v = np.polynomial.legendre.leggauss(k)
    return (t + 1) / 2, v / 2


def _batches(items, budget: int, width=lambda w: w.width, rows=lambda _: 1) -> list[list]:
    """Items sorted by width and packed so that their rows x the widest width (padded tokens) fit
    the budget (`cmhl.batching.pack_by_width`)."""
    return [b for _, b in pack_by_width(items, budget, width, rows)]


def _content_ids(enc, n_prefix: int, n_suffix: int) -> list[int]:
    """The post's content token ids, rebuilt from its windows (windows are prefix + content + suffix)."""
    ids = [0] * enc.n_tokens
    for start, win in zip(enc.starts, enc.windows, strict=True):
        ids[start : start + len(win) - n_prefix - n_suffix] = win[n_prefix : len(win) - n_suffix]
    return ids


@contextlib.contextmanager
def _frozen(model):
    """Parameters need no gradient during attribution (backward then builds only the input's graph)."""
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(params, flags, strict=True):
            p.requires_grad_(f)
