"""The same input through `cmhl score` and through the window gives the same export, cell by cell,
run sheet included (except the times): both front ends drive the one scoring session."""

from __future__ import annotations

import json
import math

import openpyxl
import pytest
from conftest import POSTS, open_and_score, write_posts

from cmhl_desktop.cli import main

pytestmark = pytest.mark.gui

TIMES = {"started", "finished", "scoring_seconds"}  # differ between two runs by nature
# Attributions of a post come from batches of different sizes in the two front ends (the window
# explains the post on screen alone): their sums may differ in the last float bits, which can move
# a score's 4th decimal. Word spans and the explained class must match exactly.
SCORE_TOL = 2e-4


def sheet(path, name: str) -> list[list[object]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [list(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


def same_attribution(a: object, b: object) -> bool:
    if not a or not b:
        return a == b
    da, db = json.loads(a), json.loads(b)
    sa, sb = da.pop("spans"), db.pop("spans")
    return (
        da == db
        and [s[:2] for s in sa] == [s[:2] for s in sb]
        and all(
            math.isclose(x[2] or 0.0, y[2] or 0.0, abs_tol=SCORE_TOL) for x, y in zip(sa, sb, strict=True)
        )
    )


def test_cli_and_window_exports_are_the_same(qtbot, make_window, tmp_path, tiny_checkpoint_dir, settings):
    src = write_posts(tmp_path / "posts.csv", posts=POSTS + [p.upper() for p in POSTS if p])
    rule = "suicidewatch"

    # ---- the CLI
    cli_out = tmp_path / "cli.xlsx"
    args = ["score", str(src), "-o", str(cli_out), "--model", str(tiny_checkpoint_dir)]
    assert main([*args, "--target-recall", f"{rule}=0.8", "--explain", "flagged"]) == 0

    # ---- the window: the same target recall set on its control, explain all flagged, export
    w = make_window()
    w.flag_panel.spins[rule].setValue(0.8)
    open_and_score(qtbot, w, src)
    with qtbot.waitSignal(w.explain_all_done, timeout=120_000):
        w.act_explain_all.trigger()
    gui_out = tmp_path / "window.xlsx"
    with qtbot.waitSignal(w.export_done, timeout=60_000):
        w.export_to(gui_out)

    # ---- results: every cell
    cli, gui = sheet(cli_out, "results"), sheet(gui_out, "results")
    assert len(cli) == len(gui) == len(POSTS) + sum(1 for p in POSTS if p) + 1
    header = cli[0]
    assert gui[0] == header
    attribution, top = header.index("cmhl_attribution"), header.index("cmhl_top_words")
    assert any(row[attribution] for row in cli[1:]), "flagged posts were explained"
    for i, (a, b) in enumerate(zip(cli[1:], gui[1:], strict=True), start=1):
        assert same_attribution(a[attribution], b[attribution]), f"row {i}: attributions differ"
        exact = a[attribution] == b[attribution]  # else the top words may differ by a near tie
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            if j != attribution and (j != top or exact):
                assert x == y, f"row {i}, column {header[j]}: {x!r} (CLI) != {y!r} (window)"

    # ---- the run sheet, times aside
    cli_run, gui_run = (
        {r[0]: (r + [None])[1] for r in sheet(out, "run") if r and r[0] not in TIMES}
        for out in (cli_out, gui_out)
    )
    assert cli_run == gui_run
    assert f"target_recall:{rule}" in cli_run and "precision" in cli_run and "read_limit_tokens" in cli_run
    assert any(r[:1] == ["started"] and r[1] for r in sheet(gui_out, "run")), "the window records the start"
