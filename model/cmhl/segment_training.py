"""Training batches and loss terms for the segment-level crisis signal (see `cmhl.segments`,
`cmhl.triage_data`).

Per batch of distress examples: one training window per post (a random crop of a long post that
keeps an inserted passage whole), its segments as (row, start, end) rows of the padded batch, and
their targets. Two loss terms:
- ``segment_ce``: cross-entropy of the segments whose class is known (every sentence of a control
  post, the everyday sentences around an insert);
- ``segment_mil``: multiple-instance max: for a bag (a r/SuicideWatch post, an inserted crisis
  comment) -log max over its segments of P(class) (Maron & Lozano-Pérez, NIPS 1998; the max-pooling
  MIL loss of e.g. Ilse et al., ICML 2018, without the attention).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import pad_batch
from .segments import SegmentConfig, token_segments
from .triage_data import TriageExample
from .windows import special_tokens, wrap


@dataclass
class SegmentBatch:
    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)
    labels: torch.Tensor  # (B,) post-level distress class
    segments: torch.Tensor  # (S, 3) row, start, end in the padded batch
    segment_targets: torch.Tensor  # (S,) class index, -1 where unknown
    bags: list[tuple[list[int], int]]  # (segment rows, class): at least one of them has the class


class SegmentTaskData:
    """Pre-tokenized triage examples (content tokens, offsets, segment targets)."""

    def __init__(self, examples: list[TriageExample], tokenizer, max_len: int, seg_cfg: SegmentConfig):
        self.examples = examples
        self.labels = [e.label for e in examples]
        enc = tokenizer(
            [e.text for e in examples],
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            verbose=False,
        )
        self.ids = enc["input_ids"]
        self.offsets = [[tuple(o) for o in offs] for offs in enc["offset_mapping"]]
        prefix, suffix = special_tokens(tokenizer)
        self.prefix = len(prefix)
        self.content_len = max_len - len(prefix) - len(suffix)
        self.segs: list[list[tuple[int, int, int, int]]] = []  # (start, end, target, bag) per segment
        self.must: list[tuple[int, int] | None] = []
        for e, offs in zip(examples, self.offsets, strict=True):
            starts = [r.start for r in e.regions]
            rows = []
            for a, b in token_segments(e.text, offs, seg_cfg):
                k = max(0, bisect.bisect_right(starts, offs[a][0]) - 1)
                r = e.regions[k]
                rows.append((a, b, r.cls, -1) if r.kind == "all" else (a, b, -1, k))
            self.segs.append(rows)
            must = None
            if e.must_read is not None and offs:
                tok_starts = [o[0] for o in offs]
                lo = bisect.bisect_left(tok_starts, e.must_read[0])
                hi = bisect.bisect_left(tok_starts, e.must_read[1])
                must = (lo, max(hi, lo + 1))
            self.must.append(must)

    def lengths(self) -> list[int]:
        return [min(len(x), self.content_len) for x in self.ids]

    def _crop(self, i: int, rng: random.Random, random_crop: bool) -> int:
        n, L = len(self.ids[i]), self.content_len
        if n <= L or not random_crop:
            return 0
        lo, hi = 0, n - L
        must = self.must[i]
        if must is not None:  # keep the inserted passage (or as much of it as fits) in the window
            lo = max(lo, min(must[1] - L, hi))
            hi = max(lo, min(hi, must[0]))
        return rng.randint(lo, hi)

    def batch(self, idx: list[int], tokenizer, rng: random.Random, random_crop: bool) -> SegmentBatch:
        seqs, seg_rows, targets = [], [], []
        bags: dict[tuple[int, int], tuple[list[int], int]] = {}
        for row, i in enumerate(idx):
            start = self._crop(i, rng, random_crop)
            end = start + self.content_len
            seqs.append(wrap(tokenizer, self.ids[i][start:end]))
            for a, b, tgt, bag in self.segs[i]:
                lo, hi = max(a, start), min(b, end)
                if hi - lo < max(1, (b - a) // 2):  # mostly outside this window: not read here
                    continue
                s = len(seg_rows)
                seg_rows.append((row, lo - start + self.prefix, hi - start + self.prefix))
                targets.append(tgt)
                if bag >= 0:
                    key = (row, bag)
                    bags.setdefault(key, ([], self.examples[i].regions[bag].cls))[0].append(s)
        input_ids, mask = pad_batch(seqs, tokenizer.pad_token_id)
        return SegmentBatch(
            input_ids,
            mask,
            torch.tensor([self.labels[i] for i in idx]),
            torch.tensor(seg_rows, dtype=torch.long).reshape(-1, 3),
            torch.tensor(targets, dtype=torch.long),
            list(bags.values()),
        )


def segment_losses(
    segment_logits: torch.Tensor | None, targets: torch.Tensor, bags: list[tuple[list[int], int]]
) -> dict[str, torch.Tensor]:
    """{"segment_ce": ..., "segment_mil": ...} for one batch (terms without segments are left out)."""
    out: dict[str, torch.Tensor] = {}
    if segment_logits is None or not len(segment_logits):
        return out
    logits = segment_logits.float()
    known = targets >= 0
    if known.any():
        out["segment_ce"] = F.cross_entropy(logits[known], targets[known])
    if bags:
        logp = logits.log_softmax(-1)
        out["segment_mil"] = torch.stack([-logp[rows, cls].max() for rows, cls in bags]).mean()
    return out
