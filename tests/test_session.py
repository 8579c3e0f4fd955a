"""The scoring session (core/session.py) without Qt: counts, target recalls, review, explanation
targets, streaming order and the run record, on the tiny checkpoint."""

from __future__ import annotations

import copy
import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from cmhl_desktop.core.flags import FlagPolicy, PolicyError
from cmhl_desktop.core.loaded_model import LoadedModel
from cmhl_desktop.core.results import PostResult
from cmhl_desktop.core.session import ScoringSession, SessionError
from cmhl_desktop.core.tasks import Cancelled, TaskState
from cmhl_desktop.core.triage import Counts, concern_key

POSTS = [
    "I can't sleep and nothing feels worth it any more.",
    "",
    "Lovely walk by the river this morning.",
    "My chest gets tight before every meeting.",
    "Some weeks I barely sleep and start ten projects, then I crash.",
    "Thinking everyone would be better off without me.",
    "   ",
    "Recipe swap: my grandmother's lentil soup.",
] * 4


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    from cmhl_desktop.core.scoring import ScoringOptions

    return LoadedModel.from_checkpoint(tiny_checkpoint, ScoringOptions(chunk=5, max_batch=4))


def write_csv(path: Path, posts=POSTS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "post"])
        w.writerows([i, p] for i, p in enumerate(posts))
    return path


def recount(session: ScoringSession) -> Counts:
    c = Counts(rows=len(session.results))
    for r in session.results:
        if r is not None:
            c.add(r)
    return c


def same_counts(a: Counts, b: Counts) -> bool:
    strip = lambda d: {k: v for k, v in d.items() if v}  # noqa: E731
    return (a.rows, a.done, a.scored, a.empty, a.errors, a.truncated, a.flagged, a.reviewed) == (
        b.rows,
        b.done,
        b.scored,
        b.empty,
        b.errors,
        b.truncated,
        b.flagged,
        b.reviewed,
    ) and (strip(a.by_category), strip(a.flagged_by_rule)) == (strip(b.by_category), strip(b.flagged_by_rule))


def test_counts_follow_scores_flags_and_reviews(model, tmp_path):
    s = ScoringSession(model, data_dir=tmp_path / "data")
    s.open_texts(POSTS)
    assert s.needs_scoring and s.counts.rows == len(POSTS) and s.counts.done == 0
    s.score()
    assert s.complete() and same_counts(s.counts, recount(s))
    assert s.counts.empty == 8 and s.counts.scored == len(POSTS) - 8
    rule = s.policy.rule_names[0]
    for target in (0.5, 0.99, 0.7):
        n = s.set_target_recall(rule, target)
        assert n == sum(r.flagged for r in s.results) == s.counts.flagged
        assert same_counts(s.counts, recount(s))
    s.set_review(0, "confirmed", "note", "dr a")
    s.set_review(2, "needs follow-up")
    s.set_review(0, "unreviewed")
    assert s.counts.reviewed == 1 and same_counts(s.counts, recount(s))


def test_a_partial_run_counts_what_arrived(model):
    """A cancelled run: the counts (per rule too) are those of the rows scored so far."""
    s = ScoringSession(model)
    s.open_texts(POSTS)
    state = TaskState()
    gen = s.begin_scoring()
    with pytest.raises(Cancelled):
        for i, (start, chunk) in enumerate(s.iter_scores(state)):
            s.add_scores(start, chunk, gen)
            if i == 2:
                state.cancel()
    assert 0 < s.counts.done < len(POSTS) and not s.complete()
    assert same_counts(s.counts, recount(s))
    assert s.counts.flagged_by_rule == Counter(n for r in s.results if r is not None for n in r.flag_rules)
    with pytest.raises(SessionError, match="every post must be scored"):
        s.export("out.csv")


def test_chunks_are_flagged_at_the_thresholds_when_they_arrive(model):
    """A target recall moved while a chunk was being scored applies to it when it is stored; a chunk
    of an older run is dropped."""
    s = ScoringSession(model)
    s.open_texts(POSTS)
    gen = s.begin_scoring()
    chunks = list(s.iter_scores())
    as_scored = [r.flag_rules for _, chunk in chunks for r in chunk]
    rule = next(r.name for r in model.rules if r.kind == "class")  # suicidewatch
    s.set_target_recall(rule, 1.0)  # after scoring, before the chunks are stored: fires on every post
    for start, chunk in chunks:
        assert s.add_scores(start, chunk, gen)
    expected = copy.deepcopy(s.results)
    policy = FlagPolicy.from_checkpoint(model.ckpt)
    policy.set_target_recall(rule, 1.0)
    policy.reflag(expected)
    assert [r.flag_rules for r in s.results] == [r.flag_rules for r in expected]
    assert [r.flag_rules for r in s.results] != as_scored, "the moved threshold changed some flags"
    assert not s.add_scores(0, chunks[0][1], gen - 1)


def test_target_recalls_wait_for_the_model(model, tmp_path):
    """Targets set before a model is loaded (saved settings, a reopened export) apply when it comes."""
    s = ScoringSession(data_dir=tmp_path / "data")
    rule = model.rules[0].name
    s.set_target_recalls({rule: 0.8, "a_rule_of_another_model": 0.9})
    assert s.target_recall(rule) == 0.8
    with pytest.raises(SessionError):
        s.set_target_recalls(0.9)  # every rule: which rules is the model's to say
    s.set_model(model)
    assert s.target_recall(rule) == 0.8
    assert s.policy.threshold(rule) == model.rules[0].threshold_for(0.8)
    assert set(s.target_recalls()) == {r.name for r in model.rules}
    with pytest.raises(PolicyError):
        s.set_target_recall("nope", 0.9)


def test_reopened_export_brings_results_review_and_targets(model, tmp_path):
    src = write_csv(tmp_path / "posts.csv")
    rule = model.rules[-1].name
    s = ScoringSession(model, data_dir=tmp_path / "data", targets={rule: 0.7})
    s.open(src)
    s.score()
    s.set_review(3, "confirmed", "rang", "dr b")
    out = s.export(tmp_path / "out.xlsx")
    # reopened before any model is loaded (the window while its model loads): nothing is lost
    r = ScoringSession(data_dir=tmp_path / "data")
    r.open(out)
    assert not r.needs_scoring and r.complete() and r.target_recall(rule) == 0.7
    assert (r.results[3].review_status, r.results[3].review_note) == ("confirmed", "rang")
    assert [x.flagged for x in r.results] == [x.flagged for x in s.results]
    r.set_model(model)
    assert r.policy.threshold(rule) == model.ckpt.calibration.rule(rule).threshold_for(0.7)
    # continuing the review of the export is saved under the export's own key
    r.set_review(5, "not a concern")
    assert r.store.all()[r.keys[5]].status == "not a concern"
    # exported again without scoring: the record of the run that made these results, once each
    import openpyxl

    wb = openpyxl.load_workbook(r.export(tmp_path / "again.xlsx"), read_only=True)
    keys = [row[0] for row in wb["run"].iter_rows(values_only=True) if row and row[0]]
    run = {row[0]: row[1] for row in wb["run"].iter_rows(values_only=True) if row and len(row) > 1}
    wb.close()
    assert len(keys) == len(set(keys)), "no run-sheet row twice"
    assert run["input_name"] == "posts.csv" and run["precision"] == model.scorer.precision
    assert run["started"] == s.started and run["rows_scored"] == s.counts.scored


def test_reviews_are_saved_at_once_and_survive_a_rescore(model, tmp_path):
    s = ScoringSession(model, data_dir=tmp_path / "data")
    s.open_texts(POSTS)
    s.score()
    assert not s.set_review(0, "unreviewed", "", "only a name typed")  # nothing to store
    assert s.set_review(4, "needs follow-up", "call back", "dr c")
    assert not s.set_review(4, "needs follow-up", "call back", "dr c")
    assert s.store.all()[s.keys[4]].note == "call back"
    stored = s.store.path.read_text(encoding="utf-8")
    assert not any(p.strip() and p in stored for p in POSTS), "post text is never in the review file"
    with pytest.raises(ValueError, match="unknown review status"):
        s.set_review(4, "maybe")
    s.score()  # again: every review comes back as the rows arrive
    assert (s.results[4].review_status, s.results[4].reviewer) == ("needs follow-up", "dr c")
    again = ScoringSession(model, data_dir=tmp_path / "data")  # a new session (a crash and restart)
    again.open_texts(POSTS)
    again.score()
    assert again.results[4].review_note == "call back" and again.counts.reviewed == 1


def test_the_explained_class_is_the_policys_at_the_current_thresholds(model):
    s = ScoringSession(model)
    s.open_texts(POSTS)
    s.score()
    scored = [i for i, r in enumerate(s.results) if r.scored]
    for i in scored:
        assert s.explain_target(i) == ("distress", s.policy.explain_class(s.results[i])[0])
    sw = next(r for r in model.rules if r.kind == "class")
    s.set_target_recall(sw.name, 1.0)  # the class rule fires on every scored post
    assert all(s.explain_target(i) == ("distress", sw.cls) for i in scored)
    (e,) = s.explain([scored[0]])
    assert e.target_class == sw.cls and s.keep_words(scored[0], e)
    assert s.results[scored[0]].attribution_target == f"distress:{sw.cls}"
    (other,) = s.explain([scored[1]], classes=["control"])
    assert not s.keep_words(scored[1], other), "only the default target's words go to the export"


def test_concern_order_and_explain_rows(model):
    s = ScoringSession(model)
    s.open_texts(POSTS)
    s.score()
    order = s.concern_order()
    assert order == sorted(range(len(POSTS)), key=lambda i: concern_key(s.results[i], i))
    flagged = [i for i in order if s.results[i].flagged]
    assert order[: len(flagged)] == flagged, "flagged posts first"
    assert s.rows_to_explain("flagged") == flagged
    assert concern_key(PostResult(flagged=True, distress_score=0.2), 9) < concern_key(
        PostResult(flagged=False, distress_score=0.9), 0
    )


def test_run_record(model, tmp_path):
    s = ScoringSession(model, targets=0.8)
    s.open(write_csv(tmp_path / "in.csv"))
    s.score()
    assert s.explain_posts("flagged") == s.counts.flagged
    run = dict(s.run_info().to_rows())
    assert run["model_sha256"] == model.sha256 and run["input_name"] == "in.csv"
    assert (
        run["precision"] in ("fp32", "fp32-fused", "bf16", "bf16-fused") and int(run["read_limit_tokens"]) > 0
    )
    assert run["started"] and run["finished"] and float(run["scoring_seconds"]) >= 0
    every = s.counts.flagged == s.counts.scored  # then every scored post carries words
    assert run["explain_mode"] == ("all" if every else "flagged") and run["rows_flagged"] == s.counts.flagged
    for name in s.policy.rule_names:
        assert run[f"target_recall:{name}"] == 0.8
        assert run[f"threshold:{name}"] == s.policy.threshold(name)
        assert f"flag {name}" in run
    assert json.dumps(run)  # plain values only


def test_export_needs_an_input_and_refuses_to_overwrite_it(model, tmp_path):
    s = ScoringSession(model)
    with pytest.raises(SessionError):
        s.export(tmp_path / "x.xlsx")
    src = write_csv(tmp_path / "in.csv")
    s.open(src)
    s.score()
    from cmhl_desktop.core.export import ExportError

    with pytest.raises(ExportError, match="refusing to overwrite the input"):
        s.export(src)
