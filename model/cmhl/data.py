"""Datasets: the emotion `text;label` files, the distress `posts.csv`, the Warriner lexicon, and
length-aware batching with joint sampling of the two tasks."""

from __future__ import annotations

import csv
import hashlib
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import rescale_warriner

csv.field_size_limit(2**31 - 1)  # some posts are > 128 KiB


class DataError(ValueError):
    """A data file is malformed; the message names the file and the line or column."""


@dataclass
class Example:
    text: str
    label: int


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_emotion_file(path: Path, labels: list[str]) -> list[Example]:
    """dair-ai Emotion: one `text;label` per line (the text itself never contains ';' at the end)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            text, sep, label = line.rpartition(";")
            if not sep or not text.strip():
                raise DataError(f"{path}:{n}: expected 'text;label'")
            if label not in labels:
                raise DataError(f"{path}:{n}: unknown label {label!r} (expected one of {', '.join(labels)})")
            out.append(Example(text, labels.index(label)))
    if not out:
        raise DataError(f"{path}: no examples")
    return out


def read_distress_csv(path: Path, split: str, labels: list[str]) -> list[Example]:
    """posts.csv with columns id, split, label, subreddit, text; rows of the given split."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"split", "label", "text"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for n, row in enumerate(reader, 2):
            if row["split"] != split:
                continue
            if row["label"] not in labels:
                raise DataError(f"{path}:{n}: unknown label {row['label']!r}")
            out.append(Example(row["text"] or "", labels.index(row["label"])))
    if not out:
        raise DataError(f"{path}: no rows for split {split!r}")
    return out


def emotion_path(data_dir: Path, split: str) -> Path:
    return Path(data_dir) / "emotion" / f"{split}.txt"


def distress_path(data_dir: Path) -> Path:
    return Path(data_dir) / "distress" / "posts.csv"


def lexicon_path(data_dir: Path) -> Path:
    return Path(data_dir) / "lexicons" / "warriner2013" / "Ratings_Warriner_et_al.csv"


def load_task(data_dir: Path, task: str, split: str, emotion_labels, distress_labels) -> list[Example]:
    if task == "emotion":
        return read_emotion_file(emotion_path(data_dir, split), list(emotion_labels))
    return read_distress_csv(distress_path(data_dir), split, list(distress_labels))


class Lexicon:
    """Warriner norms, rescaled to valence -1..1 and arousal 0..1; mean over a text's rated words."""

    _word = re.compile(r"[a-z]+(?:'[a-z]+)?")

    def __init__(self, path: Path) -> None:
        self.table: dict[str, tuple[float, float]] = {}
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):  # csv keeps "null", "nan" as words (unlike pandas' default)
                self.table[row["Word"].lower()] = rescale_warriner(
                    float(row["V.Mean.Sum"]), float(row["A.Mean.Sum"])
                )

    def mean(self, text: str) -> tuple[float, float]:
        hits = [self.table[w] for w in self._word.findall(text.lower()) if w in self.table]
        if not hits:
            return (math.nan, math.nan)
        return (sum(h[0] for h in hits) / len(hits), sum(h[1] for h in hits) / len(hits))


@dataclass
class Batch:
    task: str
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    lexicon: torch.Tensor | None


def pad_batch(seqs: list[list[int]], pad_id: int, width: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding to the longest sequence of the batch (or to `width`, if wider)."""
    width = max(width, max(len(s) for s in seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def length_aware_batches(
    lengths: list[int], batch_size: int, rng: random.Random, pool: int = 50
) -> list[list[int]]:
    """Shuffle, then sort inside pools of `pool` batches so batches hold similar lengths (less padding)."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    batches = []
    step = batch_size * pool
    for i in range(0, len(idx), step):
        chunk = sorted(idx[i : i + step], key=lambda j: lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def interleave(task_batches: dict[str, list], rng: random.Random) -> list[tuple[str, object]]:
    """Joint sampling: mix the tasks' batches evenly through the epoch (each task's order kept)."""
    keyed = []
    for task, batches in task_batches.items():
        n = len(batches)
        keyed += [((i + rng.random()) / max(n, 1), task, b) for i, b in enumerate(batches)]
    keyed.sort(key=lambda x: x[0])
    return [(t, b) for _, t, b in keyed]
