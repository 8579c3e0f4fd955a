"""The results table: one source model over plain Python lists and a filtering proxy.

Built for 100k rows: no per-row widgets, `data()` computes what it shows on demand, sorting is a
single `sorted()` over precomputed keys inside the source model (a Python `lessThan` would be called
~1.7M times for 100k rows), and the proxy filters from a precomputed accept list.

The source model's rows are a permutation (`order`) of input row indices; rows appear as scoring
chunks arrive (appended), and are put in sort order when a run completes or a header is clicked.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon

from cmhl_desktop.core.results import FLAG_MARK, NO_CONTENT, REVIEW_STATUSES, PostResult, flag_reason
from cmhl_desktop.core.triage import CRISIS_RULES, concern_key
from cmhl_desktop.ui import qt_compat

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the input row index (0-based) behind a table row
RESULT_ROLE = Qt.ItemDataRole.UserRole + 2  # the PostResult
SORT_ROLE = Qt.ItemDataRole.UserRole + 3
BADGE_ROLE = Qt.ItemDataRole.UserRole + 4  # [(badge text, colour)] drawn before the "Why" text

COLUMNS = ("#", "Flag", "Why", "Category", "Distress", "Emotion", "Valence", "Intensity", "Review", "Text")
(
    COL_ROW,
    COL_FLAG,
    COL_WHY,
    COL_CATEGORY,
    COL_DISTRESS,
    COL_EMOTION,
    COL_VALENCE,
    COL_INTENSITY,
    COL_REVIEW,
    COL_TEXT,
) = range(len(COLUMNS))
SNIPPET_CHARS = 160
# Up to this many rows, new rows are inserted at their sorted place as they arrive (each insert costs
# the proxy and the view O(rows)); beyond it they are appended and sorted once at the end of a run.
SORT_IN_PLACE_MAX = 20_000
FLAG_BG = QColor("#fde4e4")
REVIEW_COLORS = {
    "unreviewed": QColor("#6b6b6b"),
    "confirmed": QColor("#8a1c1c"),
    "not a concern": QColor("#1f6b35"),
    "needs follow-up": QColor("#8a5a00"),
    "urgent": QColor("#ffffff"),  # on URGENT_BG
}
URGENT_BG = QColor("#c62828")
MUTED = QColor("#8a8a8a")
BADGES = {  # badge text -> colour; text as well as colour
    "partly read": QColor("#6d4c41"),
    NO_CONTENT: QColor("#546e7a"),
}


def short_reason(r: PostResult) -> str:
    """The "Why" cell: why a post is flagged, in plain words; "" when it is not."""
    return flag_reason(r)


def badges(r: PostResult) -> list[tuple[str, QColor]]:
    """Badges of a row: "partly read" (the model read only the start), "no content"."""
    out = []
    if r.partly_read:
        out.append(("partly read", BADGES["partly read"]))
    if r.status == NO_CONTENT:
        out.append((NO_CONTENT, BADGES[NO_CONTENT]))
    return out


def _num(x: float) -> float:
    return x if isinstance(x, (int, float)) and math.isfinite(x) else math.inf


class _Desc:
    """A sort key in reverse order (for inserting into a descending sort with bisect)."""

    __slots__ = ("k",)

    def __init__(self, k) -> None:
        self.k = k

    def __lt__(self, other: _Desc) -> bool:
        return other.k < self.k


def snippet(text: str, n: int = SNIPPET_CHARS) -> str:
    s = " ".join(text[: n * 2].split())
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


class ResultsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.texts: list[str] = []
        self.results: list[PostResult | None] = []
        self.order: list[int] = []  # source row -> input row index
        self._pos: dict[int, int] | None = None  # input row index -> source row (built lazily)
        self._sort: tuple[int, Qt.SortOrder] = (COL_FLAG, Qt.SortOrder.AscendingOrder)
        self._keys: list | None = None  # sort key per source row, kept while rows are inserted in place
        self._is_sorted = True
        self.flag_icon = QIcon()
        self.crisis_rules: frozenset[str] | set[str] = CRISIS_RULES  # the session's, for the order by concern
        self._italic = QFont()
        self._italic.setItalic(True)

    # ------------------------------------------------------------------ filling

    def reset(self, texts: list[str], results: list[PostResult] | None = None) -> None:
        """New input. With `results` (a reopened export) every row is shown at once, sorted."""
        self.beginResetModel()
        self.texts = list(texts)
        self.results = list(results) if results is not None else [None] * len(texts)
        self.order = list(range(len(texts))) if results is not None else []
        self._pos = None
        self._keys = None
        self._is_sorted = True  # an empty table is sorted; rows then go in their place
        if results is not None:
            self._apply_sort()
        self.endResetModel()

    def clear(self) -> None:
        self.reset([], [])

    def add_results(
        self, start: int, chunk: list[PostResult], on_stored=None, keep_sorted: bool = False
    ) -> None:
        """Store a chunk of results. Rows not shown yet are inserted where the current sort puts them
        (`keep_sorted`, when the table is sorted) or appended at the end. `on_stored(indices)` runs
        after the results are stored and before views hear of the new rows (filters use it)."""
        new = []
        for k, r in enumerate(chunk):
            i = start + k
            if self.results[i] is None:
                new.append(i)
            self.results[i] = r
        if on_stored is not None:
            on_stored(range(start, start + len(chunk)))
        if new:
            if keep_sorted and self._is_sorted and len(self.order) + len(new) <= SORT_IN_PLACE_MAX:
                self._insert_sorted(new)
            else:
                n = len(self.order)
                self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
                self.order.extend(new)
                self._is_sorted = False
                self._keys = None
                if self._pos is not None:
                    self._pos.update((i, n + j) for j, i in enumerate(new))
                self.endInsertRows()
        fresh = set(new)
        updated = [i for i in range(start, start + len(chunk)) if i not in fresh]
        if updated:
            self.rows_changed(updated)

    def _insert_sorted(self, new: list[int]) -> None:
        """Insert rows at their sorted places, one insert signal per contiguous block: views and the
        proxy only handle the new rows (a re-sort would re-map and repaint every row)."""
        column, order = self._sort
        key = self._key(column)
        wrap = _Desc if order == Qt.SortOrder.DescendingOrder else (lambda k: k)
        if self._keys is None:
            self._keys = [wrap(key(i)) for i in self.order]
        keys = self._keys
        groups: dict[int, list[tuple[object, int]]] = {}
        for k, i in sorted(((wrap(key(i)), i) for i in new), key=lambda t: t[0]):
            groups.setdefault(bisect.bisect_left(keys, k), []).append((k, i))
        for n, p in enumerate(sorted(groups, reverse=True)):  # from the end: earlier positions stay valid
            if n % 256 == 255:
                qt_compat.top_up()
            g = groups[p]
            self.beginInsertRows(QModelIndex(), p, p + len(g) - 1)
            self.order[p:p] = [i for _, i in g]
            keys[p:p] = [k for k, _ in g]
            self._pos = None
            self.endInsertRows()

    # ------------------------------------------------------------------ lookups

    def input_row(self, source_row: int) -> int:
        return self.order[source_row]

    def source_row(self, input_row: int) -> int | None:
        if self._pos is None:
            self._pos = {i: r for r, i in enumerate(self.order)}
        return self._pos.get(input_row)

    def result(self, input_row: int) -> PostResult | None:
        return self.results[input_row]

    def scored_count(self) -> int:
        return len(self.order)

    def complete(self) -> bool:
        return bool(self.results) and all(r is not None for r in self.results)

    def rows_changed(self, input_rows: Iterable[int], columns: tuple[int, int] | None = None) -> None:
        """Tell views that these rows' results changed (review, flags)."""
        self._keys = None  # a changed review or flag may change a sort key
        rows = sorted(r for r in (self.source_row(i) for i in input_rows) if r is not None)
        if not rows:
            return
        c0, c1 = columns or (0, len(COLUMNS) - 1)
        # one signal per contiguous run keeps a 100k-row re-flag cheap
        run_start = prev = rows[0]
        for r in rows[1:] + [None]:
            if r is None or r != prev + 1:
                self.dataChanged.emit(self.index(run_start, c0), self.index(prev, c1))
                if r is not None:
                    run_start = r
            if r is not None:
                prev = r

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return HEADER_TIPS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = self.order[index.row()]
        r = self.results[i]
        c = index.column()
        if role == ROW_ROLE:
            return i
        if role == RESULT_ROLE:
            return r
        if r is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(i, r, c)
        if role == BADGE_ROLE:
            return badges(r) if c == COL_WHY else []
        if role == Qt.ItemDataRole.DecorationRole and c == COL_FLAG and r.flagged:
            return self.flag_icon
        if role == Qt.ItemDataRole.BackgroundRole:
            if c == COL_REVIEW and r.review_status == "urgent":
                return QBrush(URGENT_BG)
            if r.flagged:
                return QBrush(FLAG_BG)
        if role == Qt.ItemDataRole.FontRole and c == COL_CATEGORY and not r.flagged:
            return self._italic  # a category on an unflagged post is a reference, not a label
        if role == Qt.ItemDataRole.ForegroundRole:
            if c == COL_FLAG and r.flagged:
                return QBrush(QColor("#8a1c1c"))
            if c == COL_CATEGORY and not r.flagged:
                return QBrush(MUTED)
            if c == COL_REVIEW:
                return QBrush(REVIEW_COLORS.get(r.review_status, QColor("#000000")))
            if c == COL_TEXT:
                return QBrush(QColor("#202020"))
        if role == Qt.ItemDataRole.TextAlignmentRole and c in (
            COL_ROW,
            COL_DISTRESS,
            COL_VALENCE,
            COL_INTENSITY,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if c in (COL_FLAG, COL_WHY):
                return why_tip(r)
            if c == COL_CATEGORY:
                if not r.scored:
                    return f"status: {r.status}"
                return (
                    "Most likely category (the flag rules decided the flag)"
                    if r.flagged
                    else "Most likely category, for reference only: this post is not flagged"
                )
            if c == COL_REVIEW and r.review_note:
                return "Note: " + r.review_note[:300]
        if role == SORT_ROLE:
            return self._key(c)(i)
        return None

    def _display(self, i: int, r: PostResult, c: int):
        if c == COL_ROW:
            return str(i + 1)
        if c == COL_FLAG:
            return FLAG_MARK if r.flagged else ""
        if c == COL_WHY:
            return short_reason(r)
        if c == COL_CATEGORY:
            return r.category if r.scored else f"({r.status.split(':')[0]})"
        if c == COL_DISTRESS:
            return f"{r.distress_score:.3f}" if math.isfinite(r.distress_score) else "–"
        if c == COL_EMOTION:
            return r.emotion
        if c == COL_VALENCE:
            return f"{r.valence:+.2f}" if math.isfinite(r.valence) else "–"
        if c == COL_INTENSITY:
            return f"{r.intensity:.2f}" if math.isfinite(r.intensity) else "–"
        if c == COL_REVIEW:
            return r.review_status
        if c == COL_TEXT:
            return snippet(self.texts[i])
        return None

    # ------------------------------------------------------------------ sorting

    def _key(self, column: int):
        res, texts, crisis = self.results, self.texts, self.crisis_rules

        keys = {
            COL_ROW: lambda i: i,
            COL_FLAG: lambda i: concern_key(res[i], i, crisis),  # "flagged first": the order by concern
            COL_WHY: lambda i: concern_key(res[i], i, crisis),
            COL_CATEGORY: lambda i: (res[i].category, -_num(res[i].distress_score), i),
            COL_DISTRESS: lambda i: (_num(res[i].distress_score), i),
            COL_EMOTION: lambda i: (res[i].emotion, i),
            COL_VALENCE: lambda i: (_num(res[i].valence), i),
            COL_INTENSITY: lambda i: (_num(res[i].intensity), i),
            COL_REVIEW: lambda i: (
                REVIEW_STATUSES.index(res[i].review_status) if res[i].review_status in REVIEW_STATUSES else 9,
                i,
            ),
            COL_TEXT: lambda i: (texts[i].casefold(), i),
        }
        return keys[column]

    def sort_state(self) -> tuple[int, Qt.SortOrder]:
        return self._sort

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_rows = [(p.row(), p.column()) for p in old]
        old_inputs = [self.order[r] if 0 <= r < len(self.order) else None for r, _ in old_rows]
        self._apply_sort()
        pos = self.source_row
        new = [
            self.index(pos(i), c) if i is not None and pos(i) is not None else QModelIndex()
            for i, (_, c) in zip(old_inputs, old_rows, strict=False)
        ]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def resort(self) -> None:
        self.sort(*self._sort)

    def _apply_sort(self) -> None:
        column, order = self._sort
        reverse = order == Qt.SortOrder.DescendingOrder
        # the flag column sorts "flagged first, highest score first" when ascending (the default)
        self.order.sort(key=self._key(column), reverse=reverse)
        self._pos = None
        self._keys = None
        self._is_sorted = True

    def is_sorted(self) -> bool:
        return self._is_sorted


HEADER_TIPS = (
    "Row number in the input file",
    "⚑ FLAGGED: a person should read this post soon. Sorted by concern: crisis flags first.",
    "Why the post is flagged, in plain words, and badges: 'partly read' (the model read only the "
    "start of a long post), 'no content' (no words to read: never scored or flagged)",
    "Most likely distress category. Grey on posts that are not flagged: a reference, not a label.",
    "How strongly the post reads as distress of any kind, 0 (none) to 1 "
    "(technically: 1 − P(control), the any-distress score)",
    "Most likely emotion",
    "Valence, −1 (negative) … +1 (positive)",
    "Intensity (arousal), 0 … 1",
    "Your review status (keys 1–5; 5 = urgent)",
    "The post (first line)",
)


def why_tip(r: PostResult) -> str:
    """The tooltip of the Flag and Why cells: the reason, the rules, the badges explained."""
    lines = []
    if r.flagged:
        lines.append("Flagged: " + flag_reason(r))
        lines.append("Rules: " + ", ".join(r.flag_rules))
    elif r.scored:
        lines.append("Not flagged. An unflagged post may still need attention.")
    if r.partly_read:
        lines.append("Partly read: the post is longer than the model reads; only its start was scored.")
    if r.status == NO_CONTENT:
        lines.append("No content: no words to read (a placeholder, numbers, links or emoji); never flagged.")
    return "\n".join(lines)


# the proxy lives in results_proxy.py; imported here for the tools and tests that reach it here
from cmhl_desktop.ui.results_proxy import ResultsProxy  # noqa: E402

__all__ = ["ResultsModel", "ResultsProxy"]
