"""The review journal: durable, forgiving, keyed by post identity, free of post text; and finding a
document's reviews again when the file changed (core/reviews.py)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from cmhl_desktop.core import review_store
from cmhl_desktop.core.review_store import (
    ENV_DATA_DIR,
    Review,
    ReviewStore,
    legacy_reviews,
    post_keys,
    resolve_data_dir,
    store_key,
)
from cmhl_desktop.core.reviews import open_reviews

SRC = Path("/tmp/some-input.csv")
K = post_keys([f"post number {i}" for i in range(10)])


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_DATA_DIR, raising=False)


def test_post_keys_follow_text_and_break_ties_by_order():
    texts = ["a", "b", "a", "c", "a"]
    keys = post_keys(texts)
    assert keys[0] == post_keys(["a"])[0] and keys[2] == keys[0] + "#1" and keys[4] == keys[0] + "#2"
    assert len(set(keys)) == 5
    assert post_keys(["x", "a", "b"])[1:] == keys[:2], "a row added above does not change a key"
    by_id = post_keys(["same", "same"], ids=[17, 18])
    assert by_id[0] != by_id[1] and all(k.startswith("i:") for k in by_id)
    assert post_keys(["t"], ids=[""])[0] == post_keys(["t"])[0], "a blank id falls back to the text"
    assert not any("post" in k for k in K), "keys are hashes, never text"


def test_set_then_reopen_restores(tmp_path):
    s = ReviewStore(tmp_path, SRC)
    assert s.all() == {}
    s.set(K[3], 3, "confirmed", "called the team", "dr a")
    s.set(K[7], 7, "needs follow-up")
    s.set(K[3], 3, "urgent", "second look", "dr b")  # last one wins
    got = ReviewStore(tmp_path, SRC).all()
    assert set(got) == {K[3], K[7]}
    assert (got[K[3]].status, got[K[3]].note, got[K[3]].reviewer) == ("urgent", "second look", "dr b")
    assert got[K[3]].time > 0 and got[K[3]].row == 3


def test_file_holds_only_review_fields(tmp_path):
    s = ReviewStore(tmp_path, SRC)
    s.set(K[0], 0, "confirmed", "n", "r")
    lines = s.path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"format": review_store.FORMAT, "input": SRC.name}
    for line in lines[1:]:
        assert set(json.loads(line)) == {"key", "row", "status", "note", "reviewer", "t"}


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_new_journal_is_private(tmp_path):
    """A journal holds clinicians' notes: only its owner may read it, from the first review on (as
    after compaction, which writes through mkstemp)."""
    s = ReviewStore(tmp_path, SRC)
    s.set(K[0], 0, "urgent", "a note", "dr a")
    assert stat.S_IMODE(s.path.stat().st_mode) == 0o600


def test_torn_last_line_is_skipped_and_next_write_is_clean(tmp_path):
    s = ReviewStore(tmp_path, SRC)
    s.set(K[1], 1, "confirmed")
    with open(s.path, "a", encoding="utf-8") as f:
        f.write('{"key": "' + K[2] + '", "status": "conf')  # power cut mid-write
    s2 = ReviewStore(tmp_path, SRC)
    assert set(s2.all()) == {K[1]}
    s2.set(K[4], 4, "needs follow-up")
    assert set(ReviewStore(tmp_path, SRC).all()) == {K[1], K[4]}


def test_bad_values_are_refused(tmp_path):
    s = ReviewStore(tmp_path, SRC)
    with pytest.raises(ValueError):
        s.set(K[1], 1, "maybe")
    with pytest.raises(ValueError):
        s.set(K[1], -1, "confirmed")
    with pytest.raises(ValueError):
        s.set("../../etc/passwd", 1, "confirmed")


def test_sheets_are_separate_documents(tmp_path):
    ReviewStore(tmp_path, SRC, sheet="A").set(K[0], 0, "confirmed")
    assert ReviewStore(tmp_path, SRC, sheet="B").all() == {}
    assert ReviewStore(tmp_path, SRC).all() == {}


def test_env_var_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "default") == tmp_path / "env"
    s = ReviewStore(tmp_path / "default", SRC)
    assert s.path.is_relative_to(tmp_path / "env")
    monkeypatch.delenv(ENV_DATA_DIR)
    with pytest.raises(ValueError):
        resolve_data_dir(None)


def test_compaction_keeps_state(tmp_path, monkeypatch):
    monkeypatch.setattr(review_store, "COMPACT_MIN_LINES", 10)
    s = ReviewStore(tmp_path, SRC)
    for i in range(30):
        s.set(K[5], 5, "confirmed", f"note {i}")
    s.set(K[6], 6, "not a concern")
    before = len(s.path.read_text(encoding="utf-8").splitlines())
    again = ReviewStore(tmp_path, SRC)  # compacts on open
    after = len(again.path.read_text(encoding="utf-8").splitlines())
    assert after == 3 < before
    assert again.all()[K[5]].note == "note 29"
    assert again.all()[K[6]].status == "not a concern"
    assert not list(again.folder.glob("*.part"))
    again.set(K[5], 5, "confirmed", "note 30")
    again.compact()  # also on request (the window: when a file is put away)
    assert len(again.path.read_text(encoding="utf-8").splitlines()) == 3


def test_unchanged_set_does_not_write(tmp_path):
    s = ReviewStore(tmp_path, SRC)
    s.set(K[1], 1, "confirmed", "x")
    size = s.path.stat().st_size
    s.set(K[1], 1, "confirmed", "x")
    assert s.path.stat().st_size == size


def test_set_fsyncs(tmp_path, monkeypatch):
    calls = []
    real = review_store.os.fsync
    monkeypatch.setattr(review_store.os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    ReviewStore(tmp_path, SRC).set(K[1], 1, "confirmed")
    assert calls


# --------------------------------------------------------------------------- a changed file


class _Table:
    """What open_reviews reads of an InputTable."""

    def __init__(self, source: Path, texts: list[str]) -> None:
        self.source, self.sheet = source, None
        self.sha256 = hashlib.sha256("\x00".join(texts).encode()).hexdigest()


def _write(path: Path, texts: list[str]) -> _Table:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["text"], *[[t] for t in texts]])
    return _Table(path, texts)


POSTS = [f"fictional post {i} about an ordinary week" for i in range(20)]


def test_reviews_follow_their_posts_into_a_new_version(tmp_path):
    src = tmp_path / "posts.csv"
    first = _write(src, POSTS)
    opened = open_reviews(tmp_path / "data", first, post_keys(POSTS))
    assert opened.by_row == {} and opened.message == ""
    keys = post_keys(POSTS)
    for row in (2, 5, 11):
        opened.store.set(keys[row], row, "confirmed", f"note {row}", "dr a")
    opened.store.set(keys[7], 7, "urgent", "rang the team", "dr a")
    # a new version: one post added at the top, one reviewed post removed
    new = ["a brand new fictional post"] + [p for i, p in enumerate(POSTS) if i != 11]
    again = open_reviews(tmp_path / "data", _write(src, new), post_keys(new))
    moved = {new.index(POSTS[r]): r for r in (2, 5, 7)}
    assert set(again.by_row) == set(moved), "each review is on its post's new row"
    for new_row, old_row in moved.items():
        assert again.by_row[new_row].note == ("rang the team" if old_row == 7 else f"note {old_row}")
    assert (again.carried, again.new, again.gone) == (3, 1, 1)
    assert "3 reviews carried over, 1 post is new" in again.message
    assert "1 reviewed post is no longer in the file (the reviews are kept)" in again.message
    assert keys[11] in again.store.all(), "never silently dropped"
    # opened again unchanged: nothing to say
    assert open_reviews(tmp_path / "data", _write(src, new), post_keys(new)).message == ""


def test_reviews_are_found_for_a_renamed_copy(tmp_path):
    a = _write(tmp_path / "week1.csv", POSTS)
    keys = post_keys(POSTS)
    open_reviews(tmp_path / "data", a, keys).store.set(keys[4], 4, "needs follow-up", "", "dr b")
    newer = [*POSTS, "one more fictional post"]
    b = open_reviews(tmp_path / "data", _write(tmp_path / "week2.csv", newer), post_keys(newer))
    assert b.by_row[4].status == "needs follow-up" and b.source == "week1.csv"
    assert "1 review carried over, 1 post is new" in b.message
    assert b.store.all()[keys[4]].status == "needs follow-up", "now in week2's own journal too"


def test_first_format_journals_are_read(tmp_path):
    table = _write(tmp_path / "old.csv", POSTS)
    folder = tmp_path / "data" / "reviews"
    folder.mkdir(parents=True)
    line = {"row": 6, "status": "confirmed", "note": "from v1", "reviewer": "dr c", "t": 1.0}
    (folder / f"{store_key(table.sha256)}.jsonl").write_text(
        json.dumps({"format": review_store.LEGACY_FORMAT}) + "\n" + json.dumps(line) + "\n"
    )
    assert legacy_reviews(tmp_path / "data", table.sha256, None)[6] == Review(
        "confirmed", "from v1", "dr c", 1.0, 6
    )
    opened = open_reviews(tmp_path / "data", table, post_keys(POSTS))
    assert opened.by_row[6].note == "from v1" and "1 review restored" in opened.message


def test_the_post_id_of_the_reviews_is_remembered_and_a_mismatch_is_said(tmp_path):
    from cmhl_desktop.core.reviews import open_reviews, remembered_id_column

    data, texts, ids = tmp_path / "app", ["Rain all day.", "I cant sleep."], ["a1", "b2"]
    t = _write(tmp_path / "p.csv", texts)
    t.columns, t.id_column = ["post_id", "text"], 0
    assert remembered_id_column(data, t.source) is None  # never opened
    opened = open_reviews(data, t, post_keys(texts, ids))
    opened.store.set(post_keys(texts, ids)[1], 1, "urgent")
    assert remembered_id_column(data, t.source) == "post_id"
    t.id_column = None  # reopened with posts recognised by their text
    again = open_reviews(data, t, post_keys(texts))
    assert (
        again.by_row == {}
        and "id column 'post_id'" in again.message
        and "1 review of p.csv was" in again.message
    )
    assert remembered_id_column(data, t.source) == "post_id"  # still the choice that holds the review
    t.id_column = 0
    assert open_reviews(data, t, post_keys(texts, ids)).by_row[1].status == "urgent"
    assert remembered_id_column(None, t.source) is None  # reviews not kept: nothing to remember
