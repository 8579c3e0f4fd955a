"""score_file and `cmhl score` end to end on small files made here, with the tiny checkpoint."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import openpyxl
import pytest

from cmhl_desktop.cli import main
from cmhl_desktop.core import pipeline
from cmhl_desktop.core.export import ExportError
from cmhl_desktop.core.pipeline import RunSummary, score_file
from cmhl_desktop.core.readers import InputError, read_input
from cmhl_desktop.core.scoring import Scorer
from cmhl_desktop.core.tasks import Cancelled, TaskState

POSTS = [
    "I have not slept properly in weeks and everything feels heavy",
    "",
    "   ",
    "=SUM(A1:A3) looks like a formula",
    "Great hike with friends this weekend, the weather was perfect",
    "I keep worrying that something bad will happen to my family",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_csv(path: Path, posts=POSTS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "post", "source"])
        for i, p in enumerate(posts):
            w.writerow([i + 1, p, f"forum-{i % 2}"])
    return path


def write_xlsx(path: Path, posts=POSTS) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "posts"
    ws.append(["id", "post", "when"])
    for i, p in enumerate(posts):
        ws.append([i + 1, p or None, f"2024-01-0{i % 9 + 1}"])
        if p.startswith("="):
            ws.cell(row=i + 2, column=2).data_type = "s"  # text, not a formula
    wb.create_sheet("other").append(["nothing", "here"])
    wb.save(path)
    return path


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith(".")]


# --------------------------------------------------------------------------- score_file


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_score_file_every_row_in_order(tmp_path, tiny_checkpoint_dir, no_network, suffix):
    src = write_csv(tmp_path / "posts.csv")
    before = sha(src)
    out = tmp_path / f"scored{suffix}"
    s = score_file(src, out, model_dir=tiny_checkpoint_dir, column="post")
    assert isinstance(s, RunSummary)
    assert sha(src) == before  # the input is never modified
    assert (s.rows, s.empty, s.errors, s.scored) == (6, 2, 0, 4)
    assert sum(s.by_category.values()) == 4 and s.posts_per_second > 0 and s.seconds >= s.scoring_seconds
    assert s.output == str(out) and out.is_file() and no_leftovers(tmp_path)
    back = read_input(out)  # our own export reopens with its results
    assert back.kind == "scored"
    assert back.columns == ["id", "post", "source"]
    assert [str(r[0]) for r in back.rows] == [str(i + 1) for i in range(6)]
    assert back.texts()[3] == POSTS[3]  # formula-looking text comes back as text
    assert [r.status for r in back.results] == ["ok", "empty", "empty", "ok", "ok", "ok"]
    assert sum(r.flagged for r in back.results) == s.flagged


def test_score_file_xlsx_sheet_and_run_sheet(tmp_path, tiny_checkpoint_dir, no_network):
    src = write_xlsx(tmp_path / "in.xlsx")
    before = sha(src)
    out = tmp_path / "out.xlsx"
    s = score_file(src, out, model_dir=tiny_checkpoint_dir, sheet="posts", target_recall=0.8)
    assert sha(src) == before
    assert s.rows == 6 and s.target_recalls == {"any_distress": 0.8, "suicidewatch": 0.8}
    wb = openpyxl.load_workbook(out, read_only=True)
    run = {r[0]: r[1] for r in wb["run"].iter_rows(values_only=True) if r and r[0]}
    assert run["rows_total"] == 6 and run["input_sha256"] == before
    assert float(run["target_recall:any_distress"]) == 0.8
    assert run["precision"] in ("fp32", "fp32-fused", "bf16", "bf16-fused")
    assert "flag any_distress" in run
    wb.close()


def test_target_recall_per_rule_moves_thresholds(tmp_path, tiny_checkpoint_dir, tiny_checkpoint):
    src = write_csv(tmp_path / "posts.csv")
    s = score_file(
        src, tmp_path / "o.csv", model_dir=tiny_checkpoint_dir, target_recall={"suicidewatch": 0.5}
    )
    rule = tiny_checkpoint.calibration.rule("suicidewatch")
    assert s.thresholds["suicidewatch"] == rule.threshold_for(0.5)
    assert s.thresholds["any_distress"] == tiny_checkpoint.calibration.rule("any_distress").threshold


def test_cancel_while_scoring_leaves_no_output(tmp_path, tiny_checkpoint_dir):
    src = write_csv(tmp_path / "posts.csv", POSTS * 20)
    out = tmp_path / "out.xlsx"
    state = TaskState()
    state._on_progress = lambda done, total: state.cancel() if done > 0 else None
    with pytest.raises(Cancelled):
        score_file(src, out, model_dir=tiny_checkpoint_dir, state=state, options=_small_chunks())
    assert not out.exists() and no_leftovers(tmp_path)


def _small_chunks():
    from cmhl_desktop.core.scoring import ScoringOptions

    return ScoringOptions(chunk=10, max_batch=4)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_cancel_during_export_keeps_an_existing_file(tmp_path, tiny_checkpoint_dir, suffix):
    src = write_csv(tmp_path / "posts.csv", POSTS * 100)
    out = tmp_path / f"out{suffix}"
    out.write_bytes(b"previous export")
    state = TaskState()

    def on_phase(name, total):
        if name == "export":
            state._on_progress = lambda done, total: state.cancel()

    with pytest.raises(Cancelled):
        score_file(src, out, model_dir=tiny_checkpoint_dir, state=state, on_phase=on_phase)
    assert out.read_bytes() == b"previous export" and no_leftovers(tmp_path)


def test_nothing_is_written_before_scoring_is_done(tmp_path, tiny_checkpoint_dir, monkeypatch):
    src = write_csv(tmp_path / "posts.csv")
    out = tmp_path / "out.xlsx"
    real = Scorer.iter_score

    def spy(self, *a, **k):
        assert list(tmp_path.iterdir()) == [src]  # nothing created yet
        yield from real(self, *a, **k)

    monkeypatch.setattr(Scorer, "iter_score", spy)
    score_file(src, out, model_dir=tiny_checkpoint_dir)
    assert out.is_file()


def test_explain_flagged(tmp_path, tiny_checkpoint_dir):
    src = write_csv(tmp_path / "posts.csv")
    out = tmp_path / "out.xlsx"
    s = score_file(src, out, model_dir=tiny_checkpoint_dir, explain="flagged", target_recall=1.0)
    assert s.explained == s.flagged > 0
    back = read_input(out)
    explained = [r for r in back.results if r.attribution_target]
    assert len(explained) == s.flagged
    for r in explained:  # the flagged class under the moved thresholds: a fired class rule names it
        if "suicidewatch" in r.flag_rules:
            assert r.attribution_target == "distress:suicidewatch"
        else:
            assert r.attribution_target != "distress:control"
    assert any("suicidewatch" in r.flag_rules for r in explained)
    for r, text in zip(back.results, back.texts(), strict=True):
        if r.words:
            assert all(text[w.start : w.end] == w.word for w in r.words)


def test_user_mistakes_fail_before_scoring(tmp_path, tiny_checkpoint_dir, monkeypatch):
    src = write_csv(tmp_path / "posts.csv")
    monkeypatch.setattr(Scorer, "iter_score", lambda *a, **k: pytest.fail("scoring started"))
    with pytest.raises(InputError, match="no column 'nope'"):
        score_file(src, tmp_path / "o.xlsx", model_dir=tiny_checkpoint_dir, column="nope")
    with pytest.raises(ExportError, match="does not exist"):
        score_file(src, tmp_path / "missing" / "o.xlsx", model_dir=tiny_checkpoint_dir)
    with pytest.raises(ExportError, match="unsupported output type"):
        score_file(src, tmp_path / "o.pdf", model_dir=tiny_checkpoint_dir)
    with pytest.raises(ExportError, match="refusing to overwrite the input"):
        score_file(src, src, model_dir=tiny_checkpoint_dir)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError):
        score_file(src, tmp_path / "afile" / "o.xlsx", model_dir=tiny_checkpoint_dir)
    with pytest.raises(ValueError, match="explain"):
        pipeline.score_file(src, tmp_path / "o.xlsx", model_dir=tiny_checkpoint_dir, explain="some")


# --------------------------------------------------------------------------- cmhl score


def test_cli_csv_end_to_end(tmp_path, tiny_checkpoint_dir, no_network, capsys):
    src = write_csv(tmp_path / "posts.csv")
    before = sha(src)
    out = tmp_path / "out.xlsx"
    rc = main(["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir), "--column", "post"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert out.is_file() and sha(src) == before
    line = cap.out.strip().splitlines()[-1]
    assert line.startswith("posts.csv: 6 rows (2 empty)") and "flagged" in line and "posts/s" in line
    for text in POSTS:  # post text is never printed
        if text.strip():
            assert text not in cap.out and text not in cap.err


def test_cli_xlsx_json(tmp_path, tiny_checkpoint_dir, no_network, capsys):
    src = write_xlsx(tmp_path / "in.xlsx")
    out = tmp_path / "out.csv"
    args = ["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir), "--sheet", "posts"]
    rc = main(args + ["--json", "--target-recall", "any_distress=0.7", "--no-bf16", "--batch-size", "2"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    d = json.loads(cap.out)
    assert d["rows"] == 6 and d["empty"] == 2 and d["precision"] in ("fp32", "fp32-fused")
    assert d["target_recalls"]["any_distress"] == 0.7
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 7 and rows[0][:3] == ["id", "post", "when"]


def test_cli_several_inputs_into_a_folder(tmp_path, tiny_checkpoint_dir, capsys):
    a = write_csv(tmp_path / "a.csv")
    b = write_xlsx(tmp_path / "b.xlsx")
    out_dir = tmp_path / "scored"
    rc = main(["score", str(a), str(b), "-o", str(out_dir), "--model", str(tiny_checkpoint_dir)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.scored.xlsx", "b.scored.xlsx"]
    assert len(cap.out.strip().splitlines()) == 2


def test_cli_single_input_into_an_existing_folder(tmp_path, tiny_checkpoint_dir, capsys):
    a = write_csv(tmp_path / "a.csv")
    (tmp_path / "outdir").mkdir()
    assert main(["score", str(a), "-o", str(tmp_path / "outdir"), "--model", str(tiny_checkpoint_dir)]) == 0
    assert (tmp_path / "outdir" / "a.scored.xlsx").is_file()


def _one_error_line(cap) -> str:
    lines = [ln for ln in cap.err.strip().splitlines() if ln.strip()]
    assert "Traceback" not in cap.err
    err = [ln for ln in lines if ln.startswith("error:")]
    assert len(err) == 1, cap.err
    return err[0]


def test_cli_missing_column_is_one_clear_error(tmp_path, tiny_checkpoint_dir, capsys):
    src = write_csv(tmp_path / "posts.csv")
    out = tmp_path / "out.xlsx"
    rc = main(["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir), "--column", "body"])
    err = _one_error_line(capsys.readouterr())
    assert rc == 2 and "no column 'body'" in err and "'post'" in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["h.csv", "h.xlsx"])
def test_cli_header_only_input_is_one_clear_error(tmp_path, tiny_checkpoint_dir, capsys, name):
    """A file with a header row and no rows: an error naming the fix, not a traceback from export."""
    src = tmp_path / name
    if name.endswith(".csv"):
        src.write_text("id,text\n", encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        wb.active.append(["id", "text"])
        wb.save(src)
    out = tmp_path / "out.xlsx"
    rc = main(["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir)])
    err = _one_error_line(capsys.readouterr())
    assert rc == 2 and "no posts to score" in err and "--no-header" in err
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing-folder", "file-as-folder", "bad-suffix"])
def test_cli_unwritable_output_is_one_clear_error(tmp_path, tiny_checkpoint_dir, capsys, where):
    src = write_csv(tmp_path / "posts.csv")
    (tmp_path / "afile").write_text("x")
    out = {
        "missing-folder": tmp_path / "no" / "such" / "out.xlsx",
        "file-as-folder": tmp_path / "afile" / "out.xlsx",
        "bad-suffix": tmp_path / "out.docx",
    }[where]
    rc = main(["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir)])
    err = _one_error_line(capsys.readouterr())
    assert rc == 2 and "out" in err


def test_cli_read_only_folder(tmp_path, tiny_checkpoint_dir, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write into read-only folders")
    src = write_csv(tmp_path / "posts.csv")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rc = main(["score", str(src), "-o", str(ro / "o.xlsx"), "--model", str(tiny_checkpoint_dir)])
    finally:
        ro.chmod(0o700)
    assert rc == 2 and "permission" in _one_error_line(capsys.readouterr())


def test_cli_bad_arguments(tmp_path, tiny_checkpoint_dir, capsys):
    src = write_csv(tmp_path / "posts.csv")
    model = ["--model", str(tiny_checkpoint_dir)]
    assert (
        main(["score", str(src), "-o", str(tmp_path / "o.xlsx"), *model, "--target-recall", "nope=0.9"]) == 2
    )
    assert "no flag rule 'nope'" in _one_error_line(capsys.readouterr())
    assert main(["score", str(src), str(src), "-o", str(tmp_path / "o.xlsx"), *model]) == 2
    assert "folder" in _one_error_line(capsys.readouterr())
    assert main(["score", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "o.xlsx"), *model]) == 2
    assert "absent.csv" in _one_error_line(capsys.readouterr())
    with pytest.raises(SystemExit) as e:
        main(["score", str(src), "-o", str(tmp_path / "o.xlsx"), "--target-recall", "1.5"])
    assert e.value.code == 2
    assert not (tmp_path / "o.xlsx").exists()


def test_cli_ctrl_c_leaves_no_partial_file(tmp_path, tiny_checkpoint_dir, capsys, monkeypatch):
    src = write_csv(tmp_path / "posts.csv")
    out = tmp_path / "out.xlsx"
    real = Scorer.iter_score

    def interrupted(self, texts, state=None, policy=None):
        for i, chunk in enumerate(real(self, texts, state, policy)):
            yield chunk
            if i == 0:
                raise KeyboardInterrupt

    monkeypatch.setattr(Scorer, "iter_score", interrupted)
    rc = main(["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir)])
    assert rc == 130 and "cancelled" in capsys.readouterr().err
    assert not out.exists() and no_leftovers(tmp_path)
