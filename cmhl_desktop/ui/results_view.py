"""The results table's view: row selection, a visible keyboard focus, Tab that leaves the table,
badges ("partly read", "no content") drawn in the "Why" column, columns that can be hidden from the
header's menu, and a selected row that stays in view when the table is sorted."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from cmhl_desktop.core.results import FLAG_MARK
from cmhl_desktop.ui.results_model import (
    BADGE_ROLE,
    COL_CATEGORY,
    COL_DISTRESS,
    COL_EMOTION,
    COL_FLAG,
    COL_INTENSITY,
    COL_REVIEW,
    COL_ROW,
    COL_VALENCE,
    COL_WHY,
    COLUMNS,
)

COLUMN_WIDTHS = {
    COL_ROW: 44,
    COL_FLAG: 104,
    COL_WHY: 200,
    COL_CATEGORY: 96,
    COL_DISTRESS: 64,
    COL_EMOTION: 70,
    COL_VALENCE: 58,
    COL_INTENSITY: 64,
    COL_REVIEW: 112,
}
# in the detail view; shown from the header's menu (the post's text fits a 1280-wide screen without them)
HIDDEN_BY_DEFAULT = (COL_EMOTION, COL_VALENCE, COL_INTENSITY)


class BadgeDelegate(QStyledItemDelegate):
    """Draws a cell's badges (BADGE_ROLE: [(text, colour)]) as small filled pills, then its text."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        items = index.data(BADGE_ROLE) or []
        if not items:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        fm = QFontMetrics(opt.font)
        x, r = opt.rect.x() + 4, opt.rect
        h = min(r.height() - 4, fm.height() + 2)
        for label, colour in items:
            w = fm.horizontalAdvance(label) + 10
            pill = QRectF(x, r.y() + (r.height() - h) / 2, w, h)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(pill, h / 2, h / 2)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
            x += w + 4
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.setPen(opt.palette.highlightedText().color() if selected else opt.palette.text().color())
        rest = QRect(int(x), r.y(), max(0, r.right() - int(x)), r.height())
        painter.drawText(
            rest,
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            fm.elidedText(text, Qt.TextElideMode.ElideRight, rest.width()),
        )
        painter.restore()


class ResultsView(QTableView):
    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsTable")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)  # Tab moves on to the post, not from cell to cell
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAccessibleName("Results: one post per row, most concerning first")
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(24)
        self.setSortingEnabled(True)
        self.badges = BadgeDelegate(self)
        self.setItemDelegateForColumn(COL_WHY, self.badges)
        header = self.horizontalHeader()
        header.setSortIndicator(COL_FLAG, Qt.SortOrder.AscendingOrder)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        header.sortIndicatorChanged.connect(lambda *_: QTimer.singleShot(0, self.keep_current_in_view))
        for col, w in COLUMN_WIDTHS.items():  # room for the bold header and the sort arrow
            self.setColumnWidth(col, max(w, header.fontMetrics().horizontalAdvance(COLUMNS[col]) + 34))
        fm = self.fontMetrics()  # the flag's icon and its text, never elided
        self.setColumnWidth(COL_FLAG, max(self.columnWidth(COL_FLAG), fm.horizontalAdvance(FLAG_MARK) + 44))
        for col in HIDDEN_BY_DEFAULT:
            self.setColumnHidden(col, True)
        self.setToolTip("")

    def keep_current_in_view(self) -> None:
        """After a sort or a re-flag: the selected post stays on screen."""
        idx = self.currentIndex()
        if idx.isValid():
            self.scrollTo(idx, QAbstractItemView.ScrollHint.EnsureVisible)

    def _column_menu(self, pos) -> None:
        menu = QMenu(self)
        for col, name in enumerate(COLUMNS):
            if col in (COL_ROW, COL_FLAG):
                continue
            a = menu.addAction(name)
            a.setCheckable(True)
            a.setChecked(not self.isColumnHidden(col))
            a.toggled.connect(lambda on, c=col: self.setColumnHidden(c, not on))
        menu.popup(self.horizontalHeader().mapToGlobal(pos))
