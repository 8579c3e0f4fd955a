"""Choosing the sheet and the text column, with a preview of the first rows."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)
PREVIEW_ROWS = 20
PREVIEW_CELL_CHARS = 200


class OpenDialog(QDialog):
    """Reads a 20-row preview with the core reader; the chosen sheet and column are `sheet()` and
    `column()` (a 0-based index) after `accept()`. Reading errors are shown inside the dialog."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from cmhl_desktop.core.readers import list_sheets

        self.path = Path(path)
        self.table = None  # the preview InputTable
        self.setWindowTitle(f"Open {self.path.name}")
        self.resize(820, 520)

        self.sheet_combo = QComboBox()
        self.column_combo = QComboBox()
        self.column_combo.setMinimumContentsLength(20)
        self.kind_label = QLabel("")
        self.kind_label.setWordWrap(True)
        self.error_label = QLabel("")
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.preview = QTableWidget()
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setWordWrap(False)
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.preview.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectColumns)

        form = QFormLayout()
        form.addRow("File", QLabel(self.path.name))
        try:
            sheets = list_sheets(self.path)
        except Exception as e:  # shown in the dialog; the caller's full read reports it properly
            sheets = []
            self._show_error(e)
        if sheets:
            self.sheet_combo.addItems(sheets)
            form.addRow("Sheet", self.sheet_combo)
        else:
            self.sheet_combo.hide()
        form.addRow("Text column", self.column_combo)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Score")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.kind_label)
        lay.addWidget(self.error_label)
        lay.addWidget(QLabel(f"Preview (first {PREVIEW_ROWS} rows; the text column is highlighted)"))
        lay.addWidget(self.preview, 1)
        lay.addWidget(self.buttons)

        self.sheet_combo.currentTextChanged.connect(self._load_preview)
        self.column_combo.currentIndexChanged.connect(self._mark_column)
        self.preview.horizontalHeader().sectionClicked.connect(self.column_combo.setCurrentIndex)
        self._load_preview()

    # ------------------------------------------------------------------ results

    def sheet(self) -> str | None:
        return self.sheet_combo.currentText() if self.sheet_combo.count() else None

    def column(self) -> int | None:
        return self.column_combo.currentIndex() if self.column_combo.count() else None

    def is_scored(self) -> bool:
        return self.table is not None and self.table.kind == "scored"

    # ------------------------------------------------------------------ preview

    def _show_error(self, e: BaseException) -> None:
        from cmhl_desktop.core.readers import InputError

        msg = str(e) if isinstance(e, InputError) else f"Cannot read this file ({type(e).__name__})."
        if not isinstance(e, InputError):
            log.warning("preview of a file failed: %s", type(e).__name__)
        self.error_label.setText(msg)
        self.error_label.setVisible(bool(msg))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok) if hasattr(self, "buttons") else None
        if ok is not None:
            ok.setEnabled(False)

    def _load_preview(self) -> None:
        from cmhl_desktop.core.readers import read_input

        self.error_label.setText("")
        self.error_label.hide()
        try:
            table = read_input(self.path, sheet=self.sheet(), limit=PREVIEW_ROWS)
        except Exception as e:
            self.table = None
            self.preview.clear()
            self.preview.setRowCount(0)
            self.preview.setColumnCount(0)
            self.column_combo.clear()
            self._show_error(e)
            return
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self.table = table
        self.column_combo.blockSignals(True)
        self.column_combo.clear()
        self.column_combo.addItems(
            [str(c) if str(c) else f"(column {j + 1})" for j, c in enumerate(table.columns)]
        )
        self.column_combo.setCurrentIndex(table.text_column)
        self.column_combo.blockSignals(False)
        self.preview.clear()
        self.preview.setColumnCount(len(table.columns))
        self.preview.setRowCount(len(table.rows))
        self.preview.setHorizontalHeaderLabels([str(c) for c in table.columns])
        for i, row in enumerate(table.rows):
            for j, v in enumerate(row):
                s = "" if v is None else str(v)
                s = " ".join(s[: PREVIEW_CELL_CHARS * 2].split())[:PREVIEW_CELL_CHARS]
                self.preview.setItem(i, j, QTableWidgetItem(s))
        for j in range(len(table.columns)):
            self.preview.setColumnWidth(j, 360 if j == table.text_column else 110)
        if table.kind == "scored":
            self.kind_label.setText(
                "<b>This is an exported CMHL workbook.</b> Its results and review state will be loaded "
                "without scoring again; you can continue the review."
            )
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open")
            self.column_combo.setEnabled(False)
        else:
            self.kind_label.setText(f"Input type: {table.kind}. Choose the column that holds the post text.")
        self._mark_column(self.column_combo.currentIndex())

    def _mark_column(self, col: int) -> None:
        for j in range(self.preview.columnCount()):
            brush = QBrush(QColor("#fff3c4")) if j == col else QBrush()
            for i in range(self.preview.rowCount()):
                item = self.preview.item(i, j)
                if item is not None:
                    item.setBackground(brush)
        if 0 <= col < self.preview.columnCount():
            self.preview.scrollToItem(self.preview.item(0, col)) if self.preview.rowCount() else None
        self.preview.horizontalHeader().setSortIndicatorShown(False)
