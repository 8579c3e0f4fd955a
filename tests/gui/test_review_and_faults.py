"""Reviews that survive a changed file, the crisis path, and the smaller faults (issue 14 points 3,
4, 7, 8) through the window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shiboken6
from conftest import POSTS, open_and_score, write_posts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cmhl_desktop.ui.dialogs import export_suggestion
from cmhl_desktop.ui.results_model import COL_REVIEW, COL_TEXT, URGENT_BG
from cmhl_desktop.ui.review_panel import NOTE_IDLE_MS

pytestmark = pytest.mark.gui

PROTOCOL = "Call the duty clinician on 0123 456 789 and record the time."


def journal_lines(w) -> list[dict]:
    text = w.session.store.path.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in text if x.strip()]


def answer_prompt(qtbot, w, name: str = "AB") -> None:
    qtbot.waitUntil(lambda: w.detail.review.prompt.isVisible(), timeout=5000)
    w.detail.review.prompt_edit.setText(name)
    qtbot.keyClick(w.detail.review.prompt_edit, Qt.Key.Key_Return)


# ------------------------------------------------------------------ point 3


def test_reviews_are_carried_over_to_a_new_version_of_the_file(qtbot, make_window, tmp_path):
    path = write_posts(tmp_path / "posts.csv")
    w = make_window()
    open_and_score(qtbot, w, path)
    w.select_input_row(0)
    w.set_review_status("confirmed")
    answer_prompt(qtbot, w)
    w.select_input_row(3)
    w.set_review_status("not a concern")
    where = w.detail.review.storage_label.text()
    assert "Reviews are kept on this computer" in where and str(w.session.store.path.parent) in where
    # the file gains one post at the end; its earlier reviews follow their posts
    write_posts(path, posts=[*POSTS, "A brand new post about the garden."])
    open_and_score(qtbot, w, path)
    assert w.session.results[0].review_status == "confirmed"
    assert w.session.results[3].review_status == "not a concern"
    assert w.session.results[len(POSTS)].review_status == "unreviewed"
    message = w.session.review_message
    assert "2 reviews carried over, 1 post is new" in message
    assert message in w.detail.review.storage_label.text()
    assert message in w.statusBar().currentMessage()  # not overwritten by "Scored N posts"


def test_a_note_is_stored_when_committed_not_per_keystroke(qtbot, make_window, posts_csv):
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    w.select_input_row(1)
    w.set_review_status("needs follow-up")
    answer_prompt(qtbot, w)
    row = w.current_input_row()
    before = len(journal_lines(w))
    w.detail.note_edit.setFocus()
    qtbot.keyClicks(w.detail.note_edit, "phoned, no answer")
    assert len(journal_lines(w)) == before, "nothing is stored while typing"
    qtbot.waitUntil(
        lambda: w.session.results[row].review_note == "phoned, no answer", timeout=NOTE_IDLE_MS * 4
    )
    lines = journal_lines(w)
    assert len(lines) == before + 1 and lines[-1]["note"] == "phoned, no answer"
    assert "✓ saved" in w.detail.saved_label.text()


# ------------------------------------------------------------------ point 4


def test_urgent_has_its_key_colour_protocol_and_one_reviewer_prompt(qtbot, make_window, posts_csv):
    w = make_window()
    w.prefs.protocol = PROTOCOL
    w.detail.review.set_protocol(PROTOCOL)
    open_and_score(qtbot, w, posts_csv)
    w.activateWindow()
    w.view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.view, timeout=5000)
    row = w.current_input_row()
    qtbot.keyClick(w.view, Qt.Key.Key_5)
    assert w.session.results[row].review_status == "urgent"
    assert w.detail.review.protocol_label.isVisible() and PROTOCOL in w.detail.review.protocol_label.text()
    assert PROTOCOL in w.statusBar().currentMessage()
    proxy_row = w.proxy.proxy_row(row)
    assert w.proxy.index(proxy_row, COL_REVIEW).data(Qt.ItemDataRole.BackgroundRole).color() == URGENT_BG
    answer_prompt(qtbot, w, "Dr B")
    assert w.session.results[row].reviewer == "Dr B", "the review made before the answer gets the name"
    # asked once per session: the next review does not ask again
    w.select_proxy_row(proxy_row + 1)
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_2)
    assert not w.detail.review.prompt.isVisible()
    assert w.session.results[w.current_input_row()].reviewer == "Dr B"
    assert w.session.results[row].review_time > 0
    # another post that is not urgent hides the protocol
    assert not w.detail.review.protocol_label.isVisible()


# ------------------------------------------------------------------ point 7


def test_export_name_after_reopening_an_export_is_never_the_open_file(tmp_path):
    opened = tmp_path / "posts-cmhl.xlsx"
    opened.write_bytes(b"x")
    out = export_suggestion(opened, True, tmp_path)
    assert out != opened and out.name == "posts-cmhl-reviewed.xlsx"
    out.write_bytes(b"x")
    assert export_suggestion(out, True, tmp_path).name == "posts-cmhl-reviewed-2.xlsx"
    assert export_suggestion(tmp_path / "posts.csv", False, tmp_path).name == "posts-cmhl.xlsx"


def test_counts_are_never_the_last_files_while_a_new_one_is_opened(qtbot, make_window, tmp_path):
    w = make_window()
    open_and_score(qtbot, w, write_posts(tmp_path / "a.csv", n=40))
    assert "of 40 posts" in w.results.count_label.text()
    seen = []
    w.table_ready.connect(lambda n: seen.append(w.results.count_label.text()))
    open_and_score(qtbot, w, write_posts(tmp_path / "b.csv", n=7))
    assert seen and "40" not in seen[0], seen
    assert "of 7 posts" in w.results.count_label.text()


def test_sorting_keeps_the_selected_row_in_view(qtbot, make_window, tmp_path):
    w = make_window()
    w.resize(1280, 720)
    open_and_score(qtbot, w, write_posts(tmp_path / "many.csv", n=300))
    w.select_proxy_row(250)
    picked = w.current_input_row()
    w.view.sortByColumn(COL_TEXT, Qt.SortOrder.DescendingOrder)
    qtbot.wait(50)
    assert w.current_input_row() == picked
    rect = w.view.visualRect(w.view.currentIndex())
    assert w.view.viewport().rect().intersects(rect), "the selected row is on screen after the sort"


def test_the_post_on_screen_is_explained_before_explain_all_finishes(qtbot, make_window, tmp_path):
    w = make_window()
    open_and_score(qtbot, w, write_posts(tmp_path / "p.csv", n=120))
    flagged = [i for i, r in enumerate(w.session.results) if r.flagged]
    if len(flagged) < 40:
        pytest.skip("the random model flags too few posts here")
    w.explanations.clear()
    target = flagged[-1]  # explained last by "Explain all flagged"
    w.act_explain_all.trigger()
    assert w.jobs.running("explain-all")
    running_when_ready = []
    w.explanation_ready.connect(
        lambda row, *_: row == target and running_when_ready.append(w.jobs.running("explain-all"))
    )
    with qtbot.waitSignal(w.explain_all_done, timeout=120_000):
        w.select_input_row(target)
    assert running_when_ready and running_when_ready[0], "the post on screen did not wait for the rest"


def test_after_a_crash_the_last_file_reopens_with_its_saved_scores(
    qtbot, make_window, settings, tmp_path, tiny_checkpoint_dir, monkeypatch
):
    from cmhl_desktop.ui.main_window import MainWindow

    path = write_posts(tmp_path / "posts.csv")
    w = MainWindow(model_dir=tiny_checkpoint_dir, settings=settings, data_dir=tmp_path / "appdata")
    with qtbot.waitSignal(w.model_ready, timeout=120_000):
        w.show()
    open_and_score(qtbot, w, path)
    qtbot.waitUntil(lambda: not w.jobs.running("save-scores"), timeout=10_000)
    w.select_input_row(2)
    w.set_review_status("confirmed")
    before = [(r.category, r.flagged) for r in w.session.results]
    w.shutdown()  # a crash: no closeEvent
    shiboken6.delete(w)
    QApplication.processEvents()

    w2 = make_window()
    assert w2.recovery_bar.isVisible() and Path(path).name in w2.recovery_bar.label.text()

    def no_scoring(*a, **k):
        raise AssertionError("recovery must not score the file again")

    monkeypatch.setattr(w2.session.model.scorer, "iter_score", no_scoring)
    with qtbot.waitSignal(w2.table_ready, timeout=30_000):
        qtbot.mouseClick(w2.recovery_bar.reopen_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w2.session.counts.done == len(POSTS), timeout=10_000)
    assert [(r.category, r.flagged) for r in w2.session.results] == before
    assert w2.session.results[2].review_status == "confirmed"
    assert "saved scores" in w2.statusBar().currentMessage()
    w2.shutdown()  # crash again (no closeEvent), then open a file without answering the offer
    QApplication.processEvents()
    w3 = make_window()
    assert w3.recovery_bar.isVisible()
    open_and_score(qtbot, w3, write_posts(tmp_path / "other.csv"))
    assert not w3.recovery_bar.isVisible(), "a stale offer stayed above the open file"


def test_choosing_the_open_file_as_export_says_why_at_once(
    qtbot, make_window, posts_csv, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    out = tmp_path / "first.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    with qtbot.waitSignal(w.export_done, timeout=60_000):
        w.export_dialog()
    w.interactive = False
    w.open_path(out, ask=False)
    qtbot.waitUntil(lambda: w.session.table is not None and w.session.table.source == out, timeout=30_000)
    offered = []

    def save_name(parent, title, suggestion, *a, **k):
        offered.append(suggestion)
        return str(out), ""  # the user picks the open export itself

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    with qtbot.waitSignal(w.error_shown, timeout=5000) as shown:
        w.export_dialog()
    assert Path(offered[0]).name == "first-reviewed.xlsx", "the name offered is not the open file"
    assert "never overwritten" in shown.args[1]
    assert not w.jobs.running("export")


def test_the_local_protocol_is_set_from_the_review_menu(qtbot, make_window, posts_csv, settings):
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    w.act_protocol.trigger()
    d = w.reviews.dialog
    assert d is not None and d.isVisible()
    d.edit.setPlainText(PROTOCOL)
    d.accept()
    assert w.prefs.protocol == PROTOCOL and w.detail.review.protocol == PROTOCOL
    settings.sync()
    w.set_review_status("urgent")
    assert PROTOCOL in w.detail.review.protocol_label.text()
    w.act_storage.trigger()  # where the reviews live, with a button that opens the folder
    from PySide6.QtWidgets import QLabel

    assert str(w.session.store.path) in w.reviews.dialog.findChild(QLabel).text()
    w.reviews.dialog.reject()


def test_reviews_follow_a_chosen_id_column_when_a_post_is_edited(qtbot, make_window, tmp_path):
    """Point 3: with an id column chosen in the open dialog, a review follows its post even when the
    post's text was edited and rows moved."""
    import csv

    def write(rows):
        with open(path, "w", encoding="utf-8", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["post_id", "post"])
            wr.writerows(rows)

    def open_with_ids():
        w.open_path(path)
        qtbot.waitUntil(
            lambda: w.open_dialog is not None and w.open_dialog.id_combo.count() > 1, timeout=10_000
        )
        d = w.open_dialog
        d.id_combo.setCurrentIndex(d.id_combo.findText("post_id"))
        assert d.id_column() is not None
        with qtbot.waitSignal(w.scoring_done, timeout=60_000):
            d.accept()

    path = tmp_path / "ids.csv"
    write([("a1", "First post about the weather."), ("b2", "I cant sleep at all."), ("c3", "Soup recipe.")])
    w = make_window()
    open_with_ids()
    w.select_input_row(1)
    w.set_review_status("needs follow-up")
    answer_prompt(qtbot, w)
    # the post was corrected ("cant" -> "can't") and a new one added at the top
    write(
        [
            ("z9", "A new post."),
            ("a1", "First post about the weather."),
            ("b2", "I can't sleep at all."),
            ("c3", "Soup recipe."),
        ]
    )
    open_with_ids()
    assert w.session.results[2].review_status == "needs follow-up"
    assert "1 review carried over, 1 post is new" in w.session.review_message


def test_reviews_kept_under_an_id_column_are_offered_again_never_silently_hidden(
    qtbot, make_window, tmp_path
):
    """Found by a new-user test: reopening a file without the Post id its reviews were kept under
    showed '0 reviewed' and no word. The dialog now preselects that column, and choosing another one
    says where the reviews are."""
    import csv

    path = tmp_path / "ids.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(
            [["post_id", "post"], ["a1", "Rain all day."], ["b2", "I cant sleep at all."]]
        )

    def open_dialog():
        w.open_path(path)
        qtbot.waitUntil(
            lambda: w.open_dialog is not None and w.open_dialog.id_combo.count() > 1, timeout=10_000
        )
        return w.open_dialog

    w = make_window()
    d = open_dialog()
    assert d.id_column() is None  # nothing remembered yet: the post text
    d.id_combo.setCurrentIndex(d.id_combo.findText("post_id"))
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        d.accept()
    w.select_input_row(1)
    w.set_review_status("needs follow-up")
    answer_prompt(qtbot, w)

    d = open_dialog()
    assert d.id_combo.currentText() == "post_id", "the Post id the reviews were kept under is offered"
    assert "kept under the Post id ‘post_id’" in d.kind_label.text(), "and the dialog says why"
    d.id_combo.setCurrentIndex(0)  # the user insists on the post text
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        d.accept()
    assert all(r.review_status == "unreviewed" for r in w.session.results)
    assert (
        "id column 'post_id'" in w.session.review_message and "nothing was lost" in w.session.review_message
    )

    d = open_dialog()  # still offered: the choice that holds the reviews is not forgotten
    assert d.id_combo.currentText() == "post_id"
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        d.accept()
    assert w.session.results[1].review_status == "needs follow-up"
