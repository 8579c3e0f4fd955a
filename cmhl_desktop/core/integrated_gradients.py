"""Integrated Gradients along straight embedding paths, segment by segment, with a known error.

`PathIntegrator` is the numeric engine behind `attribution.Explainer`: it takes windows of token
ids (prefix + content + suffix), integrates the gradient of a model output along the straight path
from each window's baseline to its input in the word-embedding space, and refines until the
completeness error is within tolerance. Which output is integrated (`_head`), for which class and
what the result means are the Explainer's (attribution.py).

- Path: from baseline (alpha = 0: special tokens kept, every content token replaced by the pad
  token) to input (alpha = 1), on the output of `model.word_embeddings()`; the input ids stay the
  same along the path (RoBERTa derives position ids from them).
- Integration (Captum `IntegratedGradients` on the word embeddings, segment by segment): the path
  is first scanned with forward passes only, f at `segments + 1` evenly spaced alphas. Each segment
  between two scan points is then integrated with its own Gauss-Legendre rule (each node is one
  example of a Captum IntegratedGradients call, taken in one step over its own share of the path, so
  the nodes of all segments and posts share batched passes); the exact integral of the scalar
  df/dalpha over a segment is f(end) - f(start), known from the scan, so every segment's
  completeness error is known exactly. `n_steps` gradient evaluations a window are spread over the
  segments, one each and the rest where f changes most. While |delta| is above tolerance, the
  segments with the largest errors get twice the nodes (the rest of the post is kept), up to
  `max_steps` a window; a post that never gets there is reported as not converged. Segment
  attributions add up to the whole path's, since (e(b) - e(a)) is a share of (x - baseline) on a
  straight path.
- Convergence: delta = sum(attributions) - (f(x) - f(baseline)), with both end points computed in
  fp32 on the exact path end points (word embeddings of the input / of the baseline, input ids
  unchanged); |delta| <= tolerance * max(|f(x) - f(baseline)|, abs_floor). A post's f is the mean
  over its windows (`WindowPath.weight`).

Speed (tests/benchmarks/bench_attribution.py, shipped MiniLM checkpoint, ~150-token posts, 2-core
CPU): the trained model's integrand peaks sharply where the interpolated embeddings stop looking
like padding (alpha ~ 0.25-0.5), so one rule over the whole path needs 24-32 steps to meet a 5%
tolerance, and doubling from 16 wastes the first 16. Scanning first and refining only the segments
that miss needs about 12 gradient evaluations plus 7 forward-only rows a post. On CPUs with native
bf16 (AVX512-BF16 / AMX; `cmhl.inference.bf16_supported`) the integration and the points between
the scan ends run under bf16 autocast with the math attention kernel (about 1.8x faster a row than
fp32; autocast's numerics keep LayerNorm and softmax in fp32), while f(x), f(baseline) and hence
the target, the probabilities and the delta stay fp32. Parameters are frozen during attribution
(`frozen`): autograd then builds only the input's graph (memory, not time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from cmhl.batching import pack_by_width


@dataclass
class WindowPath:
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


class PathIntegrator:
    """Segmented Integrated Gradients over windows of one model (settings: see `attribution.Explainer`,
    which validates them). A subclass gives `_head(out, head)`: the (rows, classes) or (rows,) output
    integrated for `head`, computed from the model's output `out`.

    Use: `_scan_all(paths, head)` (f along every path: its ends give f(x) and f(baseline)), then
    `_integrate_all(paths_by_post, classes, head)` (attributions per window and segment, refined
    until each post is within tolerance or out of steps), then `_scale` to read the ends."""

    def __init__(
        self,
        model,
        pad_id: int,
        n_prefix: int,
        n_suffix: int,
        *,
        n_steps: int,
        max_steps: int,
        tolerance: float,
        segments: int,
        token_budget: int,
        bf16: bool,
        abs_floor: float,
    ) -> None:
        self.model = model
        self.pad_id, self.n_prefix, self.n_suffix = pad_id, n_prefix, n_suffix
        self.n_steps, self.max_steps, self.tolerance = int(n_steps), int(max_steps), float(tolerance)
        self.segments = int(segments)
        self.token_budget = int(token_budget)
        self.bf16 = bool(bf16)
        self.abs_floor = float(abs_floor)

    def _head(self, out, head: str) -> torch.Tensor:
        raise NotImplementedError

    def _scan_all(self, paths: Sequence[WindowPath], head: str, state=None) -> None:
        """f at the scan points of every path, in batches of about token_budget tokens; `state`
        (TaskState) is checked between batches."""
        for batch in batches(paths, self.token_budget, rows=lambda w: self.segments + 1):
            if state is not None:
                state.check()
            self._scan(batch, head)

    def _integrate_all(
        self,
        paths: Mapping[int, Sequence[WindowPath]],
        classes: Mapping[int, int | None],
        head: str,
        state=None,
    ) -> dict[int, list[int]]:
        """Attributions of every scanned path of each post for its class (`classes[post]`, None for a
        single-value head): integrate each segment with Gauss-Legendre nodes where f changes, then
        refine the segments with the largest (exactly known) errors until each post's delta is
        within tolerance. Returns the gradient evaluations of each round, per post."""
        for p, ws in paths.items():
            cls = classes[p]
            for w in ws:
                w.f = w.values[:, cls] if cls is not None else w.values[:, 0]
                w.nodes = allocate_nodes(w.f, self.n_steps)
                w.attr = np.zeros((self.segments, w.width))
        units = [(w, s, int(w.nodes[s])) for ws in paths.values() for w in ws for s in range(self.segments)]
        spent: dict[int, list[int]] = {p: [] for p in paths}
        open_posts = list(paths)
        while units:
            for p in open_posts:
                spent[p].append(sum(k for w, _, k in units if w.post == p))
            self._integrate(units, head, classes, state)
            units = []
            for p in list(open_posts):
                more = self._refine(paths[p])
                if more:
                    units += more
                else:
                    open_posts.remove(p)
        return spent

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

    def _pack(self, paths: Sequence[WindowPath]):
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

    def _scan_points(self, paths: Sequence[WindowPath]):
        """ids, mask and the word embeddings at every scan point, alpha = j / segments (a list of
        segments + 1 tensors), the ends exact: the baseline's and the input's own embeddings."""
        ids, mask, base = self._pack(paths)
        emb = self.model.word_embeddings()
        with torch.no_grad():
            x, b = emb(ids), emb(base)
        inner = [b + (j / self.segments) * (x - b) for j in range(1, self.segments)]
        return ids, mask, [b, *inner, x]

    @torch.no_grad()
    def _scan(self, paths: Sequence[WindowPath], head: str) -> None:
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

    def _integrate(self, units, head: str, classes, state) -> None:
        """Gauss-Legendre integration of each unit's segment (path, segment, nodes) with Captum
        IntegratedGradients. Every node is one example, integrated in one step over its own share
        of the path (node +- weight / 2: the gradient at the node times its share of x - baseline),
        so segments with different node counts share batched passes of about token_budget tokens."""
        nodes = []  # (unit, alpha from, alpha to)
        for u, (_, s, k) in enumerate(units):
            t, v = gauss_legendre(k)
            a, half = (s + t) / self.segments, v / (2 * self.segments)
            nodes += [(u, lo, hi) for lo, hi in zip(a - half, a + half, strict=True)]
        sums = [np.zeros(w.width) for w, _, _ in units]
        for batch in batches(nodes, self.token_budget, width=lambda n: units[n[0]][0].width):
            if state is not None:
                state.check()
            paths = [units[u][0] for u, _, _ in batch]
            attr = self._node_pass(
                paths, [lo for _, lo, _ in batch], [hi for _, _, hi in batch], head, classes
            )
            for (u, _, _), a, w in zip(batch, attr, paths, strict=True):
                sums[u] += a[: w.width]  # special tokens and padding: input == baseline, exactly 0
        for u, (w, s, k) in enumerate(units):
            w.attr[s] = sums[u]
            w.nodes[s] = k

    def _node_pass(self, paths, lo, hi, head, classes) -> np.ndarray:
        """One batched Captum IntegratedGradients pass: row r integrates paths[r] from alpha lo[r] to
        hi[r] in one Gauss-Legendre step. Returns token attributions (rows, width)."""
        from captum.attr import IntegratedGradients

        ids, mask, base = self._pack(paths)
        emb = self.model.word_embeddings()
        with torch.no_grad():
            x, b = emb(ids), emb(base)
        lo_t = torch.tensor(lo, dtype=torch.float32).view(-1, 1, 1)
        hi_t = torch.tensor(hi, dtype=torch.float32).view(-1, 1, 1)
        target = [classes[w.post] for w in paths]
        target = None if target[0] is None else target  # a single-value head has no class

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

    def _scale(self, paths: Sequence[WindowPath]) -> tuple[float, float, float]:
        """(f(x), f(baseline), the delta is measured against) for a post: means over its windows."""
        fx = float(sum(w.weight * w.f[-1] for w in paths))
        fb = float(sum(w.weight * w.f[0] for w in paths))
        return fx, fb, max(abs(fx - fb), self.abs_floor)

    def _refine(self, paths: Sequence[WindowPath]) -> list[tuple[WindowPath, int, int]]:
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


def allocate_nodes(f: np.ndarray, n_steps: int) -> np.ndarray:
    """n_steps Gauss-Legendre nodes over the segments between the scan points f: one each, the rest in
    proportion to |f(end) - f(start)| (largest remainders first), where the integrand is large."""
    change = np.abs(np.diff(f))
    k = len(change)
    share = change / change.sum() if change.sum() > 0 else np.full(k, 1.0 / k)
    raw = share * (n_steps - k)
    nodes = 1 + np.floor(raw).astype(int)
    nodes[np.argsort(-(raw - np.floor(raw)), kind="stable")[: n_steps - int(nodes.sum())]] += 1
    return nodes


def gauss_legendre(k: int) -> tuple[np.ndarray, np.ndarray]:
    """k Gauss-Legendre nodes and weights on [0, 1] (as Captum's "gausslegendre" method uses them)."""
    t, v = np.polynomial.legendre.leggauss(k)
    return (t + 1) / 2, v / 2


def batches(items, budget: int, width=lambda w: w.width, rows=lambda _: 1) -> list[list]:
    """Items sorted by width and packed so that their rows x the widest width (padded tokens) fit
    the budget (`cmhl.batching.pack_by_width`)."""
    return [b for _, b in pack_by_width(items, budget, width, rows)]


@contextlib.contextmanager
def frozen(model):
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
