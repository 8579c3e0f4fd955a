"""Cancelling, bad inputs, bad models, a crash mid-review, and re-flagging without re-scoring."""

from __future__ import annotations

import copy

import pytest
import shiboken6
from conftest import POSTS, open_and_score, write_posts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from cmhl_desktop.core.results import FLAG_MARK
from cmhl_desktop.ui import workers
from cmhl_desktop.ui.results_model import COL_FLAG

pytestmark = pytest.mark.gui


def dismiss_error(qtbot, w) -> str:
    """Wait for the window's error box, read it, press OK; returns its text."""
    qtbot.waitUntil(lambda: bool(w.errors.boxes), timeout=30_000)
    box = w.errors.boxes[-1]
    assert box.isVisible()
    text = box.text()
    box.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not w.errors.boxes, timeout=5000)
    return text


def test_cancel_mid_run_keeps_the_window_working(qtbot, make_window, tmp_path):
    big = write_posts(tmp_path / "big.csv", n=6000)
    w = make_window()
    seen = []

    def first_progress(done, total):
        seen.append((done, total))
        if len(seen) == 1:
            assert w.jobs.progress_row.isVisible() and w.jobs.progress_row.cancel_button.isEnabled()
            qtbot.mouseClick(w.jobs.progress_row.cancel_button, Qt.MouseButton.LeftButton)

    w.scoring_progress.connect(first_progress)
    with qtbot.waitSignal(w.scoring_cancelled, timeout=120_000) as blocker:
        w.open_path(big, ask=False)
    scored = blocker.args[0]
    assert seen and seen[0][1] == 6000
    assert scored < 6000, "cancelling stopped the run early"
    assert w.model.scored_count() == scored
    assert not workers.running_tasks()
    assert not w.jobs.progress_row.isVisible()
    assert not w.act_export.isEnabled(), "a partial run cannot be exported"
    assert w.act_open.isEnabled() and w.act_rescore.isEnabled()
    assert "cancelled" in w.statusBar().currentMessage().lower()

    # the window keeps working: a small file scores to the end
    small = write_posts(tmp_path / "small.csv", n=6)
    w.scoring_progress.disconnect(first_progress)
    open_and_score(qtbot, w, small)
    assert w.proxy.rowCount() == 6 and w.model.complete()


def test_counts_after_a_cancel_are_those_of_the_rows_shown(qtbot, make_window, tmp_path):
    """Cancelled after the first rows arrived: the counts line and each flag rule's line count them."""
    big = write_posts(tmp_path / "big.csv", n=6000)
    w = make_window()
    w.model.rowsInserted.connect(lambda *_: w.jobs.cancel_current())
    with qtbot.waitSignal(w.scoring_cancelled, timeout=120_000) as blocker:
        w.open_path(big, ask=False)
    shown = [r for r in w.model.results if r is not None]
    assert 0 < blocker.args[0] == len(shown) < 6000
    assert any(r.flagged for r in shown)
    for name, label in w.flag_panel.infos.items():
        n = sum(name in r.flag_rules for r in shown)
        assert f"{n:,} flagged here" in label.text()
    assert f"⚑ {sum(r.flagged for r in shown):,} flagged" in w.results.count_label.text()


def test_escape_cancels(qtbot, make_window, tmp_path):
    big = write_posts(tmp_path / "big.csv", n=6000)
    w = make_window()
    w.activateWindow()
    w.scoring_progress.connect(lambda d, t: qtbot.keyClick(w.view, Qt.Key.Key_Escape))
    with qtbot.waitSignal(w.scoring_cancelled, timeout=120_000):
        w.open_path(big, ask=False)


def test_corrupt_file_gives_an_error_and_the_app_keeps_working(qtbot, make_window, tmp_path, posts_csv):
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not really a workbook " * 20)
    w = make_window()
    w.open_path(bad, ask=False)
    text = dismiss_error(qtbot, w)
    assert "broken.xlsx" in text
    qtbot.waitUntil(lambda: w.act_open.isEnabled(), timeout=10_000)
    assert w.session.table is None

    # the column dialog also reports it, without crashing, and offers no Score button
    w.open_path(bad)
    qtbot.waitUntil(lambda: w.open_dialog is not None, timeout=5000)
    dlg = w.open_dialog
    assert dlg.error_label.text()
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
    dlg.reject()

    # a text file whose bytes are binary: the message names the file, never its content
    weird = tmp_path / "weird.csv"
    weird.write_bytes(b"\x89PNG\r\n\x1a\n" + b"I keep thinking about it" * 5)
    w.open_path(weird, ask=False)
    text = dismiss_error(qtbot, w)
    assert "weird.csv" in text and "I keep thinking" not in text

    open_and_score(qtbot, w, posts_csv)
    assert w.proxy.rowCount() == len(POSTS)


def test_missing_file_and_busy_messages(qtbot, make_window, tmp_path):
    w = make_window()
    w.open_path(tmp_path / "nope.csv", ask=False)
    assert "nope.csv" in dismiss_error(qtbot, w)


def test_review_autosave_survives_a_crash(
    qtbot, make_window, posts_csv, settings, tmp_path, tiny_checkpoint_dir
):
    from cmhl_desktop.ui.main_window import MainWindow

    # built by hand (not registered with qtbot): it is destroyed below without being closed
    w = MainWindow(model_dir=tiny_checkpoint_dir, settings=settings, data_dir=tmp_path / "appdata")
    with qtbot.waitSignal(w.model_ready, timeout=120_000):
        w.show()
    open_and_score(qtbot, w, posts_csv)
    w.activateWindow()
    w.view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.view, timeout=5000)
    w.select_proxy_row(0)
    first = w.current_input_row()
    qtbot.keyClick(w.view, Qt.Key.Key_2)
    qtbot.keyClicks(w.detail.note_edit, "rang the GP")
    w.select_proxy_row(2)
    third = w.current_input_row()
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_4)
    assert w.model.result(third).review_status == "needs follow-up"

    # crash: threads die with the process; no closeEvent, no settings saved, nothing flushed
    w.shutdown()
    shiboken6.delete(w)
    QApplication.processEvents()

    w2 = make_window()
    open_and_score(qtbot, w2, posts_csv)
    r1, r3 = w2.model.result(first), w2.model.result(third)
    assert (r1.review_status, r1.review_note) == ("confirmed", "rang the GP")
    assert r3.review_status == "needs follow-up"
    others = [r for i, r in enumerate(w2.model.results) if i not in (first, third)]
    assert all(r.review_status == "unreviewed" for r in others)


def test_reflag_from_the_recall_control_does_not_rescore(qtbot, make_window, tmp_path, monkeypatch):
    from cmhl_desktop.core.flags import FlagPolicy

    path = write_posts(tmp_path / "posts.csv", n=60)
    w = make_window()
    open_and_score(qtbot, w, path)
    calls = []
    monkeypatch.setattr(w.session.model.scorer, "iter_score", lambda *a, **k: calls.append(1) or iter(()))
    monkeypatch.setattr(w.session.model.scorer, "score", lambda *a, **k: calls.append(1) or [], raising=False)
    snapshot = copy.deepcopy(w.model.results)

    changed = []
    for rule in [r.name for r in w.session.model.rules]:
        spin = w.flag_panel.spins[rule]
        counts = {}
        for target in (0.5, 0.99, 0.8):
            spin.setValue(target)
            policy = FlagPolicy(w.session.model.ckpt.calibration, w.session.model.distress_labels)
            for other in w.session.model.rules:  # the other rules stay where the window has them
                policy.set_target_recall(other.name, w.flag_panel.spins[other.name].value())
            assert w.session.policy.threshold(rule) == policy.threshold(rule)
            info = w.flag_panel.infos[rule].toolTip()  # technical figures in the tooltip
            assert f"threshold {policy.threshold(rule):.3f}" in info
            exp = policy.expected(rule)
            assert f"expected recall {exp['recall']:.2f} (95% interval" in info
            assert f"precision {exp['precision']:.2f} (95% interval" in info
            plain = w.flag_panel.infos[rule].text()
            assert "threshold" not in plain and f"~{round(100 * exp['recall'])} in 100" in plain
            expected = copy.deepcopy(snapshot)
            policy.reflag(expected)
            assert [r.flagged for r in w.model.results] == [r.flagged for r in expected]
            assert [r.flag_rules for r in w.model.results] == [r.flag_rules for r in expected]
            counts[target] = sum(rule in r.flag_rules for r in w.model.results)
            flags = [w.proxy.index(i, COL_FLAG).data() == FLAG_MARK for i in range(w.proxy.rowCount())]
            assert sum(flags) == sum(r.flagged for r in w.model.results)
            assert flags == sorted(flags, reverse=True), "still flagged first"
            # scores and everything else are untouched
            for a, b in zip(w.model.results, snapshot, strict=True):
                assert (a.distress_score, a.category, a.emotion) == (b.distress_score, b.category, b.emotion)
        assert counts[0.99] >= counts[0.8] >= counts[0.5], "a higher target recall flags at least as many"
        changed.append(counts[0.99] > counts[0.5])
    assert any(changed), "moving a target recall changed the flags"
    assert calls == [], "re-flagging must not score again"
    assert "no re-scoring" in w.statusBar().currentMessage()
    # the post on screen is shown again, with its highlights
    qtbot.waitUntil(lambda: w.detail.attr_status.text().startswith("Highlights"), timeout=60_000)

    # keyboard on the spin box works too
    spin.setFocus()
    before = spin.value()
    qtbot.keyClick(spin, Qt.Key.Key_Down)
    assert spin.value() == pytest.approx(before - 0.01)
    assert w.session.target_recall(rule) == pytest.approx(before - 0.01)


def test_bad_model_folder_keeps_the_current_model(qtbot, make_window, tmp_path):
    w = make_window()
    model = w.session.model
    bad = tmp_path / "not-a-checkpoint"
    bad.mkdir()
    (bad / "config.json").write_text("{}", encoding="utf-8")
    w.load_model(bad)
    text = dismiss_error(qtbot, w)
    assert "not a usable CMHL checkpoint" in text and "current model stays" in text
    qtbot.waitUntil(lambda: not w.jobs.running("load"), timeout=10_000)
    assert w.session.model is model
    assert w.model_label.text() == f"Model: {model.name}"


def test_choose_model_folder_loads_it(qtbot, make_window, tiny_checkpoint_dir, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w = make_window()
    old = w.session.model
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tiny_checkpoint_dir))
    )
    with qtbot.waitSignal(w.model_ready, timeout=60_000):
        w.act_model.trigger()
    assert w.session.model is not old and w.session.model.path == tiny_checkpoint_dir


def test_model_card_about_and_shortcuts(qtbot, make_window):
    w = make_window()
    w.act_card.trigger()
    qtbot.waitUntil(lambda: w._card.isVisible(), timeout=5000)
    assert "tiny-test" in w._card.browser.toPlainText()
    assert "random model" in w._card.browser.toPlainText()
    w._card.close()
    w.act_about.trigger()
    about = w._about.label.text()
    assert "screening aid" in about and "diagnosis" in about and "tiny-test" in about
    w._about.close()
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_F1)
    qtbot.waitUntil(
        lambda: getattr(w, "_shortcuts", None) is not None and w._shortcuts.isVisible(), timeout=5000
    )
    text = w._shortcuts.browser.toPlainText()
    for key in ("J", "K", "Ctrl+Down", "1", "4", "Ctrl+E", "Ctrl+O"):
        assert key in text
    w._shortcuts.close()


def test_reopening_an_export_while_the_model_loads_keeps_its_targets(
    qtbot, make_window, tmp_path, tiny_checkpoint_dir
):
    from cmhl.checkpoint import load_checkpoint

    from cmhl_desktop.cli import main

    src = write_posts(tmp_path / "posts.csv")
    out = tmp_path / "scored.xlsx"
    args = ["score", str(src), "-o", str(out), "--model", str(tiny_checkpoint_dir)]
    assert main([*args, "--target-recall", "suicidewatch=0.8"]) == 0
    w = make_window(wait_model=False, autoload=False)
    with qtbot.waitSignal(w.table_ready, timeout=30_000):
        w.open_path(out, ask=False)
    assert w.session.target_recall("suicidewatch") == 0.8
    with qtbot.waitSignal(w.model_ready, timeout=120_000):
        w.load_model(tiny_checkpoint_dir)
    assert w.flag_panel.spins["suicidewatch"].value() == pytest.approx(0.8)
    rule = load_checkpoint(tiny_checkpoint_dir).calibration.rule("suicidewatch")
    assert w.session.policy.threshold("suicidewatch") == rule.threshold_for(0.8)
    assert not w.jobs.running("score") and w.session.scoring_seconds is None, "an export is not re-scored"
