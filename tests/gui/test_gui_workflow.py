"""The clinician's workflow through the real widgets: open → column dialog → score → table → detail
with highlights → keyboard review → export → reopen the export (no re-scoring, review restored)."""

from __future__ import annotations

import json
import logging
import math

import pytest
from conftest import POSTS, open_and_score, write_posts
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog

from cmhl_desktop.core.results import FLAG_MARK, REVIEW_STATUSES
from cmhl_desktop.ui.results_model import COL_DISTRESS, COL_FLAG, COL_REVIEW, RESULT_ROLE, ROW_ROLE

pytestmark = pytest.mark.gui


def flagged_column(w) -> list[bool]:
    return [w.proxy.index(i, COL_FLAG).data() == FLAG_MARK for i in range(w.proxy.rowCount())]


def focus_table(qtbot, w) -> None:
    w.activateWindow()
    w.view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.view, timeout=5000)


def test_window_shows_before_the_model_loads(qtbot, make_window):
    w = make_window(wait_model=False)
    assert w.isVisible()
    assert w.session.model is None
    assert "loading" in w.model_label.text().lower()
    assert w.offline_label.isVisible() and "Offline" in w.offline_label.text()
    with qtbot.waitSignal(w.model_ready, timeout=120_000):
        pass
    assert w.model_label.text() == "Model: tiny-test"
    assert w.flag_panel.spins, "the flag rules of the model are shown"


def test_workflow_through_real_widgets(qtbot, make_window, posts_csv, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    w = make_window()
    w.activateWindow()

    # ---- open with Ctrl+O (the file chooser is the only thing patched), then the column dialog
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(posts_csv), "")))
    qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.open_dialog is not None, timeout=5000)
    dlg = w.open_dialog
    assert dlg.column_combo.currentText() == "post", "the text column is guessed"
    assert dlg.preview.rowCount() == len(POSTS)
    dlg.column_combo.setCurrentIndex(2)
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    # ---- the table: every row, flagged first
    assert w.proxy.rowCount() == len(POSTS)
    flags = flagged_column(w)
    assert any(flags), "the tiny model flags something at its calibrated threshold"
    assert flags == sorted(flags, reverse=True), "flagged posts come first"
    assert str(posts_csv.name) in w.windowTitle()
    empty_row = POSTS.index("")
    assert w.model.result(empty_row).status == "empty"

    # ---- the detail view of the selected (top flagged) post, with highlights
    top = w.proxy.index(0, 0).data(ROW_ROLE)
    if w.detail.row != top or w.detail.attr_status.text().startswith("Computing"):
        with qtbot.waitSignal(w.explanation_ready, timeout=60_000):
            w.select_proxy_row(0)
    qtbot.waitUntil(lambda: w.detail.attr_status.text().startswith("Highlights"), timeout=60_000)
    assert w.detail.row == top
    assert POSTS[top % len(POSTS)] in w.detail.browser.toPlainText()
    assert "background" in w.detail.browser.toHtml(), "words are highlighted"
    assert w.detail.head_combo.currentText() == "distress"
    assert w.detail.class_combo.currentText() != "control"
    assert w.detail.distress_bars.items and w.detail.emotion_bars.items
    assert w.detail.circumplex.post is not None and len(w.detail.circumplex.points) == 6
    # the browser never follows links
    assert not w.detail.browser.openExternalLinks() and not w.detail.browser.openLinks()

    # switch the class: a new explanation is computed (and cached)
    other = next(c for c in w.session.model.distress_labels if c != w.detail.class_combo.currentText())
    with qtbot.waitSignal(
        w.explanation_ready, timeout=60_000, check_params_cb=lambda row, head, cls: cls == other
    ):
        w.detail.class_combo.setCurrentText(other)
    assert w.detail.attr_status.text().startswith(f"Highlights for distress: {other}")

    # ---- keyboard review: 2 = confirmed, J = next flagged, 4 = needs follow-up, note typed
    focus_table(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_2)
    assert w.model.result(top).review_status == "confirmed"
    assert w.proxy.index(0, COL_REVIEW).data() == "confirmed"
    # the first review of the session asks who is reviewing (once); the name goes on that review too
    prompt = w.detail.review.prompt_edit
    qtbot.waitUntil(lambda: w.detail.review.prompt.isVisible(), timeout=5000)
    prompt.clear()
    qtbot.keyClicks(prompt, "dr test")
    qtbot.keyClick(prompt, Qt.Key.Key_Return)
    assert not w.detail.review.prompt.isVisible()
    assert w.model.result(top).reviewer == "dr test"
    w.detail.note_edit.setFocus()
    qtbot.keyClicks(w.detail.note_edit, "called 1234")  # digits in the note are text, not shortcuts
    assert w.model.result(top).review_note == "", "a note is stored when committed, not per keystroke"
    qtbot.keyClick(w.detail.note_edit, Qt.Key.Key_Tab)  # leaving the note commits it
    assert w.model.result(top).review_note == "called 1234"
    assert w.model.result(top).review_status == "confirmed"
    assert w.model.result(top).reviewer == "dr test"
    focus_table(qtbot, w)
    n_flagged = sum(flags)
    qtbot.keyClick(w.view, Qt.Key.Key_J)
    second = w.current_input_row()
    if n_flagged > 1:
        assert second != top and w.model.result(second).flagged
        qtbot.keyClick(w.view, Qt.Key.Key_4)
        assert w.model.result(second).review_status == "needs follow-up"
        qtbot.keyClick(w.view, Qt.Key.Key_K)
        assert w.current_input_row() == top
    # autosaved: the store on disk already has it (write-through), with no post text
    lines = [json.loads(x) for x in w.session.store.path.read_text(encoding="utf-8").splitlines()[1:]]
    assert {"row": top, "status": "confirmed"}.items() <= lines[-1].items() or any(
        d["row"] == top and d["status"] == "confirmed" for d in lines
    )
    stored = w.session.store.path.read_text(encoding="utf-8")
    assert not any(p and p in stored for p in POSTS)

    # ---- export with Ctrl+E
    out = tmp_path / "out" / "reviewed.xlsx"
    out.parent.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "Excel workbook (*.xlsx)"))
    )
    assert w.act_export.isEnabled()
    with qtbot.waitSignal(w.export_done, timeout=60_000):
        qtbot.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert out.is_file()
    before = {
        i: (r.category, r.flagged, r.review_status, r.review_note, r.reviewer)
        for i, r in enumerate(w.model.results)
    }

    # ---- reopen the export: results and review come back, nothing is scored again
    def no_scoring(*a, **k):
        raise AssertionError("a reopened export must not be scored again")

    monkeypatch.setattr(w.session.model.scorer, "iter_score", no_scoring)
    monkeypatch.setattr(w.session.model.scorer, "score", no_scoring, raising=False)
    w.open_path(out)
    qtbot.waitUntil(lambda: w.open_dialog is not None, timeout=5000)
    assert w.open_dialog.is_scored()
    assert "exported CMHL workbook" in w.open_dialog.kind_label.text()
    with qtbot.waitSignal(w.table_ready, timeout=30_000):
        qtbot.mouseClick(
            w.open_dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
        )
    after = {
        i: (r.category, r.flagged, r.review_status, r.review_note, r.reviewer)
        for i, r in enumerate(w.model.results)
    }
    assert after == before
    assert w.proxy.rowCount() == len(POSTS)
    assert flagged_column(w) == sorted(flagged_column(w), reverse=True)

    # continue the review in the reopened export: it is saved under the export's own key
    w.select_input_row(top)
    focus_table(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_3)
    assert w.model.result(top).review_status == "not a concern"
    assert w.session.store.all()[w.session.keys[top]].status == "not a concern"

    # ---- no post text in any log record
    for rec in caplog.records:
        msg = rec.getMessage()
        assert not any(len(p) > 10 and p in msg for p in POSTS), "post text leaked into the log"


def test_recent_files_and_settings_persist(qtbot, make_window, posts_csv, settings):
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    rule = next(iter(w.flag_panel.spins))
    w.flag_panel.spins[rule].setValue(0.85)
    w.close()
    settings.sync()
    assert str(posts_csv.resolve()) in w.prefs.recent_files()
    assert float(settings.value(f"flags/{rule}")) == pytest.approx(0.85)
    assert settings.value("window/geometry") is not None
    assert settings.value("model/last_dir")

    w2 = make_window()
    assert w2.flag_panel.spins[rule].value() == pytest.approx(0.85), "target recall restored"
    assert w2.session.target_recall(rule) == pytest.approx(0.85)
    assert w2.recent_menu.actions()[0].toolTip() == str(posts_csv.resolve())
    with qtbot.waitSignal(w2.scoring_done, timeout=60_000):
        w2.recent_menu.actions()[0].trigger()
        qtbot.waitUntil(lambda: w2.open_dialog is not None, timeout=5000)
        w2.open_dialog.accept()


def test_drop_a_file_opens_it(qtbot, make_window, tmp_path):
    path = write_posts(tmp_path / "dropped.csv", n=5)
    w = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    w.dropEvent(ev)
    qtbot.waitUntil(lambda: w.open_dialog is not None, timeout=5000)
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        w.open_dialog.accept()
    assert w.proxy.rowCount() == 5


def test_filters(qtbot, make_window, tmp_path):
    path = write_posts(tmp_path / "posts.csv", n=40)
    w = make_window()
    open_and_score(qtbot, w, path)
    total = w.proxy.rowCount()
    assert total == 40

    w.results.flag_filter.setCurrentIndex(w.results.flag_filter.findData("flagged"))
    n_flagged = sum(1 for r in w.model.results if r.flagged)
    assert w.proxy.rowCount() == n_flagged
    w.results.flag_filter.setCurrentIndex(w.results.flag_filter.findData("not flagged"))
    assert w.proxy.rowCount() == total - n_flagged
    w.results.flag_filter.setCurrentIndex(0)

    cat = w.model.results[0].category
    w.results.category_filter.setCurrentIndex(w.results.category_filter.findData(cat))
    assert w.proxy.rowCount() == sum(1 for r in w.model.results if r.category == cat)
    assert all(w.proxy.index(i, 0).data(RESULT_ROLE).category == cat for i in range(w.proxy.rowCount()))
    w.results.category_filter.setCurrentIndex(0)

    qtbot.keyClicks(w.results.search_edit, "banana bread")
    qtbot.waitUntil(
        lambda: w.proxy.rowCount() == sum("banana bread" in t for t in w.model.texts), timeout=3000
    )
    w.results.search_edit.clear()
    qtbot.waitUntil(lambda: w.proxy.rowCount() == total, timeout=3000)

    # review filter follows review changes
    w.results.review_filter.setCurrentIndex(w.results.review_filter.findData("confirmed"))
    assert w.proxy.rowCount() == 0
    w.results.review_filter.setCurrentIndex(0)
    w.select_proxy_row(3)
    row = w.current_input_row()
    w.set_review_status("confirmed")
    w.results.review_filter.setCurrentIndex(w.results.review_filter.findData("confirmed"))
    assert w.proxy.rowCount() == 1 and w.proxy.index(0, 0).data(ROW_ROLE) == row
    assert set(REVIEW_STATUSES) == {
        w.results.review_filter.itemData(i) for i in range(1, w.results.review_filter.count())
    }

    # sorting by a column and back to "flagged first"
    w.results.review_filter.setCurrentIndex(0)
    w.view.sortByColumn(COL_DISTRESS, Qt.SortOrder.DescendingOrder)
    scores = [w.proxy.index(i, 0).data(RESULT_ROLE).distress_score for i in range(w.proxy.rowCount())]
    finite = [s for s in scores if not math.isnan(s)]
    assert finite == sorted(finite, reverse=True)
    w.view.sortByColumn(COL_FLAG, Qt.SortOrder.AscendingOrder)
    assert flagged_column(w) == sorted(flagged_column(w), reverse=True)


def test_explain_all_flagged_and_export_highlights(qtbot, make_window, posts_csv, tmp_path):
    from cmhl_desktop.core.readers import read_input

    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    flagged = [i for i, r in enumerate(w.model.results) if r.flagged]
    assert flagged
    with qtbot.waitSignal(w.explain_all_done, timeout=120_000) as blocker:
        w.act_explain_all.trigger()
    assert blocker.args[0] <= len(flagged)
    for i in flagged:
        r = w.model.result(i)
        assert r.words is not None and r.attribution_target.startswith("distress:"), "words kept for export"
        assert all(w.model.texts[i][ws.start : ws.end] == ws.word for ws in r.words)
    # explained posts open instantly from the cache
    w.select_input_row(flagged[0])
    assert w.detail.attr_status.text().startswith("Highlights")
    out = tmp_path / "explained.xlsx"
    with qtbot.waitSignal(w.export_done, timeout=60_000):
        w.export_to(out)
    back = read_input(out)
    assert [r.attribution_target for r in back.results if r.flagged] == [
        w.model.result(i).attribution_target for i in flagged
    ]


def test_subword_toggle_and_rescore_keeps_reviews(qtbot, make_window, posts_csv):
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    w.select_proxy_row(0)
    qtbot.waitUntil(lambda: w.detail.attr_status.text().startswith("Highlights"), timeout=60_000)
    words_html = w.detail.browser.toHtml()
    with qtbot.waitSignal(w.explanation_ready, timeout=60_000):
        w.detail.tokens_box.setChecked(True)
    assert w.detail.browser.toHtml() != words_html, "the token view differs from the word view"
    row = w.current_input_row()
    w.set_review_status("confirmed")
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        w.act_rescore.trigger()
    assert w.model.result(row).review_status == "confirmed"


def test_user_selection_is_not_moved_by_a_finishing_run(qtbot, make_window, tmp_path):
    path = write_posts(tmp_path / "many.csv", n=1500)
    w = make_window()
    picked = []

    def pick(*_):
        # the user clicks while rows are still arriving: done right here, since a queued timer could
        # run only after the run's last queued signals (a fast tiny model queues them all at once)
        if not picked and 3 < w.model.scored_count() < 1500:
            picked.append(True)
            w.select_proxy_row(2, by_user=True)
            picked.append(w.current_input_row())

    w.model.rowsInserted.connect(pick)
    with qtbot.waitSignal(w.scoring_done, timeout=120_000):
        w.open_path(path, ask=False)
    assert len(picked) == 2, "the user picked a row while the run went on"
    assert w.current_input_row() == picked[1], "the finishing run did not move the user's selection"
    flags = flagged_column(w)
    assert flags == sorted(flags, reverse=True)
