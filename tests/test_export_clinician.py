"""What the export tells a clinician (issue 14 points 2, 4, 7, 8; issue 11): the scope line and the
highlight record on the run sheet, the triggering sentence in rich text on every flagged row, the
review time, numbers kept as numbers, the concern order; and the core parts of the window's faults
(small first scoring chunk, kept scores for crash recovery)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock

from cmhl_desktop.core.export import SCOPE, RunInfo, export_csv, export_xlsx
from cmhl_desktop.core.readers import read_input
from cmhl_desktop.core.results import HIGHLIGHT_SENTENCE, HIGHLIGHT_WORDS, PostResult, WordScore

DL = ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
EL = ["sadness", "joy", "love", "anger", "fear", "surprise"]
CRISIS = "I have a plan to end my life this weekend."
TEXTS = [
    "We went shopping. " + CRISIS + " The dog was happy.",
    "Lovely walk by the river this morning.",
    "I can't sleep and nothing feels worth it.",
    "Recipe swap: lentil soup.",
]


def write_input(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "score", "zip", "text"])
        for i, t in enumerate(TEXTS):
            w.writerow([i + 1, f"{i + 0.5}", "00123", t])
    return path


def results() -> list[PostResult]:
    out = []
    for i, t in enumerate(TEXTS):
        r = PostResult(
            category="depression",
            distress_probs={c: 0.2 for c in DL},
            distress_score=[0.4, 0.1, 0.9, 0.05][i],
            emotion="sadness",
            emotion_probs={e: 1 / 6 for e in EL},
            valence=-0.2,
            intensity=0.5,
        )
        if i == 0:  # flagged by one sentence: the cheap highlight from scoring
            a = t.index(CRISIS)
            r.flagged, r.flag_rules, r.segment_rules = True, ["suicidewatch"], ["suicidewatch"]
            r.trigger_span, r.trigger_score = (a, a + len(CRISIS)), 0.93
            r.review_status, r.reviewer, r.review_time = "urgent", "AB", time.time()
        if i == 2:  # flagged as a whole, with IG words computed on request
            r.flagged, r.flag_rules = True, ["any_distress"]
            r.trigger_span, r.trigger_score = (0, len(t)), 0.2
            r.words = [WordScore(t.index("sleep"), t.index("sleep") + 5, "sleep", 0.8)]
            r.attribution_target = "distress:depression"
        out.append(r)
    return out


def info(table) -> RunInfo:
    return RunInfo(
        model_name="tiny",
        model_sha256="ab" * 32,
        thresholds={"any_distress": 0.4, "suicidewatch": 0.2},
        target_recalls={"any_distress": 0.95, "suicidewatch": 0.9},
        input_name=table.source.name,
        input_sha256=table.sha256,
        started="2026-01-01T10:00:00",
        finished="2026-01-01T10:00:05",
        explain_mode="flagged",
    )


@pytest.fixture
def exported(tmp_path):
    table = read_input(write_input(tmp_path), column="text")
    res = results()
    out = export_xlsx(table, res, tmp_path / "out.xlsx", info(table).set_counts(res), DL, EL)
    return table, res, out


def header_map(ws) -> dict[str, int]:
    return {c.value: i for i, c in enumerate(next(ws.iter_rows(max_row=1)))}


def test_run_sheet_has_the_scope_and_which_rows_carry_which_highlight(exported):
    _t, _r, out = exported
    run = {row[0]: row[1] for row in openpyxl.load_workbook(out)["run"].iter_rows(values_only=True)}
    assert run["scope"] == SCOPE and "not a diagnosis" in SCOPE
    assert run["highlight_sentence_rows"] == "2 rows: 1, 3"
    assert run["highlight_words_rows"] == "1 row: 3"
    assert "underlined" in run["highlight_legend"]
    assert (
        "input rows" in run["highlight_legend"] and "not the sheet's row numbers" in run["highlight_legend"]
    )


def test_flagged_rows_carry_the_sentence_in_rich_text_and_the_review_time(exported):
    _t, res, out = exported
    ws = openpyxl.load_workbook(out, rich_text=True)["results"]
    h = header_map(ws)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    kinds = [r[h["cmhl_highlight"]] or "" for r in rows]
    assert kinds[0] == HIGHLIGHT_SENTENCE and not kinds[1] and not kinds[3]
    assert HIGHLIGHT_SENTENCE in kinds[2] and HIGHLIGHT_WORDS in kinds[2]
    assert rows[0][h["cmhl_trigger_text"]] == CRISIS
    assert rows[0][h["cmhl_trigger_start"]] == TEXTS[0].index(CRISIS)
    cell = rows[0][h["text"]]
    assert isinstance(cell, CellRichText)
    underlined = "".join(b.text for b in cell if isinstance(b, TextBlock) and b.font.u)
    assert underlined == CRISIS
    assert rows[0][h["review_status"]] == "urgent" and rows[0][h["reviewer"]] == "AB"
    assert rows[0][h["review_time"]], "the review time is exported"
    assert not rows[1][h["review_time"]]


def test_original_numbers_stay_numbers(exported):
    _t, _r, out = exported
    ws = openpyxl.load_workbook(out)["results"]
    h = header_map(ws)
    first = next(ws.iter_rows(min_row=2, values_only=True))
    assert first[h["id"]] == 1 and isinstance(first[h["id"]], int)
    assert first[h["score"]] == 0.5 and isinstance(first[h["score"]], float)
    assert first[h["zip"]] == "00123", "a leading zero keeps the cell text"


def test_csv_export_has_the_trigger_and_review_time(tmp_path):
    table = read_input(write_input(tmp_path), column="text")
    res = results()
    out = export_csv(table, res, tmp_path / "out.csv", info(table).set_counts(res), DL, EL)
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["cmhl_trigger_text"] == CRISIS and rows[0]["review_time"]


def test_the_first_scoring_chunk_is_small(tiny_checkpoint):
    """The table fills within a moment of starting, not after a whole large chunk."""
    from cmhl_desktop.core.scoring import FIRST_CHUNK, Scorer, ScoringOptions

    scorer = Scorer(tiny_checkpoint, ScoringOptions(chunk=256, bf16=False))
    sizes = [len(chunk) for _start, chunk in scorer.iter_score(["a short post about the weather"] * 300)]
    assert sizes[0] <= FIRST_CHUNK < 256 and sum(sizes) == 300


def test_scores_are_kept_for_crash_recovery(tiny_checkpoint, tmp_path):
    from cmhl_desktop.core.loaded_model import LoadedModel
    from cmhl_desktop.core.session import ScoringSession

    model = LoadedModel.from_checkpoint(tiny_checkpoint)
    path = write_input(tmp_path)
    s = ScoringSession(model, data_dir=tmp_path / "data")
    s.open(path, column="text")
    s.score()
    s.set_review(1, "confirmed", "ok", "AB")
    kept = s.save_scores()
    assert kept is not None and kept.is_file()
    assert not any(t in kept.read_bytes().decode("utf-8", "replace") for t in TEXTS), "no post text"
    before = [(r.category, r.flagged, round(r.distress_score, 4)) for r in s.results]
    s.close()

    again = ScoringSession(model, data_dir=tmp_path / "data")
    again.open(path, column="text")
    model.scorer.iter_score = None  # scoring again would fail
    try:
        assert again.restore_scores()
    finally:
        del model.scorer.iter_score
    assert [(r.category, r.flagged, round(r.distress_score, 4)) for r in again.results] == before
    assert again.results[1].review_status == "confirmed"


def test_words_for_the_post_on_screen_only_are_recorded_as_some(tiny_checkpoint, tmp_path):
    """IG computed for one post (on screen, on request): the run sheet says "some" and names it."""
    from cmhl_desktop.core.loaded_model import LoadedModel
    from cmhl_desktop.core.session import ScoringSession

    s = ScoringSession(LoadedModel.from_checkpoint(tiny_checkpoint), data_dir=tmp_path / "data", targets=0.99)
    s.open(write_input(tmp_path), column="text")
    s.score()
    flagged = [i for i, r in enumerate(s.results) if r.flagged]
    if len(flagged) < 2:
        pytest.skip("the random model flags fewer than two posts here")
    row = flagged[1]
    (expl,) = s.explain([row])
    assert s.keep_words(row, expl)
    out = s.export(tmp_path / "out.xlsx")
    run = {r[0]: r[1] for r in openpyxl.load_workbook(out)["run"].iter_rows(values_only=True)}
    assert run["explain_mode"] == "some"
    assert run["highlight_words_rows"] == f"1 row: {row + 1}"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_reopen_keeps_which_rule_fired_through_one_sentence(tmp_path, fmt):
    """A post flagged by both rules, suicidewatch through one sentence: the reason cell names the
    crisis rule first, the rule cell lists rules in policy order; a reopen gives the "one sentence"
    back to suicidewatch, not to any_distress (found by the new-user test: the reopened window said
    "any distress: one sentence reads as distress")."""
    table = read_input(write_input(tmp_path), column="text")
    res = results()
    res[0].flag_rules, res[0].segment_rules = ["any_distress", "suicidewatch"], ["suicidewatch"]
    write = export_xlsx if fmt == "xlsx" else export_csv
    out = write(table, res, tmp_path / f"out.{fmt}", info(table).set_counts(res), DL, EL)
    back = read_input(out).results
    assert back[0].flag_rules == ["any_distress", "suicidewatch"]
    assert back[0].segment_rules == ["suicidewatch"]
    assert back[2].segment_rules == []


def test_reopened_csv_finds_the_single_scored_column_by_its_trigger_offsets(tmp_path):
    """Found by a new-user test: a csv scored on `body` alone (posts not explained) records its text
    column nowhere; the reopen guessed title + body and put the underline in the wrong place. The
    stored trigger characters at their offsets now tell which column was read."""
    path = tmp_path / "in.csv"
    bodies = [f"Long day at work number {i}. {CRISIS} The cat slept." for i in range(3)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "body"])
        w.writerows([i, f"A title about week {i}", b] for i, b in enumerate(bodies))
    table = read_input(path, column="body")
    res = []
    for b in bodies:
        a = b.index(CRISIS)
        res.append(
            PostResult(
                category="suicidewatch",
                distress_probs={c: 0.2 for c in DL},
                distress_score=0.9,
                emotion_probs={e: 1 / 6 for e in EL},
                flagged=True,
                flag_rules=["suicidewatch"],
                segment_rules=["suicidewatch"],
                trigger_span=(a, a + len(CRISIS)),
                trigger_score=0.9,
            )
        )
    out = export_csv(table, res, tmp_path / "out.csv", info(table).set_counts(res), DL, EL)
    back = read_input(out)
    assert back.kind == "scored" and back.text_columns == [2]
    assert back.texts() == bodies
    s, e = back.results[1].trigger_span
    assert back.texts()[1][s:e] == CRISIS
