"""Batched prediction over posts of any length: windows, length-sorted dynamic batches, logits
averaged per post, original order restored. Used by evaluation, calibration and the app's scoring."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .batching import plan_windows
from .config import ModelConfig
from .data import pad_batch
from .windows import EncodedPost, encode_posts


@dataclass
class Predictions:
    """Raw (uncalibrated) per-post outputs; logits averaged over a post's windows."""

    emotion_logits: np.ndarray  # (N, E)
    distress_logits: np.ndarray  # (N, K)
    valence: np.ndarray  # (N,)
    intensity: np.ndarray  # (N,)
    n_tokens: np.ndarray  # (N,) content tokens per post
    truncated: np.ndarray  # (N,) bool
    # per post: (S_p, K) distress logits of its segments, in the post's segment order (S_p may be 0);
    # None when the model was run without segments
    segment_logits: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.valence)

    def take(self, idx) -> Predictions:
        """The predictions of the posts at `idx` (an index array), in that order."""
        idx = np.asarray(idx, dtype=np.intp)
        arrays = {f: getattr(self, f)[idx] for f in _ARRAY_FIELDS}
        seg = None if self.segment_logits is None else [self.segment_logits[i] for i in idx]
        return Predictions(**arrays, segment_logits=seg)


_ARRAY_FIELDS = ("emotion_logits", "distress_logits", "valence", "intensity", "n_tokens", "truncated")


def bf16_supported() -> bool:
    """True on CPUs with native bf16 matmul (AVX512-BF16 or AMX), where bf16 pays off.

    oneDNN's own check (`_is_mkldnn_bf16_supported`) is also true on plain AVX-512, where it emulates
    bf16: there a bf16 forward ran about 3x slower than fp32 (cmhl-minilm-v2 on a 2-core AVX-512
    CPU without AVX512-BF16; tests/benchmarks/bench_scoring.py), so the native instructions are
    required. Off x86 (e.g. Apple silicon) fp32 is used."""
    try:
        if not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
            return False
        cpu = torch.cpu
        return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
    except Exception:  # builds without these private checks: fp32, the safe choice
        return False


def autocast_ctx(device: torch.device, bf16: bool):
    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if bf16 and device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict_encoded(
    model,
    encoded: list[EncodedPost],
    pad_id: int,
    device: torch.device | str = "cpu",
    bf16: bool = False,
    token_budget: int = 16384,
    max_batch: int = 1024,
    on_batch: Callable[[int], None] | None = None,
    plan: Callable[[list[EncodedPost]], Iterable[tuple[int, list[tuple[int, int]]]]] | None = None,
) -> Predictions:
    """Forward every window once; average logits per post. `on_batch(n_windows_done)` may raise to cancel.

    `plan(encoded)` may choose the batches as (padded width, [(post, window), ...]); by default
    `cmhl.batching.plan_windows` packs about `token_budget` padded tokens a batch, widths bucketed.
    Padding is masked out, so the plan changes nothing but rounding."""
    device = torch.device(device)
    model.eval()
    n = len(encoded)
    cfg: ModelConfig = model.config
    E, K = len(cfg.emotion_labels), len(cfg.distress_labels)
    emo = np.zeros((n, E), np.float64)
    dis = np.zeros((n, K), np.float64)
    val = np.zeros(n, np.float64)
    inten = np.zeros(n, np.float64)
    use_seg = getattr(cfg, "segments", None) is not None
    seg_out = [np.zeros((len(e.segments), K), np.float32) for e in encoded] if use_seg else None
    by_window = _segments_by_window(encoded) if use_seg else {}
    done = 0
    batches = plan(encoded) if plan else plan_windows(encoded, token_budget, max_batch, cfg.max_length)
    for width, batch in batches:
        ids, mask = pad_batch([encoded[p].windows[w] for p, w in batch], pad_id, width)
        seg_rows, seg_dest = [], []  # (row, start, end) in the batch; (post, segment index)
        for j, pw in enumerate(batch):
            for k, a, b in by_window.get(pw, ()):
                seg_rows.append((j, a, b))
                seg_dest.append((pw[0], k))
        segs = torch.tensor(seg_rows, dtype=torch.long, device=device) if seg_rows else None
        with autocast_ctx(device, bf16):
            out = (
                model(ids.to(device), mask.to(device), segs)
                if use_seg
                else model(ids.to(device), mask.to(device))
            )
        if seg_rows:
            s_logits = out.segment_logits.float().cpu().numpy()
            for r, (p, k) in enumerate(seg_dest):
                seg_out[p][k] = s_logits[r]
        e, d = out.emotion_logits.float().cpu().numpy(), out.distress_logits.float().cpu().numpy()
        v, i = out.valence.float().cpu().numpy(), out.intensity.float().cpu().numpy()
        for j, (p, _) in enumerate(batch):
            k = len(encoded[p].windows)
            emo[p] += e[j] / k
            dis[p] += d[j] / k
            val[p] += v[j] / k
            inten[p] += i[j] / k
        done += len(batch)
        if on_batch is not None:
            on_batch(done)
    return Predictions(
        emo.astype(np.float32),
        dis.astype(np.float32),
        val.astype(np.float32),
        inten.astype(np.float32),
        np.array([e.n_tokens for e in encoded]),
        np.array([e.truncated for e in encoded], dtype=bool),
        seg_out,
    )


def _segments_by_window(encoded: list[EncodedPost]) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    """(post, window) -> [(segment index, start, end)] for the segments scored in that window."""
    out: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for p, e in enumerate(encoded):
        for k, (w, a, b) in enumerate(e.segments):
            out.setdefault((p, w), []).append((k, a, b))
    return out


def predict_texts(
    model,
    tokenizer,
    texts: list[str],
    device=None,
    bf16: bool = False,
    chunk: int = 2048,
    progress=None,
    **kw,
) -> Predictions:
    """Predict in chunks of posts (bounded memory); `progress(done_posts, total)` after each chunk."""
    cfg: ModelConfig = model.config
    device = device if device is not None else next(model.parameters()).device
    parts = []
    for s in range(0, len(texts), chunk):
        enc = encode_posts(tokenizer, texts[s : s + chunk], cfg.max_length, cfg.long_text, cfg.segments)
        parts.append(predict_encoded(model, enc, tokenizer.pad_token_id, device, bf16, **kw))
        if progress is not None:
            progress(min(s + chunk, len(texts)), len(texts))
    return concat_predictions(parts, cfg)


def concat_predictions(parts: list[Predictions], cfg: ModelConfig) -> Predictions:
    if not parts:
        E, K = len(cfg.emotion_labels), len(cfg.distress_labels)
        z = np.zeros(0, np.float32)
        seg = [] if getattr(cfg, "segments", None) is not None else None
        return Predictions(
            np.zeros((0, E), np.float32),
            np.zeros((0, K), np.float32),
            z,
            z,
            z.astype(int),
            z.astype(bool),
            seg,
        )
    arrays = {f: np.concatenate([getattr(p, f) for p in parts]) for f in _ARRAY_FIELDS}
    seg = None
    if all(p.segment_logits is not None for p in parts):
        seg = [s for p in parts for s in p.segment_logits]
    return Predictions(**arrays, segment_logits=seg)


def segment_max_probs(preds: Predictions, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Per post and class: the highest calibrated probability over the post's segments (N, K), NaN
    where a post has no segment (or the model none), and which segment gave it (N, K), -1 there."""
    n = len(preds)
    K = preds.distress_logits.shape[1] if preds.distress_logits.ndim == 2 else 0
    best = np.full((n, K), np.nan)
    arg = np.full((n, K), -1, dtype=np.intp)
    if preds.segment_logits is None:
        return best, arg
    for i, s in enumerate(preds.segment_logits):
        if len(s):
            p = softmax(s.astype(np.float64), temperature)
            arg[i] = p.argmax(0)
            best[i] = p.max(0)
    return best, arg


def crisis_scores(preds: Predictions, temperature: float, cls: int) -> np.ndarray:
    """(N,) max of the post's calibrated P(cls) and its most concerning segment's: the score of a
    segment-aware flag rule (`cmhl.calibration.FlagRule.segments`)."""
    post = softmax(preds.distress_logits.astype(np.float64), temperature)[:, cls]
    seg, _ = segment_max_probs(preds, temperature)
    return np.fmax(post, seg[:, cls]) if seg.shape[1] else post


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)
