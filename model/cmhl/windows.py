"""Long-text handling shared by training, evaluation, scoring and attribution.

A post is tokenized once without special tokens (offsets kept, so scores map back to characters),
then cut into overlapping windows of `max_length` tokens (special tokens included). The last window
is aligned to the end of the text so that the end is always read; beyond `max_windows` the rest is
not read and the post is marked truncated. Logits are averaged over a post's windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import LongTextConfig
from .segments import SegmentConfig, assign_windows, token_segments


@dataclass
class EncodedPost:
    windows: list[list[int]]  # token ids per window, special tokens included
    starts: list[int]  # index of each window's first content token in the post's token list
    offsets: list[tuple[int, int]]  # char span of each content token of the whole post
    n_tokens: int  # content tokens in the whole post
    truncated: bool  # some tokens were not read
    # Segments (`cmhl.segments`), empty when the checkpoint has no segment scoring:
    # (window, start, end) positions inside that window's ids (special tokens included) ...
    segments: list[tuple[int, int, int]] = field(default_factory=list)
    # ... and the same segments as content-token ranges of the post (map to characters via offsets)
    segment_tokens: list[tuple[int, int]] = field(default_factory=list)


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """(prefix, suffix) special-token ids the tokenizer puts around one sequence ([CLS] .. [SEP], <s> .. </s>)."""
    cached = getattr(tokenizer, "_cmhl_specials", None)
    if cached is None:
        plain = tokenizer("a", add_special_tokens=False)["input_ids"]
        full = tokenizer("a")["input_ids"]
        i = next(k for k in range(len(full)) if full[k : k + len(plain)] == plain)
        cached = (full[:i], full[i + len(plain) :])
        tokenizer._cmhl_specials = cached
    return cached


def wrap(tokenizer, ids: list[int]) -> list[int]:
    prefix, suffix = special_tokens(tokenizer)
    return prefix + list(ids) + suffix


def window_starts(n: int, content_len: int, cfg: LongTextConfig) -> tuple[list[int], bool]:
    if n <= content_len:
        return [0], False
    if cfg.strategy == "head":
        return [0], True
    stride = min(cfg.stride, content_len)
    starts = list(range(0, n - content_len, stride)) + [n - content_len]
    if len(starts) > cfg.max_windows:
        return starts[: cfg.max_windows], True
    return starts, False


def encode_posts(
    tokenizer,
    texts: list[str],
    max_length: int,
    cfg: LongTextConfig,
    segments: SegmentConfig | None = None,
) -> list[EncodedPost]:
    """Tokenize a batch of posts (fast tokenizer, one call) and cut each into windows (and, when
    `segments` is given, into segments assigned to windows)."""
    enc = tokenizer(
        texts,
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        verbose=False,
    )
    prefix, suffix = special_tokens(tokenizer)
    content_len = max_length - len(prefix) - len(suffix)
    out = []
    for text, ids, offs in zip(texts, enc["input_ids"], enc["offset_mapping"], strict=True):
        starts, truncated = window_starts(len(ids), content_len, cfg)
        windows = [prefix + ids[s : s + content_len] + suffix for s in starts]
        offs = [tuple(o) for o in offs]
        segs, seg_tokens = [], []
        if segments is not None:
            for w, a, b in assign_windows(token_segments(text, offs, segments), starts, content_len):
                shift = len(prefix) - starts[w]
                segs.append((w, a + shift, b + shift))
                seg_tokens.append((a, b))
        out.append(EncodedPost(windows, starts, offs, len(ids), truncated, segs, seg_tokens))
    return out
