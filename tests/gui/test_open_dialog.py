"""The open dialog (issue 12): encoding choice, header box, joined text columns, sheets described,
and a preview that does not read the whole file. Inputs are the fictional hard-input corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from read_meter import ReadMeter, write_big_csv

from cmhl_desktop.core.readers import PREVIEW_BYTES
from cmhl_desktop.ui.open_dialog import OpenDialog

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hard_inputs"
pytestmark = pytest.mark.gui


def dialog(qtbot, name: str | Path) -> OpenDialog:
    dlg = OpenDialog(CORPUS / name if isinstance(name, str) else name)
    qtbot.addWidget(dlg)
    return dlg


def test_forum_dump_joins_title_and_body(qtbot):
    dlg = dialog(qtbot, "reddit_dump.jsonl")
    cols = dlg.table.columns
    assert dlg.column() == [cols.index("title"), cols.index("selftext")]
    assert not dlg.encoding_combo.isHidden() and dlg.header_box.isHidden()
    dlg.join_list.item(cols.index("selftext")).setCheckState(dlg.join_list.item(0).checkState().Unchecked)
    assert dlg.column() == cols.index("title")


def test_header_box_follows_detection_and_the_user(qtbot):
    dlg = dialog(qtbot, "no_header.csv")
    assert not dlg.header_box.isChecked() and dlg.preview.rowCount() == 5
    assert dlg.read_options() == {"encoding": None, "header": None}
    dlg.header_box.setChecked(True)
    assert dlg.read_options()["header"] is True and dlg.preview.rowCount() == 4


def test_encoding_shown_and_chosen(qtbot):
    dlg = dialog(qtbot, "mac_roman.csv")
    assert "mac_roman (detected)" in dlg.kind_label.text()
    dlg.encoding_combo.setCurrentIndex(dlg.encoding_combo.findData("cp1252"))
    assert dlg.read_options()["encoding"] == "cp1252"
    assert "cp1252 (chosen)" in dlg.kind_label.text()


def test_sheets_listed_with_what_they_are(qtbot):
    dlg = dialog(qtbot, "hidden_and_active_sheets.xlsx")
    assert dlg.sheet() == "posts"
    items = [dlg.sheet_combo.itemText(i) for i in range(dlg.sheet_combo.count())]
    assert any(t.startswith("lookup (hidden") for t in items)
    assert any(t.startswith("posts (active") for t in items)
    assert dlg.encoding_combo.isHidden()


def test_large_file_previews_from_a_bounded_read(qtbot, tmp_path, monkeypatch):
    """The dialog previews a large file from its first PREVIEW_BYTES only (counted on the file
    objects, every open included), never reaching its random tail (which would change the
    encoding shown)."""
    big = tmp_path / "big.csv"
    size = write_big_csv(big, 2 * PREVIEW_BYTES)
    meter = ReadMeter.watch(monkeypatch, big)
    dlg = dialog(qtbot, big)
    assert meter.opens >= 1 and 0 < meter.bytes <= meter.opens * (PREVIEW_BYTES + 1) < size
    assert dlg.preview.rowCount() == 20 and dlg.table.sha256 == ""
    assert "utf-8" in dlg.kind_label.text() and not dlg.error_label.text()
