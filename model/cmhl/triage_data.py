"""Distress training examples that look like triage input, with segment-level targets.

Sources (train splits only; see ../shared/data/README.md):
- the SWMH stand-in posts (`distress/posts.csv`);
- `stb/posts.csv` (RallyPoint forum comments, Low et al.): label 0 (everyday comments and negated
  crisis phrases) as `control`, label 1 (suicidal thoughts or behaviours) as `suicidewatch`;
- built each epoch from those: crisis comments inserted at a random sentence boundary of everyday
  text (`suicidewatch`), negated phrases inserted the same way (`control`), and one-to-three-sentence
  snippets of everyday text (`control`), so that short chatter and one crisis sentence inside an
  ordinary post are both seen in training;
- templated contrast examples (`cmhl.contrast_templates`): crisis wording stated, negated, resolved
  in the past, and death words as idioms.

Each example carries regions of its text with a segment target (see `cmhl.segments`):
- ``all``: every segment in the region has the class (a control post: no sentence is a crisis);
- ``bag``: at least one segment in the region has the class (multiple-instance learning: a
  r/SuicideWatch post, or an inserted crisis comment, says where the signal is but not which sentence).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from .contrast_templates import contrast_sentence
from .data import DataError, Example, distress_path, read_distress_csv
from .segments import sentence_spans

csv.field_size_limit(2**31 - 1)


@dataclass
class Region:
    start: int  # characters [start, end) of the example's text
    end: int
    kind: str  # "all" | "bag"
    cls: int  # distress class index


@dataclass
class TriageExample:
    text: str
    label: int  # post-level distress class
    regions: list[Region] = field(default_factory=list)
    source: str = ""
    must_read: tuple[int, int] | None = None  # characters a training crop must keep (an insert)


@dataclass
class StbRow:
    text: str
    label: int  # 1 = suicidal thoughts or behaviours
    source: str


def stb_path(data_dir: Path) -> Path:
    return Path(data_dir) / "stb" / "posts.csv"


def read_stb(path: Path, split: str) -> list[StbRow]:
    """stb/posts.csv (id, split, label, source, text): the rows of one split."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"split", "label", "source", "text"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for n, row in enumerate(reader, 2):
            if row["split"] != split:
                continue
            if row["label"] not in ("0", "1"):
                raise DataError(f"{path}:{n}: label must be 0 or 1")
            out.append(StbRow(row["text"] or "", int(row["label"]), row["source"]))
    if not out:
        raise DataError(f"{path}: no rows for split {split!r}")
    return out


def whole(text: str, label: int, kind: str, source: str) -> TriageExample:
    return TriageExample(text, label, [Region(0, len(text), kind, label)], source)


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


class TriageSampler:
    """The fixed examples and a per-epoch draw of the built ones (seeded: the same seed, the same draw).

    labels: the checkpoint's distress labels (must include control and suicidewatch).
    stb_crisis_repeat: how many times each stb label-1 comment is in an epoch.
    n_contrast: templated contrast examples per epoch (`cmhl.contrast_templates`): crisis wording
        stated (suicidewatch), negated, resolved in the past, or death words as idioms (control);
        half alone, half inside everyday text.
    hard_negative_share, hard_negative_repeat: the stb label-0 comments that the starting model
        scores most like suicidewatch (this share of them, ranked by `mine_hard_negatives`) are in
        an epoch this many extra times (hard-negative mining on the train split).
    stb_negative_repeat: how many times each stb label-0 comment is in an epoch.
    posts_per_epoch: > 0: a fresh random sample of this many subreddit posts each epoch (rehearsal of
        the five classes at a fraction of the cost: the posts are long), 0 = all of them.
    """

    def __init__(
        self,
        data_dir: Path,
        labels: list[str],
        n_inserts: int = 1200,
        n_negated_inserts: int = 300,
        n_snippets: int = 800,
        max_insert_chars: int = 400,
        stb_crisis_repeat: int = 1,
        n_contrast: int = 0,
        hard_negative_share: float = 0.0,
        hard_negative_repeat: int = 0,
        stb_negative_repeat: int = 1,
        posts_per_epoch: int = 0,
    ) -> None:
        if "control" not in labels or "suicidewatch" not in labels:
            raise DataError("triage training needs the control and suicidewatch classes")
        self.control = labels.index("control")
        self.sw = labels.index("suicidewatch")
        self.n_inserts, self.n_negated, self.n_snippets = n_inserts, n_negated_inserts, n_snippets
        self.n_contrast = n_contrast
        self.hard_share, self.hard_repeat = hard_negative_share, hard_negative_repeat
        self.hard: list[TriageExample] = []
        posts = read_distress_csv(distress_path(data_dir), "train", labels)
        stb = read_stb(stb_path(data_dir), "train")
        self.stb_negatives = [r.text for r in stb if not r.label]
        self.posts_per_epoch = posts_per_epoch
        self.posts = [
            whole(e.text, e.label, "all" if e.label == self.control else "bag", "distress") for e in posts
        ]
        self.fixed: list[TriageExample] = []
        for r in stb:
            if r.label:  # rare (11% of stb train): repeated so short crisis comments are seen often
                self.fixed += [whole(r.text, self.sw, "bag", "stb") for _ in range(stb_crisis_repeat)]
            else:
                self.fixed += [whole(r.text, self.control, "all", "stb") for _ in range(stb_negative_repeat)]
        # Pools for the built examples: everyday donor posts (as sentence lists), crisis and
        # negated comments short enough to be one passage of a post.
        everyday = [r.text for r in stb if not r.label and not r.source.endswith("_negated")]
        everyday += [e.text for e in posts if e.label == self.control]
        self.donors = [s for s in (_sentences(t) for t in everyday) if s]
        self.crisis = [r.text.strip() for r in stb if r.label and len(r.text.strip()) <= max_insert_chars]
        self.negated = [
            r.text.strip()
            for r in stb
            if not r.label and r.source.endswith("_negated") and len(r.text.strip()) <= max_insert_chars
        ]
        if not self.donors or not self.crisis:
            raise DataError("triage training: no everyday donors or crisis comments in the train split")

    def epoch(self, rng: random.Random) -> list[TriageExample]:
        """The subreddit posts (or this epoch's sample of them), the stb comments and this epoch's
        built examples."""
        posts = self.posts
        if 0 < self.posts_per_epoch < len(posts):
            posts = rng.sample(posts, self.posts_per_epoch)
        built = [self._insert(rng, rng.choice(self.crisis), self.sw, "bag") for _ in range(self.n_inserts)]
        if self.negated:
            built += [
                self._insert(rng, rng.choice(self.negated), self.control, "all")
                for _ in range(self.n_negated)
            ]
        built += [self._snippet(rng) for _ in range(self.n_snippets)]
        built += [self._contrast(rng) for _ in range(self.n_contrast)]
        return posts + self.fixed + self.hard + built

    def mine_hard_negatives(self, score) -> int:
        """Rank the stb label-0 train comments by `score(texts) -> (N,) crisis scores` of the starting
        model and keep the top `hard_negative_share` for extra repeats; returns how many."""
        if not (self.hard_share and self.hard_repeat and self.stb_negatives):
            return 0
        sc = list(score(self.stb_negatives))
        k = int(round(self.hard_share * len(sc)))
        top = sorted(range(len(sc)), key=lambda i: -sc[i])[:k]
        self.hard = [
            whole(self.stb_negatives[i], self.control, "all", "stb_hard")
            for i in top
            for _ in range(self.hard_repeat)
        ]
        return k

    def _contrast(self, rng: random.Random) -> TriageExample:
        kind = rng.choices(("stated", "negated", "past", "idiom"), weights=(3, 3, 2, 2))[0]
        text = contrast_sentence(kind, rng)
        cls, region = (self.sw, "bag") if kind == "stated" else (self.control, "all")
        if rng.random() < 0.5:
            return whole(text, cls, region, f"contrast_{kind}")
        ex = self._insert(rng, text, cls, region)
        ex.source = f"contrast_{kind}"
        return ex

    def _context(self, rng: random.Random, n: int) -> list[str]:
        """n consecutive everyday sentences, from as few donor posts as possible."""
        out: list[str] = []
        while len(out) < n:
            d = rng.choice(self.donors)
            i = rng.randrange(len(d))
            out += d[i : i + n - len(out)]
        return out

    def _insert(self, rng: random.Random, passage: str, cls: int, kind: str) -> TriageExample:
        n = rng.choice((1, 1, 2, 3, 4, 6, 8, 12, 16, 24))
        ctx = self._context(rng, n)
        at = rng.randint(0, len(ctx))
        sep = "\n" if rng.random() < 0.15 else " "
        parts = ctx[:at] + [passage] + ctx[at:]
        text, regions, pos, must = "", [], 0, None
        for k, p in enumerate(parts):
            if k:
                text += sep
                pos += len(sep)
            is_insert = k == at
            regions.append(
                Region(pos, pos + len(p), kind if is_insert else "all", cls if is_insert else self.control)
            )
            if is_insert:
                must = (pos, pos + len(p))
            text += p
            pos += len(p)
        label = cls if kind == "bag" else self.control
        return TriageExample(text, label, regions, "insert", must)

    def _snippet(self, rng: random.Random) -> TriageExample:
        text = " ".join(self._context(rng, rng.choice((1, 1, 1, 2, 3))))
        return whole(text, self.control, "all", "snippet")


def as_examples(examples: list[TriageExample]) -> list[Example]:
    """Post-level view (text, label) of triage examples, for validation and calibration."""
    return [Example(e.text, e.label) for e in examples]
