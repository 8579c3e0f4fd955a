"""The run record of a session (Qt-free): what produced its results, for the run sheet of an export
(`RunInfo`), and the early check that an export can be written. The session owns the record
(`ScoringSession.run_info`, docs/ARCHITECTURE.md "One owner per decision"); this module builds it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .export import HIGHLIGHT_ROWS, ExportError, RunInfo
from .results import PostResult

if TYPE_CHECKING:
    from .session import ScoringSession

OUTPUT_SUFFIXES = (".xlsx", ".csv", ".tsv")
# run-sheet rows that export_xlsx appends after the RunInfo's own (a reopened export's meta has them)
EXPORT_ROWS = (
    "input_sheet",
    "input_encoding",
    "input_header",
    "input_warnings",
    "text_column",
    "text_column_index",
    "text_columns",
    "original_columns",
    "id_column",
    *HIGHLIGHT_ROWS,
)


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def check_output(out_path: str | Path, input_path: str | Path | None = None) -> Path:
    """Fail early, before any scoring, when the output cannot be written. Raises ExportError."""
    out = Path(out_path)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ExportError(
            f"{out.name}: unsupported output type; name a {', '.join(OUTPUT_SUFFIXES)} file"
            " (or, for `cmhl score`, an existing folder or a path ending in /)"
        )
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; choose a file name")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {out.name}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {out.name}: no permission to write in {folder}")
    if out.exists() and not os.access(out, os.W_OK):
        raise ExportError(f"cannot write {out.name}: the file exists and is read-only")
    if input_path is not None:
        src = Path(input_path)
        if out.resolve() == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src)):
            raise ExportError(f"{out.name}: refusing to overwrite the input file; choose another name")
    return out


def words_coverage(results: Sequence[PostResult | None]) -> str:
    """Which posts carry IG word scores: "none", "all" (every scored post), "flagged" (every flagged
    post, not all the others) or "some" (the run sheet's explain_mode says exactly this; the
    highlight rows name them)."""
    scored = [r for r in results if r is not None and r.scored]
    with_words = sum(bool(r.words) for r in scored)
    if not with_words:
        return "none"
    if with_words == len(scored):
        return "all"
    return "flagged" if all(r.words for r in scored if r.flagged) else "some"


def run_info(session: ScoringSession) -> RunInfo:
    """What produced a session's results: the model, thresholds and target recalls in use, the input,
    the counts and the time. A reopened export that was not scored again keeps its own record (flag
    settings updated when the same model is loaded)."""
    table = session.table
    assert table is not None
    meta, model, policy = table.meta, session.model, session.policy
    if session.scoring_seconds is not None and model is not None:
        info = RunInfo(
            model_name=model.name,
            model_sha256=model.sha256,
            thresholds={},
            target_recalls={},
            input_name=meta.get("input_name") or table.source.name,
            input_sha256=meta.get("input_sha256") or table.sha256,
            extra={
                "precision": model.scorer.precision,
                "scoring_seconds": f"{session.scoring_seconds:.1f}",
                "read_limit_tokens": str(model.scorer.read_limit_tokens),
            },
        )
    else:
        info = RunInfo.from_meta(meta)
        for key in EXPORT_ROWS:  # written again by the export itself: never twice
            info.extra.pop(key, None)
    if policy is not None and model is not None and model.sha256 == info.model_sha256:
        info.thresholds, info.target_recalls = policy.thresholds, session.target_recalls()
        info.extra.update(policy.summary_lines())
    info.started = session.started
    info.finished = now_iso()
    info.explain_mode = words_coverage(session.results)
    c = session.counts
    info.rows_total, info.rows_scored, info.rows_empty = len(session.results), c.scored, c.empty
    info.rows_flagged, info.rows_errors, info.rows_no_content = c.flagged, c.errors, c.no_content
    return info
