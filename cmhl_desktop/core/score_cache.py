"""The last complete scores of a document, kept in the data folder so that after a crash the app
can offer the last file with its scores instead of scoring it all again (Qt-free).

`<data dir>/scores/doc-<key>.jsonl` (the key as the review journal's: the document's path and sheet):
a header line with what the scores are valid for (the input's sha256, its text columns, the model's
sha256, the labels, when they were scored) and one line per row with the numbers and character
spans of its result. Never post text: a lexicon match keeps its construct and span, and its term is
read from the post again on loading. Written atomically (owner-only permissions); a file that does
not match the input or the model, or cannot be read, is ignored.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .results import PostResult
from .review_store import document_key, resolve_data_dir

FORMAT = "cmhl-scores 1"


@dataclass
class CachedRun:
    results: list[PostResult]
    started: str  # ISO time the results were scored
    scoring_seconds: float


def cache_path(data_dir, source: str | os.PathLike[str], sheet: str | None) -> Path:
    return resolve_data_dir(data_dir) / "scores" / f"doc-{document_key(source, sheet)}.jsonl"


def _num(x: float) -> float | None:
    return round(float(x), 6) if x is not None and math.isfinite(x) else None


def _f(x) -> float:
    return float(x) if x is not None else math.nan


def _row(r: PostResult, dl: Sequence[str], el: Sequence[str]) -> list:
    return [
        r.status,
        r.category,
        [_num(r.distress_probs.get(c, math.nan)) for c in dl] if r.distress_probs else None,
        _num(r.distress_score),
        [_num(r.segment_max.get(c, math.nan)) for c in dl] if r.segment_max else None,
        list(r.trigger_span) if r.trigger_span is not None else None,
        _num(r.trigger_score),
        [[c, a, b] for c, _t, a, b in r.lexicon_matches],
        r.read_end,
        r.emotion,
        [_num(r.emotion_probs.get(e, math.nan)) for e in el] if r.emotion_probs else None,
        _num(r.valence),
        _num(r.intensity),
        r.n_tokens,
    ]


def _result(v: list, dl: Sequence[str], el: Sequence[str], text: str) -> PostResult:
    status, cat, dp, ds, seg, span, ts, lex, read, emo, ep, val, inten, ntok = v
    return PostResult(
        status=str(status),
        category=str(cat),
        distress_probs=dict(zip(dl, map(_f, dp), strict=True)) if dp else {},
        distress_score=_f(ds),
        segment_max=dict(zip(dl, map(_f, seg), strict=True)) if seg else {},
        trigger_span=(int(span[0]), int(span[1])) if span else None,
        trigger_score=_f(ts),
        lexicon_matches=[(str(c), " ".join(text[a:b].lower().split()), int(a), int(b)) for c, a, b in lex],
        read_end=None if read is None else int(read),
        emotion=str(emo),
        emotion_probs=dict(zip(el, map(_f, ep), strict=True)) if ep else {},
        valence=_f(val),
        intensity=_f(inten),
        n_tokens=int(ntok),
    )


def _header(table, model_sha256: str, dl, el, started: str, seconds: float) -> dict:
    return {
        "format": FORMAT,
        "input_sha256": table.sha256,
        "text_columns": list(table.text_columns),
        "rows": len(table.rows),
        "model_sha256": model_sha256,
        "distress_labels": list(dl),
        "emotion_labels": list(el),
        "started": started,
        "scoring_seconds": seconds,
    }


def save(
    data_dir, table, results: Sequence[PostResult], model_sha256: str, dl, el, started: str, seconds: float
) -> Path:
    """Write the scores of every row (worker-safe: reads only). Raises OSError, ValueError (no data
    folder, not every row scored)."""
    if len(results) != len(table.rows) or any(r is None for r in results):
        raise ValueError("only a complete run is kept")
    path = cache_path(data_dir, table.source, table.sheet)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = json.dumps(_header(table, model_sha256, dl, el, started, seconds), ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(head + "\n")
            for r in results:
                f.write(json.dumps(_row(r, dl, el), separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(data_dir, table, texts: Sequence[str], model_sha256: str, dl, el) -> CachedRun | None:
    """The kept scores of `table` when they were made from this very input (sha256, text columns,
    rows) by this model with these labels; None otherwise (or when the file is unreadable)."""
    try:
        path = cache_path(data_dir, table.source, table.sheet)
        with open(path, encoding="utf-8") as f:
            head = json.loads(f.readline())
            want = _header(table, model_sha256, dl, el, "", 0.0)
            if any(head.get(k) != want[k] for k in want if k not in ("started", "scoring_seconds")):
                return None
            results = [_result(json.loads(line), dl, el, texts[i]) for i, line in enumerate(f)]
    except (OSError, ValueError, TypeError, IndexError, KeyError):
        return None
    if len(results) != len(texts):
        return None
    return CachedRun(results, str(head.get("started", "")), float(head.get("scoring_seconds") or 0.0))
