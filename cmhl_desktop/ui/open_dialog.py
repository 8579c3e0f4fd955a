"""Choosing the sheet, the text column(s), the encoding and whether the first row is a header, with
a preview of the first rows. The preview is a bounded read (`core.readers.preview_input`: a text
file's first MiB, no hash), so a large file previews at once."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)
PREVIEW_ROWS = 20
PREVIEW_CELL_CHARS = 200


TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl")
HEADER_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm")


class OpenDialog(QDialog):
    """Reads a 20-row preview with the core reader; after `accept()` the choices are `sheet()`,
    `column()` (a 0-based index, or a list of them when several columns are joined into each post)
    and `read_options()` (encoding, header) for `read_input`. Reading errors are shown inside the
    dialog."""

    def __init__(self, path: Path, parent: QWidget | None = None, data_dir=None) -> None:
        """`data_dir`: where reviews are kept; the Post id this file's reviews were kept under is
        then preselected (another choice would not show them)."""
        super().__init__(parent)
        from cmhl_desktop.core.readers import COMMON_ENCODINGS, sheet_infos

        self.path = Path(path)
        self.data_dir = data_dir
        self._id_offered = False  # the remembered Post id was offered once (then the user's choice holds)
        self._remembered: str | None = None  # the Post id column this file's reviews are kept under
        self.table = None  # the preview InputTable
        self._header_user = False  # the header box was set by the user, not by detection
        self.setWindowTitle(f"Open {self.path.name}")
        self.resize(820, 540)

        self.sheet_combo = QComboBox()
        self.column_combo = QComboBox()
        self.column_combo.setMinimumContentsLength(20)
        self.id_combo = QComboBox()  # the column that identifies a post for its review
        self.id_combo.setToolTip(
            "Reviews follow each post when the file changes. By default a post is recognised by its "
            "text; choose a column of unique post ids (never a row number) to recognise it by that."
        )
        self.join_list = QListWidget()  # further columns joined into each post (title + body)
        self.join_list.setMaximumHeight(70)
        self.join_list.setFlow(QListWidget.Flow.LeftToRight)
        self.join_list.setWrapping(True)
        self.encoding_combo = QComboBox()
        self.encoding_combo.addItem("Auto (detect)", None)
        for enc in COMMON_ENCODINGS:
            self.encoding_combo.addItem(enc, enc)
        self.header_box = QCheckBox("The first row holds the column names")
        self.header_box.setChecked(True)
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
        sheets = []
        if self.path.suffix.lower() in (".xlsx", ".xlsm"):
            try:
                sheets = sheet_infos(self.path)
            except Exception as e:  # shown in the dialog; the caller's full read reports it properly
                self._show_error(e)
        if sheets:
            from cmhl_desktop.core.read_xlsx import default_sheet

            for info in sheets:  # the name is the data; the text says what the sheet is
                self.sheet_combo.addItem(info.describe(), info.name)
            names = [i.name for i in sheets]
            self.sheet_combo.setCurrentIndex(names.index(default_sheet(sheets, "run" in names)))
            form.addRow("Sheet", self.sheet_combo)
        else:
            self.sheet_combo.hide()
        form.addRow("Text column", self.column_combo)
        form.addRow("Also join", self.join_list)
        form.addRow("Post id (reviews)", self.id_combo)
        if self.path.suffix.lower() in TEXT_SUFFIXES:
            form.addRow("Encoding", self.encoding_combo)
        else:
            self.encoding_combo.hide()
        if self.path.suffix.lower() in HEADER_SUFFIXES:
            form.addRow("", self.header_box)
        else:
            self.header_box.hide()

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

        self.sheet_combo.currentIndexChanged.connect(self._reload)
        self.encoding_combo.currentIndexChanged.connect(self._reload)
        self.header_box.toggled.connect(self._header_toggled)
        self.column_combo.currentIndexChanged.connect(self._mark_column)
        self.join_list.itemChanged.connect(lambda _item: self._mark_column(self.column_combo.currentIndex()))
        self.preview.horizontalHeader().sectionClicked.connect(self.column_combo.setCurrentIndex)
        self._load_preview()

    # ------------------------------------------------------------------ results

    def sheet(self) -> str | None:
        return self.sheet_combo.currentData() if self.sheet_combo.count() else None

    def column(self) -> int | list[int] | None:
        """The text column, or [main, joined...] when further columns are ticked."""
        if not self.column_combo.count():
            return None
        main = self.column_combo.currentIndex()
        extra = [j for j in self._joined() if j != main]
        return [main, *extra] if extra else main

    def _remembered_id(self, table) -> int | None:
        """The index of the column this file's reviews were kept under, if the preview has it."""
        from cmhl_desktop.core.reviews import remembered_id_column

        self._id_offered = True
        try:
            name = remembered_id_column(self.data_dir, self.path, self.sheet())
        except OSError:
            return None
        names = [str(c) for c in table.columns]
        if name is None or name not in names:
            return None
        self._remembered = name
        return names.index(name)

    def id_column(self) -> int | None:
        """The column chosen to identify posts for their reviews (None: by their text)."""
        return self.id_combo.currentData()

    def read_options(self) -> dict:
        """Keyword arguments for `read_input`: the encoding chosen (None: detect) and whether the
        first row is a header (None: detect, unless the user set the box)."""
        return {
            "encoding": self.encoding_combo.currentData(),
            "header": self.header_box.isChecked() if self._header_user else None,
        }

    def _joined(self) -> list[int]:
        out = []
        for k in range(self.join_list.count()):
            item = self.join_list.item(k)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def _header_toggled(self, _on: bool) -> None:
        self._header_user = True
        self._reload()

    def _reload(self, *_args) -> None:
        self._load_preview()

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
        from cmhl_desktop.core.readers import preview_input

        self.error_label.setText("")
        self.error_label.hide()
        try:
            table = preview_input(self.path, sheet=self.sheet(), rows=PREVIEW_ROWS, **self.read_options())
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
        keep = self.id_combo.currentData()
        self.id_combo.clear()
        self.id_combo.addItem("(none: recognise posts by their text)", None)
        for j, c in enumerate(table.columns):
            self.id_combo.addItem(str(c) if str(c) else f"(column {j + 1})", j)
        if keep is None and not self._id_offered and table.kind != "scored":
            keep = self._remembered_id(table)
        self.id_combo.setCurrentIndex(max(0, self.id_combo.findData(keep)))
        self.join_list.blockSignals(True)
        self.join_list.clear()
        for j, c in enumerate(table.columns):
            item = QListWidgetItem(str(c) if str(c) else f"(column {j + 1})")
            item.setData(Qt.ItemDataRole.UserRole, j)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            joined = j in table.text_columns and j != table.text_column
            item.setCheckState(Qt.CheckState.Checked if joined else Qt.CheckState.Unchecked)
            self.join_list.addItem(item)
        self.join_list.blockSignals(False)
        self.header_box.blockSignals(True)
        self.header_box.setChecked(table.header)
        self.header_box.blockSignals(False)
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
            self.join_list.setEnabled(False)
            self.id_combo.setEnabled(False)
        else:
            lines = [f"Input type: {table.kind}. Choose the column that holds the post text."]
            if table.encoding:
                how = "detected" if self.encoding_combo.currentData() is None else "chosen"
                lines.append(f"Encoding: {table.encoding} ({how}).")
            if not table.header:
                lines.append("The first row looks like data: columns are numbered (untick to change).")
            if self._remembered is not None:
                lines.append(f"Your reviews of this file are kept under the Post id ‘{self._remembered}’.")
            lines += [f"⚠ {w}" for w in table.warnings + table.notes]
            self.kind_label.setText("<br>".join(html.escape(x) for x in lines))
        self._mark_column(self.column_combo.currentIndex())

    def _mark_column(self, col: int) -> None:
        marked = {col, *self._joined()}
        for j in range(self.preview.columnCount()):
            brush = QBrush(QColor("#fff3c4")) if j in marked else QBrush()
            for i in range(self.preview.rowCount()):
                item = self.preview.item(i, j)
                if item is not None:
                    item.setBackground(brush)
        if 0 <= col < self.preview.columnCount():
            self.preview.scrollToItem(self.preview.item(0, col)) if self.preview.rowCount() else None
        self.preview.horizontalHeader().setSortIndicatorShown(False)
