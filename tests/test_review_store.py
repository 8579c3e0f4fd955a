"""The write-through review log: durable, forgiving, and free of post text."""

from __future__ import annotations

import hashlib
import json

import pytest

from cmhl_desktop.core import review_store
from cmhl_desktop.core.review_store import ENV_DATA_DIR, ReviewStore, resolve_data_dir, store_key

SHA = hashlib.sha256(b"some input").hexdigest()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_DATA_DIR, raising=False)


def test_set_then_reopen_restores(tmp_path):
    s = ReviewStore(tmp_path, SHA)
    assert s.all() == {}
    s.set(3, "confirmed", "called the team", "dr a")
    s.set(7, "needs follow-up")
    s.set(3, "not a concern", "second look", "dr b")  # last one wins
    again = ReviewStore(tmp_path, SHA)
    got = again.all()
    assert set(got) == {3, 7}
    assert (got[3].status, got[3].note, got[3].reviewer) == ("not a concern", "second look", "dr b")
    assert got[7].status == "needs follow-up"


def test_file_holds_only_review_fields(tmp_path):
    s = ReviewStore(tmp_path, SHA)
    s.set(0, "confirmed", "n", "r")
    lines = s.path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"format": review_store.FORMAT}
    for line in lines[1:]:
        assert set(json.loads(line)) == {"row", "status", "note", "reviewer", "t"}


def test_torn_last_line_is_skipped_and_next_write_is_clean(tmp_path):
    s = ReviewStore(tmp_path, SHA)
    s.set(1, "confirmed")
    with open(s.path, "a", encoding="utf-8") as f:
        f.write('{"row": 2, "status": "conf')  # power cut mid-write
    s2 = ReviewStore(tmp_path, SHA)
    assert set(s2.all()) == {1}
    s2.set(4, "needs follow-up")
    assert set(ReviewStore(tmp_path, SHA).all()) == {1, 4}


def test_bad_values_are_refused(tmp_path):
    s = ReviewStore(tmp_path, SHA)
    with pytest.raises(ValueError):
        s.set(1, "maybe")
    with pytest.raises(ValueError):
        s.set(-1, "confirmed")
    with pytest.raises(ValueError):
        ReviewStore(tmp_path, "../../etc/passwd")


def test_sheets_are_separate_inputs(tmp_path):
    ReviewStore(tmp_path, SHA, sheet="A").set(0, "confirmed")
    assert ReviewStore(tmp_path, SHA, sheet="B").all() == {}
    assert ReviewStore(tmp_path, SHA).all() == {}
    assert store_key(SHA, "A") != store_key(SHA, "B")


def test_env_var_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "default") == tmp_path / "env"
    s = ReviewStore(tmp_path / "default", SHA)
    assert s.path.is_relative_to(tmp_path / "env")
    monkeypatch.delenv(ENV_DATA_DIR)
    with pytest.raises(ValueError):
        resolve_data_dir(None)


def test_compaction_keeps_state(tmp_path, monkeypatch):
    monkeypatch.setattr(review_store, "COMPACT_MIN_LINES", 10)
    s = ReviewStore(tmp_path, SHA)
    for i in range(30):
        s.set(5, "confirmed", f"note {i}")  # typing a note: one line per change
    s.set(6, "not a concern")
    before = len(s.path.read_text(encoding="utf-8").splitlines())
    again = ReviewStore(tmp_path, SHA)  # compacts on open
    after = len(again.path.read_text(encoding="utf-8").splitlines())
    assert after == 3 < before
    assert again.all()[5].note == "note 29"
    assert again.all()[6].status == "not a concern"
    assert not list(again.folder.glob("*.part"))


def test_unchanged_set_does_not_write(tmp_path):
    s = ReviewStore(tmp_path, SHA)
    s.set(1, "confirmed", "x")
    size = s.path.stat().st_size
    s.set(1, "confirmed", "x")
    assert s.path.stat().st_size == size


def test_set_fsyncs(tmp_path, monkeypatch):
    calls = []
    real = review_store.os.fsync
    monkeypatch.setattr(review_store.os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    ReviewStore(tmp_path, SHA).set(1, "confirmed")
    assert calls
