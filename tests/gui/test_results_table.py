"""The results table model and its proxy: correctness, and large tables sorted and filtered in one
pass per row (their speed is measured in tests/benchmarks/bench_table.py)."""

from __future__ import annotations

import math
import random

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from cmhl_desktop.core.results import FLAG_MARK, PostResult
from cmhl_desktop.ui import results_model
from cmhl_desktop.ui.results_model import (
    COL_DISTRESS,
    COL_FLAG,
    COL_REVIEW,
    COL_ROW,
    COL_TEXT,
    RESULT_ROLE,
    ROW_ROLE,
    ResultsModel,
    ResultsProxy,
    snippet,
)

pytestmark = pytest.mark.gui


def fake_results(n: int, seed: int = 0) -> list[PostResult]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = rng.random()
        out.append(
            PostResult(
                category=rng.choice(["depression", "anxiety", "control"]),
                distress_score=s,
                flagged=s > 0.7,
                flag_rules=["any_distress"] if s > 0.7 else [],
                emotion=rng.choice(["joy", "sadness"]),
                valence=rng.uniform(-1, 1),
                intensity=rng.random(),
            )
        )
    return out


def build(qtbot, n: int):
    model = ResultsModel()
    proxy = ResultsProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.horizontalHeader().setSortIndicator(COL_FLAG, Qt.SortOrder.AscendingOrder)
    view.resize(900, 500)
    view.show()
    texts = [
        f"post {i}: some words about a day {'with banana bread' if i % 97 == 0 else ''}" for i in range(n)
    ]
    return model, proxy, view, texts


def col(proxy, c, role=Qt.ItemDataRole.DisplayRole):
    return [proxy.index(i, c).data(role) for i in range(proxy.rowCount())]


def test_chunks_appear_and_sort_flagged_first(qtbot):
    model, proxy, view, texts = build(qtbot, 500)
    results = fake_results(500)
    model.reset(texts)
    assert proxy.rowCount() == 0
    view.selectRow(0)
    for s in range(0, 500, 64):  # arrival order, as a worker delivers them; each lands in its place
        model.add_results(s, results[s : s + 64], keep_sorted=True)
        assert proxy.rowCount() == min(s + 64, 500)
        if s == 0:
            picked = view.currentIndex().data(ROW_ROLE)
    assert view.currentIndex().data(ROW_ROLE) == picked, "the selection stays on its post"
    in_place = list(model.order)
    model.resort()
    assert model.order == in_place, "inserting in place gives exactly the full sort"
    flags = [x == FLAG_MARK for x in col(proxy, COL_FLAG)]
    assert flags == sorted(flags, reverse=True)
    flagged_scores = [r.distress_score for r in col(proxy, 0, RESULT_ROLE) if r.flagged]
    assert flagged_scores == sorted(flagged_scores, reverse=True), "highest score first among flagged"
    # the flag column carries text and an icon role, not colour alone
    assert proxy.index(0, COL_FLAG).data() == FLAG_MARK
    assert proxy.index(0, COL_FLAG).data(Qt.ItemDataRole.ToolTipRole).startswith("Flagged")
    # numbers are formatted, the text is a one-line snippet
    assert proxy.index(0, COL_DISTRESS).data().count(".") == 1
    assert "\n" not in snippet("a\nb\n  c")
    # the row column is the 1-based input row
    assert int(proxy.index(0, COL_ROW).data()) == proxy.index(0, 0).data(ROW_ROLE) + 1


@pytest.mark.parametrize("column", [COL_FLAG, COL_DISTRESS, COL_TEXT, COL_REVIEW])
@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
def test_insert_in_place_matches_a_full_sort(qtbot, column, order):
    model, proxy, view, texts = build(qtbot, 400)
    results = fake_results(400, seed=column)
    model.reset(texts)
    model.sort(column, order)
    chunks = list(range(0, 400, 37))
    random.Random(1).shuffle(chunks)  # out of order too
    for s in chunks:
        model.add_results(s, results[s : s + 37], keep_sorted=True)
    got = list(model.order)
    model.resort()
    assert got == model.order
    assert [proxy.index(i, 0).data(ROW_ROLE) for i in range(proxy.rowCount())] == model.order


def test_sort_keeps_the_selection(qtbot):
    model, proxy, view, texts = build(qtbot, 200)
    model.reset(texts, fake_results(200))
    view.selectRow(5)
    picked = view.currentIndex().data(ROW_ROLE)
    view.sortByColumn(COL_TEXT, Qt.SortOrder.DescendingOrder)
    assert view.currentIndex().data(ROW_ROLE) == picked
    view.sortByColumn(COL_DISTRESS, Qt.SortOrder.AscendingOrder)
    scores = [r.distress_score for r in col(proxy, 0, RESULT_ROLE)]
    assert scores == sorted(scores)
    assert view.currentIndex().data(ROW_ROLE) == picked


def test_filters_and_review_updates(qtbot):
    model, proxy, view, texts = build(qtbot, 300)
    results = fake_results(300)
    model.reset(texts, results)
    proxy.set_filters(flag="flagged")
    assert proxy.rowCount() == sum(r.flagged for r in results)
    proxy.set_filters(category="anxiety")
    assert proxy.rowCount() == sum(r.category == "anxiety" for r in results)
    proxy.set_filters(search="BANANA")
    assert proxy.rowCount() == sum("banana" in t for t in texts)
    proxy.set_filters(review="confirmed", search="")
    assert proxy.rowCount() == 0
    results[7].review_status = "confirmed"
    proxy.refresh_rows([7])
    model.rows_changed([7])
    assert proxy.rowCount() == 1 and proxy.index(0, 0).data(ROW_ROLE) == 7
    assert proxy.index(0, COL_REVIEW).data() == "confirmed"
    proxy.set_filters()
    assert proxy.rowCount() == 300


def test_rows_past_the_in_place_limit_are_sorted_once(qtbot, monkeypatch):
    """Past SORT_IN_PLACE_MAX rows, chunks are appended and sorted once when complete: one key per
    row (a keyed sort, never a Python comparison per pair), and one filter test per row. Timings
    for 100k rows are in tests/benchmarks/bench_table.py."""
    n = results_model.SORT_IN_PLACE_MAX + 5000
    model, proxy, view, texts = build(qtbot, n)
    results = fake_results(n)
    model.reset(texts)
    for s in range(0, n, 2000):  # in sorted place while under the limit, as during a run
        model.add_results(s, results[s : s + 2000], keep_sorted=True)
        qtbot.wait(1)
    assert proxy.rowCount() == n and not model.is_sorted()
    keys = []
    real_key = results_model.concern_key
    monkeypatch.setattr(results_model, "concern_key", lambda *a: keys.append(a[1]) or real_key(*a))
    model.resort()
    qtbot.wait(1)
    assert model.is_sorted() and sorted(keys) == list(range(n)), "one sort key per row"
    flags = [r.flagged for r in (model.results[i] for i in model.order)]
    assert flags == sorted(flags, reverse=True)
    assert [proxy.index(i, 0).data(ROW_ROLE) for i in range(0, n, 997)] == model.order[::997]

    matched = []
    real_match = proxy._match
    monkeypatch.setattr(proxy, "_match", lambda i: matched.append(i) or real_match(i))
    proxy.set_filters(flag="flagged", category="depression")
    qtbot.wait(1)
    assert sorted(matched) == list(range(n)), "one filter test per row"
    assert proxy.rowCount() == sum(r.flagged and r.category == "depression" for r in results)
    shown = [proxy.index(i, 0).data(ROW_ROLE) for i in range(proxy.rowCount())]
    assert shown == [i for i in model.order if results[i].flagged and results[i].category == "depression"]
    proxy.set_filters()
    qtbot.wait(1)
    assert proxy.rowCount() == n
    assert not math.isnan(proxy.index(0, 0).data(RESULT_ROLE).distress_score)
