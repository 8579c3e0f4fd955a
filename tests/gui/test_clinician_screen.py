"""The clinician's screen (issue 14 points 2, 5 and 6; issue 11's trigger sentence, concern order,
no-content badge and lexicon display) on the table, the detail view and the window."""

from __future__ import annotations

import math

import pytest
from conftest import open_and_score, write_posts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableView

from cmhl_desktop.core.export import SCOPE
from cmhl_desktop.core.highlights import STOP_MARK, TRIGGER_COLOR
from cmhl_desktop.core.results import FLAG_MARK, NO_CONTENT, PostResult
from cmhl_desktop.ui.detail_view import DetailView
from cmhl_desktop.ui.results_model import (
    BADGE_ROLE,
    COL_CATEGORY,
    COL_WHY,
    MUTED,
    ROW_ROLE,
    ResultsModel,
    ResultsProxy,
)
from cmhl_desktop.ui.results_view import ResultsView

pytestmark = pytest.mark.gui

DL = ["control", "depression", "suicidewatch", "anxiety", "bipolar"]
EL = ["sadness", "joy", "love", "anger", "fear", "surprise"]
TEXT = "We went to the shops. I have a plan to end my life this weekend. The dog was happy."
TRIGGER = (TEXT.index("I have"), TEXT.index("weekend.") + len("weekend."))


def result(flagged: bool = False, rules=(), score: float = 0.5, **kw) -> PostResult:
    r = PostResult(
        category=kw.pop("category", "bipolar"),
        distress_probs={c: 0.2 for c in DL},
        distress_score=score,
        emotion="joy",
        emotion_probs={e: 1 / 6 for e in EL},
        valence=0.3,
        intensity=0.4,
        flagged=flagged,
        flag_rules=list(rules),
        **kw,
    )
    return r


def crisis_post() -> PostResult:
    return result(
        True,
        ["suicidewatch"],
        0.31,
        segment_rules=["suicidewatch"],
        trigger_span=TRIGGER,
        trigger_score=0.93,
        lexicon_matches=[
            ("active suicidal ideation", "end my life", TEXT.index("end my"), TEXT.index(" this w"))
        ],
    )


def table(qtbot, results, texts=None):
    texts = texts or [f"post {i}" for i in range(len(results))]
    model = ResultsModel()
    model.crisis_rules = frozenset({"suicidewatch"})
    proxy = ResultsProxy()
    proxy.setSourceModel(model)
    view = ResultsView(proxy)
    qtbot.addWidget(view)
    model.reset(texts, results)
    return model, proxy, view


def rows(proxy) -> list[int]:
    return [proxy.index(i, 0).data(ROW_ROLE) for i in range(proxy.rowCount())]


# ------------------------------------------------------------------ table (point 2, issue 11)


def test_partly_read_and_no_content_badges_and_muted_categories(qtbot):
    res = [
        result(True, ["any_distress"], 0.9, category="depression"),
        result(False, score=0.2, category="bipolar"),  # a calm post: its category is only a reference
        result(True, ["any_distress"], 0.8, status="truncated", read_end=40),
        PostResult(status=NO_CONTENT),
    ]
    model, proxy, _view = table(qtbot, res)
    by_row = {proxy.index(i, 0).data(ROW_ROLE): i for i in range(proxy.rowCount())}
    badge = lambda row: [b for b, _c in proxy.index(by_row[row], COL_WHY).data(BADGE_ROLE)]  # noqa: E731
    assert badge(2) == ["partly read"]
    assert badge(3) == [NO_CONTENT]
    assert badge(0) == [] and badge(1) == []
    unflagged = proxy.index(by_row[1], COL_CATEGORY)
    flagged = proxy.index(by_row[0], COL_CATEGORY)
    assert unflagged.data(Qt.ItemDataRole.FontRole).italic()
    assert unflagged.data(Qt.ItemDataRole.ForegroundRole).color() == MUTED
    assert flagged.data(Qt.ItemDataRole.FontRole) is None
    assert "for reference only" in unflagged.data(Qt.ItemDataRole.ToolTipRole)


def test_flagged_posts_are_ordered_by_concern(qtbot):
    """Issue 11: a post flagged by the suicidewatch rule comes first, however low its distress score."""
    res = [
        result(True, ["any_distress"], 0.99),
        result(False, score=0.1),
        crisis_post(),  # distress 0.31, flagged by one sentence
        result(True, ["any_distress"], 0.95),
    ]
    _m, proxy, _v = table(qtbot, res)
    assert rows(proxy) == [2, 0, 3, 1]
    assert proxy.index(0, COL_WHY).data().startswith("suicidewatch: one sentence reads as a crisis")


def test_tab_leaves_the_table_and_focus_is_visible(qtbot, make_window, posts_csv):
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    assert not w.view.tabKeyNavigation()
    w.activateWindow()
    w.view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.view, timeout=5000)
    qtbot.keyClick(w.view, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not w.view, "Tab is not trapped in the table"
    qss = QApplication.instance().styleSheet()
    for sel in (
        "QTableView:focus",
        "QLineEdit:focus",
        "QPlainTextEdit:focus",
        "QComboBox:focus",
        "QPushButton:focus",
    ):
        assert sel in qss, f"no visible focus for {sel}"
    assert "QRadioButton:focus" in qss


# ------------------------------------------------------------------ detail view (points 2, 5; issue 11)


def detail(qtbot) -> DetailView:
    d = DetailView()
    qtbot.addWidget(d)
    d.set_labels(DL, EL)
    d.resize(600, 700)
    d.show()
    return d


def test_trigger_sentence_lexicon_and_plain_reason_in_the_detail_view(qtbot):
    d = detail(qtbot)
    d.show_post(0, TEXT, crisis_post(), ("distress", "suicidewatch"))
    html = d.browser.toHtml()
    assert 'name="trigger"' in html and "underline" in html and TRIGGER_COLOR[1:] in html.lower()
    reason = d.reason.text()
    assert "one sentence reads as a crisis" in reason and "Underlined" in reason
    assert "0.93" not in reason and "0.93" in d.reason.toolTip(), "the sentence's score is in the tooltip"
    assert d.lexicon.isVisible()
    assert (
        "active suicidal ideation: 'end my life'" in d.lexicon.text()
        and "do not raise flags" in d.lexicon.text()
    )
    assert FLAG_MARK in d.title.text()
    for jargon in ("logit", "P(control)", "threshold", "Δ"):
        assert jargon not in d.title.text() + reason, jargon
    assert "1 − P(control)" in d.title.toolTip(), "the technical definition stays in the tooltip"


def test_partly_read_post_has_a_marker_where_reading_stopped(qtbot):
    d = detail(qtbot)
    text = "word " * 200
    d.show_post(3, text, result(False, status="truncated", read_end=300), ("distress", "depression"))
    assert STOP_MARK.strip() in d.browser.toPlainText()
    plain = d.browser.toPlainText()
    assert plain.index(STOP_MARK.strip()) <= 300 + 5
    assert "Partly read" in d.reason.text()
    assert "may still need attention" in d.reason.text()


def test_no_content_post_says_so(qtbot):
    d = detail(qtbot)
    d.show_post(4, "[deleted]", PostResult(status=NO_CONTENT), ("distress", "depression"))
    assert "No content" in d.reason.text()
    assert "not scored" in d.attr_status.text()


# ------------------------------------------------------------------ the window (points 2, 5, 6)


def test_scope_line_rule_words_and_no_content_count(qtbot, make_window, tmp_path):
    w = make_window()
    posts = ["I can't sleep and nothing matters.", "[deleted]", "12345", "Nice walk today."]
    open_and_score(qtbot, w, write_posts(tmp_path / "p.csv", posts=posts))
    assert w.scope_label.isVisible() and SCOPE in w.scope_label.text()
    assert "unflagged post may still need attention" in SCOPE
    assert "2 with no content" in w.results.count_label.text()
    assert [r.status for r in w.session.results[1:3]] == [NO_CONTENT, NO_CONTENT]
    assert not any(r.flagged for r in w.session.results[1:3])
    for rule, info in w.flag_panel.infos.items():
        assert "in 100" in info.text() and "threshold" not in info.text(), rule
        tip = info.toolTip() + w.flag_panel.spins[rule].toolTip()
        assert "threshold" in info.toolTip()
        assert "95% interval" in info.toolTip(), "the validation rates carry their uncertainty"
        assert "validation data" in tip and "rarer" in tip, "recall/precision depend on prevalence"


def test_keyboard_path_open_next_status_note_export(qtbot, make_window, tmp_path, monkeypatch):
    """Open (Ctrl+O) → next flagged (Ctrl+Down) → status (2) → note (N, type, Tab) → reviewer
    (Ctrl+Shift+R) → export (Ctrl+E), without the mouse; Esc clears the search."""
    from PySide6.QtWidgets import QFileDialog

    path = write_posts(tmp_path / "posts.csv")
    out = tmp_path / "keyboard.xlsx"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    w = make_window()
    w.interactive = False  # no sheet/column dialog: the column is guessed
    w.activateWindow()
    with qtbot.waitSignal(w.scoring_done, timeout=60_000):
        qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QTableView), timeout=5000)
    first = w.current_input_row()
    qtbot.keyClick(w.view, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    row = w.current_input_row()
    assert row != first and w.session.results[row].flagged
    qtbot.keyClick(w.view, Qt.Key.Key_2)
    assert w.session.results[row].review_status == "confirmed"
    # the reviewer is asked once: answer with the keyboard
    qtbot.waitUntil(lambda: w.detail.review.prompt.isVisible(), timeout=5000)
    w.detail.review.prompt_edit.clear()
    qtbot.keyClicks(w.detail.review.prompt_edit, "AB")
    qtbot.keyClick(w.detail.review.prompt_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.view, timeout=5000)
    qtbot.keyClick(w.view, Qt.Key.Key_N)
    assert QApplication.focusWidget() is w.detail.note_edit
    qtbot.keyClicks(w.detail.note_edit, "called the duty team")
    qtbot.keyClick(w.detail.note_edit, Qt.Key.Key_Escape)  # saves the note, back to the table
    assert w.session.results[row].review_note == "called the duty team"
    assert QApplication.focusWidget() is w.view
    assert w.session.results[row].reviewer == "AB"
    qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is w.detail.reviewer_edit
    # search: Ctrl+F, type, Esc clears it
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.results.search_edit
    qtbot.keyClicks(w.results.search_edit, "banana")
    qtbot.keyClick(w.results.search_edit, Qt.Key.Key_Escape)
    assert w.results.search_edit.text() == ""
    with qtbot.waitSignal(w.export_done, timeout=60_000):
        qtbot.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert out.is_file()
    assert not math.isnan(w.session.results[row].review_time or math.nan)


def test_highlights_are_described_in_plain_words_with_figures_in_the_tooltip(qtbot, make_window, posts_csv):
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    row = w.current_input_row()
    w.explanations.clear()
    with qtbot.waitSignal(w.explanation_ready, timeout=60_000):
        w.select_input_row(row) or w._show_current()
    line, tip = w.detail.attr_status.text(), w.detail.attr_status.toolTip()
    assert "Red words pushed this post toward" in line
    for jargon in ("logit", "Δ", "P(", "steps"):
        assert jargon not in line, jargon
    assert "convergence" in tip and "units" in tip, "the technical figures stay in the tooltip"
    # each coloured word's tooltip says in words which way it pushed
    tips = set()
    block = w.detail.browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            tips.add(it.fragment().charFormat().toolTip())
            it += 1
        block = block.next()
    assert any(t.startswith(("pushed toward ", "pushed away from ")) for t in tips), tips


def test_a_partly_read_post_in_the_window(qtbot, make_window, tmp_path):
    """A post longer than the model reads: badge in the table, counted, marker in the text."""
    w = make_window()
    long_post = "The garden needs weeding and the fence needs paint. " * 120  # ~1,300 tokens > the read limit
    open_and_score(qtbot, w, write_posts(tmp_path / "long.csv", posts=[long_post, "A short one."]))
    r = w.session.results[0]
    assert r.partly_read and r.read_end is not None and 0 < r.read_end < len(long_post)
    assert "1 partly read" in w.results.count_label.text()
    w.select_input_row(0)
    row = w.proxy.proxy_row(0)
    assert "partly read" in [b for b, _c in w.proxy.index(row, COL_WHY).data(BADGE_ROLE)]
    assert STOP_MARK.strip() in w.detail.browser.toPlainText()


def test_a_post_unflagged_by_a_lower_target_loses_its_underline_in_cached_highlights(
    qtbot, make_window, posts_csv
):
    """Found by a new-user test: the highlights page is cached, and after a re-flag unflagged a post
    its crisis underline stayed (without the legend). The page is now rendered again from the kept
    explanation when the post's marks changed, without computing the attributions again."""
    w = make_window()
    open_and_score(qtbot, w, posts_csv)
    row = w.current_input_row()
    qtbot.waitUntil(lambda: not w.jobs.running("explain"), timeout=60_000)  # the post on screen
    r = w.session.results[row]
    r.flagged, r.flag_rules, r.trigger_span = True, ["suicidewatch"], (0, 5)
    w.explanations.clear()
    w.detail.show_post(row, w.session.texts[row], r, w.detail.current_target())
    with qtbot.waitSignal(w.explanation_ready, timeout=60_000):
        w.explanations.request(row, *w.detail.current_target())
    qtbot.waitUntil(lambda: not w.jobs.running("explain"), timeout=60_000)
    assert 'name="trigger"' in w.detail.browser.toHtml()
    calls = []
    w.session.explain = lambda *a, **k: calls.append(a)  # a cache hit must not explain again
    r.flagged, r.flag_rules = False, []  # as a re-flag at a lower target leaves it
    w.detail.show_post(row, w.session.texts[row], r, w.detail.current_target())
    w.explanations.request(row, *w.detail.current_target())
    html = w.detail.browser.toHtml()
    assert 'name="trigger"' not in html and "Underlined" not in w.detail.reason.text()
    assert calls == [] and "background-color" in html  # the word highlights are still there
