"""The results table's filter proxy: category, flag, review status and a text search, computed once
per change for every row (sorting is the source model's, `results_model.ResultsModel`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSortFilterProxyModel, Qt

if TYPE_CHECKING:
    from cmhl_desktop.ui.results_model import ResultsModel


class ResultsProxy(QSortFilterProxyModel):
    """Filters by category, flag, review status and a text search; sorting is delegated to the source."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._accept: list[bool] | None = None  # by input row index; None = everything
        self.category: str | None = None
        self.flag: str | None = None  # "flagged" | "not flagged"
        self.review: str | None = None
        self.search: str = ""
        self._folded: list[str] | None = None

    def setSourceModel(self, model) -> None:  # noqa: N802
        super().setSourceModel(model)
        model.modelReset.connect(self._on_reset)

    def _on_reset(self) -> None:
        self._folded = None
        self._accept = None
        self._recompute(notify=False)

    def source(self) -> ResultsModel:
        return self.sourceModel()  # type: ignore[return-value]

    # ------------------------------------------------------------------ filters

    def set_filters(self, *, category=None, flag=None, review=None, search: str | None = None) -> None:
        self.category, self.flag, self.review = category or None, flag or None, review or None
        if search is not None:
            self.search = search.strip()
        self._recompute()

    def active(self) -> bool:
        return bool(self.category or self.flag or self.review or self.search)

    def _match(self, i: int) -> bool:
        r = self.source().results[i]
        if r is None:
            return True
        if self.category and r.category != self.category:
            return False
        if self.flag and r.flagged != (self.flag == "flagged"):
            return False
        if self.review and r.review_status != self.review:
            return False
        if self.search:
            if self._folded is None:
                self._folded = [t.casefold() for t in self.source().texts]
            if self.search.casefold() not in self._folded[i]:
                return False
        return True

    def _recompute(self, notify: bool = True) -> None:
        src = self.source()
        if not self.active() or src is None:
            self._accept = None
        else:
            match = self._match
            self._accept = [match(i) for i in range(len(src.results))]
        if notify:
            # A full re-map (~0.2 s for 100k rows). begin/endFilterChange would remove rows range by
            # range, which is quadratic when the kept rows are scattered (1.7 s for 100k).
            self.invalidate()

    def refresh_rows(self, input_rows: Iterable[int]) -> None:
        """Re-evaluate the filter for rows whose results changed (call before the source's dataChanged)."""
        if self._accept is None:
            return
        for i in input_rows:
            self._accept[i] = self._match(i)

    def refresh_all(self) -> None:
        if self._accept is not None:
            self._recompute()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        a = self._accept
        if a is None:
            return True
        return a[self.source().order[source_row]]

    # ------------------------------------------------------------------ sorting

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.source().sort(column, order)

    # ------------------------------------------------------------------ helpers

    def input_row(self, proxy_row: int) -> int:
        return self.source().input_row(self.mapToSource(self.index(proxy_row, 0)).row())

    def proxy_row(self, input_row: int) -> int | None:
        src = self.source().source_row(input_row)
        if src is None:
            return None
        idx = self.mapFromSource(self.source().index(src, 0))
        return idx.row() if idx.isValid() else None
