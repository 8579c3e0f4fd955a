"""100k results: re-flagging and the results table, against naive per-row baselines (prints a table).

    .venv/bin/python tests/benchmarks/bench_table.py [--rows 100000] [--repeats 3]

Re-flag (core, no Qt): random distress probabilities for N posts (tests/test_flags.py's
`random_results`), target recalls moved to 0.8, then
  ours:     `FlagPolicy.reflag(results, probs)` with the probability matrix cached, as the session
            does when a target recall moves; also `reflag(results)`, which rebuilds the matrix;
  baseline: `FlagPolicy.apply(r)` row by row (the same decision, one NumPy call per post).
Median of --repeats runs; both give the same flags (checked).

Results table (offscreen Qt): N fake results (tests/gui/test_results_table.py's `fake_results`)
behind a QTableView, each step followed by one pass of the event loop:
  ours:     ResultsModel + ResultsProxy (cmhl_desktop/ui/results_model.py, results_proxy.py);
  baseline: QStandardItemModel (one QStandardItem per cell) + a QSortFilterProxyModel whose
            filterAcceptsRow reads the items, Qt's own sort on a numeric sort role.
Steps: fill (chunks of 2,000 rows, as a run delivers them; also the worst chunk), sort by distress
(descending), filter (flagged and depression), clear the filter. Both tables show the same rows in
the same order after each step (checked on a sample).

Only counts and seconds are printed, no post text. Runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "gui")]

CHUNK = 2000


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# ----------------------------------------------------------------------------- re-flag


def bench_reflag(n: int, repeats: int) -> list[tuple[str, float, float]]:
    from test_flags import LABELS, make_calibration, random_results

    from cmhl_desktop.core.flags import FlagPolicy

    policy = FlagPolicy(make_calibration(), LABELS)
    results = random_results(n)
    probs = policy.probs_matrix(results)
    policy.reflag(results, probs)  # warm
    policy.set_target_recalls(0.8)

    def naive() -> None:
        for r in results:
            r.flagged, r.flag_rules = policy.apply(r)

    cached = statistics.median(seconds(lambda: policy.reflag(results, probs)) for _ in range(repeats))
    rebuilt = statistics.median(seconds(lambda: policy.reflag(results)) for _ in range(repeats))
    ours = [(r.flagged, r.flag_rules) for r in results]
    base = statistics.median(seconds(naive) for _ in range(repeats))
    if [(r.flagged, r.flag_rules) for r in results] != ours:
        raise SystemExit("reflag and apply disagree")
    return [
        (f"re-flag {n:,} rows, cached matrix (s)", cached, base),
        (f"re-flag {n:,} rows, matrix rebuilt (s)", rebuilt, base),
    ]


# ----------------------------------------------------------------------------- results table


def standard_table(texts, results):
    """The baseline: a QStandardItemModel filled cell by cell, filtered by a Python predicate."""
    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    from cmhl_desktop.core.results import FLAG_MARK
    from cmhl_desktop.ui.results_model import COL_CATEGORY, COL_DISTRESS, COL_FLAG, COLUMNS, ROW_ROLE, snippet

    sort_role = Qt.ItemDataRole.UserRole + 10

    class Proxy(QSortFilterProxyModel):
        want: tuple[str, str] | None = None

        def filterAcceptsRow(self, row, parent):  # noqa: N802
            if self.want is None:
                return True
            src = self.sourceModel()
            flag, category = self.want
            return src.item(row, COL_FLAG).text() == flag and src.item(row, COL_CATEGORY).text() == category

    model = QStandardItemModel(0, len(COLUMNS))
    proxy = Proxy()
    proxy.setSourceModel(model)
    proxy.setSortRole(sort_role)

    def add(start: int, chunk) -> None:
        for k, r in enumerate(chunk):
            i = start + k
            cells = [
                str(i + 1),
                FLAG_MARK if r.flagged else "",
                "",
                r.category,
                f"{r.distress_score:.3f}",
                r.emotion,
                f"{r.valence:+.2f}",
                f"{r.intensity:.2f}",
                r.review_status,
                snippet(texts[i]),
            ]
            items = [QStandardItem(c) for c in cells]
            items[0].setData(i, ROW_ROLE)
            items[COL_DISTRESS].setData(r.distress_score, sort_role)
            model.appendRow(items)

    def sort() -> None:
        proxy.sort(COL_DISTRESS, Qt.SortOrder.DescendingOrder)

    def set_filter(want) -> None:
        proxy.want = want
        proxy.invalidate()

    return proxy, add, sort, set_filter


def our_table(texts):
    from PySide6.QtCore import Qt

    from cmhl_desktop.ui.results_model import COL_DISTRESS, ResultsModel, ResultsProxy

    model = ResultsModel()
    proxy = ResultsProxy()
    proxy.setSourceModel(model)
    model.reset(texts)

    def add(start: int, chunk) -> None:
        model.add_results(start, chunk, keep_sorted=True)

    def sort() -> None:
        model.sort(COL_DISTRESS, Qt.SortOrder.DescendingOrder)

    def set_filter(want) -> None:
        proxy.set_filters(flag="flagged", category=want[1]) if want else proxy.set_filters()

    return proxy, add, sort, set_filter


def run_table(make, texts, results, app) -> tuple[dict[str, float], list[list[int]]]:
    """Time fill / sort / filter / clear on one table; return the seconds and sampled row orders."""
    from PySide6.QtWidgets import QTableView

    from cmhl_desktop.core.results import FLAG_MARK
    from cmhl_desktop.ui.results_model import ROW_ROLE

    proxy, add, sort, set_filter = make()
    view = QTableView()
    view.setModel(proxy)
    view.resize(900, 500)
    view.show()
    app.processEvents()
    out: dict[str, float] = {"worst chunk": 0.0}
    samples = []

    def sample() -> None:
        step = max(1, proxy.rowCount() // 200)
        samples.append([proxy.index(i, 0).data(ROW_ROLE) for i in range(0, proxy.rowCount(), step)])

    t0 = time.perf_counter()
    for s in range(0, len(results), CHUNK):
        out["worst chunk"] = max(
            out["worst chunk"], seconds(lambda s=s: (add(s, results[s : s + CHUNK]), app.processEvents()))
        )
    out["fill"] = time.perf_counter() - t0
    for name, step in (
        ("sort", sort),
        ("filter", lambda: set_filter((FLAG_MARK, "depression"))),
        ("clear filter", lambda: set_filter(None)),
    ):
        out[name] = seconds(lambda step=step: (step(), app.processEvents()))
        sample()
    view.close()
    view.deleteLater()
    app.processEvents()
    return out, samples


def bench_table(n: int) -> list[tuple[str, float, float]]:
    from PySide6.QtWidgets import QApplication
    from test_results_table import fake_results

    app = QApplication.instance() or QApplication([])
    results = fake_results(n)
    texts = [f"post {i}: some words about a day" for i in range(n)]
    for make in (lambda: our_table(texts[:500]), lambda: standard_table(texts[:500], results[:500])):
        run_table(make, texts[:500], results[:500], app)  # warm: fonts, first paint, Qt's caches
    ours, ours_rows = run_table(lambda: our_table(texts), texts, results, app)
    base, base_rows = run_table(lambda: standard_table(texts, results), texts, results, app)
    if ours_rows != base_rows:  # sorted by distress (random floats: no ties), filtered, cleared
        raise SystemExit("the two tables show different rows")
    return [
        (f"table {n:,} rows: {step} (s)", ours[step], base[step])
        for step in ("fill", "worst chunk", "sort", "filter", "clear filter")
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3, help="re-flag runs per variant (median)")
    args = ap.parse_args(argv)
    rows = bench_reflag(args.rows, args.repeats) + bench_table(args.rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (other work inflates both sides)")
    head = f"{'step':<44} {'ours':>8} {'baseline':>9} {'ours/base':>10}"
    print(head)
    print("-" * len(head))
    for name, ours, base in rows:
        print(f"{name:<44} {ours:>8.3f} {base:>9.3f} {ours / base if base else float('nan'):>10.3f}")
    print("baselines: re-flag = FlagPolicy.apply per row; table = QStandardItemModel + QSortFilterProxyModel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
