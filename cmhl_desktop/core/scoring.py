"""Batch scoring of posts with a CMHL checkpoint (Qt-free; used by the CLI, the GUI worker and tests).

`Scorer(ckpt, options).iter_score(texts, state, policy)` streams `(start_index, [PostResult, ...])`
per chunk of posts, in input order, so the GUI can show results as they arrive; `score()` collects
them. Every input row gives exactly one result:

- ``ok``: scored; ``truncated``: scored, but the post is longer than the checkpoint reads (below);
- ``empty``: empty, whitespace-only or with no readable token (not scored, never flagged);
- ``no content``: no readable words (`text_norm.is_no_content`: placeholders such as ``[deleted]``,
  only digits, punctuation, URLs or markup): not scored, never flagged; a short real statement
  ("I want to die") is content and is scored;
- ``error: <reason>``: this row could not be scored; the run goes on.

Cells that are not strings are converted first (None/NaN -> empty, bytes decoded as UTF-8, numbers
and dates with ``str``).

How much of a long post is read: a post is cut into overlapping windows of ``max_length`` tokens
(``stride`` tokens apart, the last window aligned to the end of the text) and the logits of all
windows are averaged, so a long post is read in full, end included, up to ``long_text.max_windows``
windows. Beyond that only the first ``(max_windows - 1) * stride + max_length - 2`` tokens are read
and the row's status is ``truncated``: 6,206 tokens (roughly 25,000-30,000 characters of English) for
the shipped MiniLM checkpoint (max_length 256, stride 192, 32 windows). See `Scorer.read_limit_tokens`.

Speed (2-core CPU): posts are tokenized per chunk in one fast-tokenizer call; windows of a chunk
are sorted by length and packed into batches of about ``token_budget`` padded tokens, their width
rounded up to a few bucket sizes so oneDNN reuses its compiled kernels (original order restored
afterwards); one forward pass per window gives every head; ``torch.inference_mode``; glibc malloc
tuned so batches reuse memory; for BERT-family encoders a fused path (`cmhl.fast_cpu`: QKV in one
matmul, bias+GELU and bias+residual as matmul post-ops) -- in fp32 by default, on a bf16 copy of the
weights only on CPUs with native bf16 matmul (AVX512-BF16/AMX; on plain AVX-512 oneDNN emulates bf16
and it ran ~3x slower than fp32) -- while the pooling, the heads, the temperature scaling and the
softmax stay in fp32. Measured with tests/benchmarks/bench_scoring.py (2,000 posts, shipped MiniLM;
figures in the README's "Speed" section): on a 2-core Xeon with AMX, bf16, 2.2-3.6x the posts/s of a
straightforward fp32 loop (fixed batches of 32 padded to max_length, truncated); on a 2-core AVX-512
CPU without native bf16, fp32-fused, about the baseline's posts/s while reading every window
(~1.7x the text the truncating baseline reads); peak RSS 1.1-1.2 GB for 100,000 short posts.

bf16 agreement (tests/benchmarks/bench_scoring.py, 1,014 distress test posts): 100.00% identical top
categories between the bf16 path and fp32 with the shipped cmhl-minilm-v2 (99.80% with v1). bf16 is
used only where it meets the bar of >= 99.5% and the CPU has native bf16;
``ScoringOptions(bf16=False)`` / ``cmhl score --no-bf16`` turn it off.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch
from cmhl.fast_cpu import bf16_model, fast_model
from cmhl.inference import Predictions, bf16_supported, predict_encoded
from cmhl.windows import EncodedPost, encode_posts
from torch import nn

from .compute import default_threads, resolve_device, torch_threads, tune_malloc
from .flags import FlagPolicy
from .post_results import map_to_source, results_from_predictions
from .results import NO_CONTENT, PostResult
from .tasks import TaskState
from .text_norm import ModelText, is_no_content, model_view

# Identical top distress categories, bf16 vs fp32, on the 1,014 distress test posts with the shipped
# cmhl-minilm-v2 (the figure that decides bf16's default, bar 99.5%; v1: 0.9980; re-measure with
# tests/benchmarks/bench_scoring.py whenever the checkpoint or this path changes).
BF16_AGREEMENT = 1.0

_SURROGATES = re.compile("[\ud800-\udfff]")
# The first chunk of a run is this many posts, each next one twice as big up to `options.chunk`: the
# first results reach the window within about a second, later chunks stay large for throughput.
FIRST_CHUNK = 8  # ~1 s of the shipped model on a busy 2-core laptop


@dataclass
class ScoringOptions:
    """How to run the model. Every field has a sensible default for a laptop CPU.

    bf16: run the encoder in bf16. None (default) = auto: on when the CPU has native bf16 matmul
        (`cmhl.inference.bf16_supported()`), else fp32. If bf16 fails at run time the scorer falls
        back to fp32 by itself.
    fused: on the CPU, run a BERT-family encoder through `cmhl.fast_cpu`'s fused path (same
        arithmetic; in fp32 identical top categories and ~1.15x faster). False = the Hugging Face
        module as is (the benchmark's reference).
    token_budget: padded tokens per forward batch (batch rows x longest window of the batch). Bigger
        batches amortise the fixed cost of each op (measured on this 2-core CPU: 16,384 is ~15%
        faster than 8,192; 32,768 no faster; 2,048 twice as slow).
    max_batch: at most this many windows in one forward batch.
    chunk: posts tokenized and scored together; bounds memory (only one chunk's tensors exist at a
        time) and sets how often results stream out. A run starts with chunks of FIRST_CHUNK posts,
        doubling up to this size, so the first results arrive at once.
    threads: torch intra-op threads while scoring (restored afterwards). None = the CPU cores this
        process may use (affinity-aware, at most torch's own default). A one-thread-vs-all probe was
        tried and dropped: a probe small enough to be cheap favours one thread, while real batches
        (thousands of tokens) run about 1.8x faster on both cores of this 2-core machine.
    device: "auto" (CUDA when `torch.cuda.is_available()`, else the CPU), "cpu" or "cuda". On CUDA
        the model runs on a GPU copy; bf16 autocast is used only when, on the run's first chunk,
        at least 99.5% of top categories agree with fp32 (`Scorer.half_agreement`; the same bar as
        bf16 on the CPU), and `gpu_token_budget` replaces `token_budget`.
    gpu_token_budget: padded tokens per forward batch on a GPU.
    tune_malloc: on Linux/glibc, keep freed blocks up to 256 MB in the heap instead of returning
        them to the system after every batch (`mallopt`, once per process). Each forward pass
        allocates tens of MB of activations; without this every batch pays for fresh zeroed pages
        (measured: 15-20% of the scoring time, page faults 170k-540k per 100 posts -> ~0).
    """

    bf16: bool | None = None
    fused: bool = True
    device: str = "auto"
    token_budget: int = 16384
    max_batch: int = 1024
    chunk: int = 1024
    threads: int | None = None
    tune_malloc: bool = True
    gpu_token_budget: int = 262144

    def __post_init__(self) -> None:
        if self.bf16 is not None and not isinstance(self.bf16, bool):
            raise ValueError("ScoringOptions.bf16 must be True, False or None (auto)")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"ScoringOptions.device must be auto, cpu or cuda, got {self.device!r}")
        for name in ("token_budget", "max_batch", "chunk", "gpu_token_budget"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"ScoringOptions.{name} must be a positive integer, got {v!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(
                f"ScoringOptions.threads must be a positive integer or None, got {self.threads!r}"
            )


HALF_AGREEMENT_BAR = 0.995


def as_text(value: object) -> str:
    """A cell as text: None/NaN -> "", bytes decoded as UTF-8, anything else through str()."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


# --------------------------------------------------------------------------- scorer


class Scorer:
    """Scores posts with one loaded checkpoint (`cmhl.checkpoint.LoadedCheckpoint`)."""

    def __init__(self, ckpt, options: ScoringOptions | None = None) -> None:
        self.ckpt = ckpt
        self.options = options or ScoringOptions()
        cfg = ckpt.config
        self.distress_labels: list[str] = list(cfg.distress_labels)
        self.emotion_labels: list[str] = list(cfg.emotion_labels)
        temps = ckpt.calibration.temperatures
        self.t_distress = float(temps.get("distress", 1.0))
        self.t_emotion = float(temps.get("emotion", 1.0))
        self.pad_id = ckpt.tokenizer.pad_token_id if ckpt.tokenizer.pad_token_id is not None else 0
        self.device = resolve_device(self.options.device)
        want = self.options.bf16
        self.bf16: bool | None
        if self.device.type == "cuda":
            self.bf16 = want  # None: decided by the agreement check on the first chunk
        else:
            self.bf16 = bool(bf16_supported()) if want is None else bool(want)
        self.half_agreement: float | None = None  # GPU: top-category agreement, half vs fp32
        self.fallback_reason = ""  # why bf16 was switched off at run time, if it was
        self._fast: nn.Module | None = None
        self._fp32: nn.Module | None = None  # the fp32 encoder path on the CPU (fused if possible)
        self.policy = FlagPolicy.from_checkpoint(ckpt)
        if self.options.tune_malloc:
            tune_malloc()
        self.threads = self.options.threads or default_threads()

    # ------------------------------------------------------------------ facts

    @property
    def read_limit_tokens(self) -> int:
        """Content tokens read from a post before it counts as truncated."""
        cfg = self.ckpt.config
        content = cfg.max_length - self._n_special()
        if cfg.long_text.strategy == "head":
            return content
        stride = min(cfg.long_text.stride, content)
        return (cfg.long_text.max_windows - 1) * stride + content

    def _n_special(self) -> int:
        from cmhl.windows import special_tokens

        pre, suf = special_tokens(self.ckpt.tokenizer)
        return len(pre) + len(suf)

    @property
    def precision(self) -> str:
        """ "fp32", "fp32-fused", "bf16" or "bf16-fused" on the CPU (the encoder path in use; builds it
        if needed); "cuda-fp32", "cuda-bf16" or "cuda-auto" (not decided yet) on a GPU."""
        if self.device.type == "cuda":
            return "cuda-" + {True: "bf16", False: "fp32", None: "auto"}[self.bf16]
        return getattr(self._model().encoder, "kind", "fp32" if not self.bf16 else "bf16")

    def _model(self) -> nn.Module:
        if self.device.type == "cuda":  # one GPU copy; precision is chosen per call (autocast)
            if self._fast is None:
                self._fast = copy.deepcopy(self.ckpt.model).to(self.device).eval()
            return self._fast
        if not self.bf16:
            return self._fp32_model()
        if self._fast is None:
            self._fast = bf16_model(self.ckpt.model)
        return self._fast

    def _fp32_model(self) -> nn.Module:
        if self._fp32 is None:
            fused = fast_model(self.ckpt.model, torch.float32) if self.options.fused else None
            self._fp32 = fused or self.ckpt.model
        return self._fp32

    def _to_fp32(self, reason: str) -> None:
        self.bf16 = False
        if self.device.type != "cuda":
            self._fast = None
        self.fallback_reason = reason

    def _forward(self, enc: list[EncodedPost], on_batch=None, half: bool | None = None) -> Predictions:
        """One pass over `enc` on this scorer's device (`half`: GPU autocast; default self.bf16)."""
        if self.device.type == "cuda":
            kw = dict(token_budget=self.options.gpu_token_budget, max_batch=self.options.max_batch)
            half = bool(self.bf16) if half is None else half
            return predict_encoded(
                self._model(), enc, self.pad_id, self.device, half, on_batch=on_batch, **kw
            )
        kw = dict(token_budget=self.options.token_budget, max_batch=self.options.max_batch)
        model = self._model() if half is None else self._fp32_model()
        return predict_encoded(model, enc, self.pad_id, on_batch=on_batch, **kw)

    def _check_half(self, enc: list[EncodedPost], on_batch) -> Predictions:
        """GPU, first chunk: score in fp32 and in bf16; keep bf16 for the run when at least
        HALF_AGREEMENT_BAR of top categories agree. Returns the fp32 predictions."""
        ref = self._forward(enc, on_batch, half=False)
        try:
            half = self._forward(enc, None, half=True)
            agree = float(np.mean(ref.distress_logits.argmax(1) == half.distress_logits.argmax(1)))
        except Exception as e:  # no bf16 kernels on this GPU
            agree, self.fallback_reason = 0.0, f"bf16 failed on the GPU ({type(e).__name__}); fp32"
        self.half_agreement = agree
        self.bf16 = agree >= HALF_AGREEMENT_BAR
        return ref

    # ------------------------------------------------------------------ scoring

    def score(
        self, texts: Iterable[object], state: TaskState | None = None, policy: FlagPolicy | None = None
    ) -> list[PostResult]:
        """Score every text; one PostResult per input, in order. Raises `Cancelled` if cancelled."""
        out: list[PostResult] = []
        for _, part in self.iter_score(texts, state, policy):
            out.extend(part)
        return out

    def iter_score(
        self, texts: Iterable[object], state: TaskState | None = None, policy: FlagPolicy | None = None
    ) -> Iterator[tuple[int, list[PostResult]]]:
        """Yield (start index, results of that chunk) in input order. `texts` may be any iterable
        (a generator streams: only one chunk is held); progress goes to `state.set_progress(done,
        total)` (total 0 when the iterable has no len) and `state.check()` runs between batches."""
        policy = policy or self.policy
        total = len(texts) if hasattr(texts, "__len__") else 0  # type: ignore[arg-type]
        it = iter(texts)
        start = 0
        with torch_threads(self.threads):
            if state is not None:
                state.check()
                state.set_progress(0, total)
            size = min(FIRST_CHUNK, self.options.chunk)
            while True:
                cells = list(islice(it, size))
                if not cells:
                    break
                size = min(size * 2, self.options.chunk)  # small first chunks: rows show at once
                results = self._score_chunk(cells, start, total, state, policy)
                yield start, results
                start += len(cells)
                if state is not None:
                    state.set_progress(start, max(total, start))

    def _score_chunk(
        self, cells: list[object], start: int, total: int, state: TaskState | None, policy: FlagPolicy
    ) -> list[PostResult]:
        n = len(cells)
        results: list[PostResult | None] = [None] * n
        texts: list[str] = []  # what the model reads
        views: list[ModelText | None] = []  # how to map its offsets back (None: the same text)
        idx: list[int] = []  # chunk positions of the texts to score
        for i, cell in enumerate(cells):
            try:
                t = as_text(cell)
            except Exception as e:  # a cell whose str() fails
                results[i] = PostResult(status=f"error: cell could not be read as text ({type(e).__name__})")
                continue
            if not t.strip():
                results[i] = PostResult(status="empty")
            elif is_no_content(t):  # placeholders, digits, URLs, markup: never scored nor flagged
                results[i] = PostResult(status=NO_CONTENT)
            else:
                view = model_view(t) if "&" in t else None  # HTML entities decoded for the model
                texts.append(view.text if view is not None else t)
                views.append(view)
                idx.append(i)

        encoded, enc_errors = self._encode(texts)
        todo: list[int] = []  # positions in `texts` with windows to run
        for j, e in enumerate(encoded):
            if e is None:
                results[idx[j]] = PostResult(status=f"error: {enc_errors[j]}")
            elif e.n_tokens == 0:
                results[idx[j]] = PostResult(status="empty")  # e.g. only zero-width or control characters
            else:
                todo.append(j)

        if todo:
            enc = [encoded[j] for j in todo]  # type: ignore[misc]
            preds, errors = self._predict(enc, start, n, total, state)
            rows = results_from_predictions(
                preds,
                errors,
                policy,
                enc,
                (self.distress_labels, self.emotion_labels),
                (self.t_distress, self.t_emotion),
                self._n_special(),
            )
            lex = self.ckpt.risk_lexicon
            for j, r in zip(todo, rows, strict=True):
                if lex is not None and r.scored:
                    r.lexicon_matches = [
                        (m.construct, m.term, m.start, m.end) for m in lex.crisis_matches(texts[j])
                    ]
                if views[j] is not None:  # spans of the original text, as the user sees it
                    map_to_source(r, views[j])
                results[idx[j]] = r
        return results  # type: ignore[return-value]

    def _encode(self, texts: list[str]) -> tuple[list[EncodedPost | None], dict[int, str]]:
        cfg = self.ckpt.config
        tok = self.ckpt.tokenizer
        if not texts:
            return [], {}
        try:
            return list(encode_posts(tok, texts, cfg.max_length, cfg.long_text, cfg.segments)), {}
        except Exception:
            pass  # one bad text fails the whole call: isolate it, post by post
        out: list[EncodedPost | None] = []
        errors: dict[int, str] = {}
        for j, t in enumerate(texts):
            try:
                out.append(encode_posts(tok, [t], cfg.max_length, cfg.long_text, cfg.segments)[0])
                continue
            except Exception:
                pass
            try:  # lone surrogates (undecodable bytes); one code point each, so offsets still match
                fixed = _SURROGATES.sub("\ufffd", t)
                out.append(encode_posts(tok, [fixed], cfg.max_length, cfg.long_text, cfg.segments)[0])
            except Exception as e:
                out.append(None)
                errors[j] = f"text could not be tokenized ({type(e).__name__})"
        return out, errors

    def _predict(
        self, enc: list[EncodedPost], start: int, n_chunk: int, total: int, state: TaskState | None
    ) -> tuple[Predictions, dict[int, str]]:
        """Predictions for encoded posts; a post whose forward pass fails gets an error, not a crash."""
        n_windows = sum(len(e.windows) for e in enc)

        def on_batch(done_windows: int) -> None:
            if state is not None:
                state.check()
                done = start + int(n_chunk * done_windows / max(n_windows, 1))
                state.set_progress(min(done, start + n_chunk - 1), max(total, start + n_chunk))

        from .tasks import Cancelled

        try:
            if self.device.type == "cuda" and self.bf16 is None and len(enc):
                preds = self._check_half(enc, on_batch)
            else:
                preds = self._forward(enc, on_batch)
        except Cancelled:
            raise
        except Exception as e:
            if self.bf16:  # an encoder op without bf16 support, say: the rest of the run in fp32
                self._to_fp32(f"bf16 failed ({type(e).__name__}); scoring in fp32")
                return self._predict(enc, start, n_chunk, total, state)
            if self._fp32 is not None and self._fp32 is not self.ckpt.model:  # the fused path failed
                self._fp32 = self.ckpt.model
                return self._predict(enc, start, n_chunk, total, state)
            return self._predict_one_by_one(enc, state)
        errors: dict[int, str] = {}
        bad = ~_finite_rows(preds)
        if bad.any() and self.bf16:  # bf16 overflow: redo those posts in fp32
            redo = np.nonzero(bad)[0]
            fp32 = self._forward([enc[i] for i in redo], half=False)
            for f in ("emotion_logits", "distress_logits", "valence", "intensity"):
                getattr(preds, f)[redo] = getattr(fp32, f)
            if preds.segment_logits is not None and fp32.segment_logits is not None:
                for j, i in enumerate(redo):
                    preds.segment_logits[i] = fp32.segment_logits[j]
            bad = ~_finite_rows(preds)
        for i in np.nonzero(bad)[0]:
            errors[int(i)] = "the model gave a non-finite output"
        return preds, errors

    def _predict_one_by_one(
        self, enc: list[EncodedPost], state: TaskState | None
    ) -> tuple[Predictions, dict]:
        from cmhl.inference import concat_predictions

        from .tasks import Cancelled

        parts, errors = [], {}
        cfg = self.ckpt.config
        for i, e in enumerate(enc):
            if state is not None:
                state.check()
            try:
                parts.append(predict_encoded(self.ckpt.model, [e], self.pad_id, "cpu", False))
            except Cancelled:
                raise
            except Exception as ex:
                errors[i] = f"the model failed on this post ({type(ex).__name__})"
                E, K = len(cfg.emotion_labels), len(cfg.distress_labels)
                nan = np.full(1, np.nan, np.float32)
                parts.append(
                    Predictions(
                        np.full((1, E), np.nan, np.float32),
                        np.full((1, K), np.nan, np.float32),
                        nan,
                        nan.copy(),
                        np.array([e.n_tokens]),
                        np.array([e.truncated]),
                    )
                )
        return concat_predictions(parts, cfg), errors


def _finite_rows(p: Predictions) -> np.ndarray:
    return (
        np.isfinite(p.distress_logits).all(1)
        & np.isfinite(p.emotion_logits).all(1)
        & np.isfinite(p.valence)
        & np.isfinite(p.intensity)
    )
