"""`cmhl-desktop --smoke-test`: the real window, offscreen, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_posts

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], tmp_path: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["CMHL_DATA_DIR"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path / "home")  # nothing may land in the real user's settings
    return subprocess.run(
        [sys.executable, "-m", "cmhl_desktop", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_smoke_test_scores_explains_and_saves_a_screenshot(tmp_path, tiny_checkpoint_dir):
    posts = write_posts(tmp_path / "posts.csv")
    out = tmp_path / "shot.png"
    r = run(
        [
            "--smoke-test",
            str(out),
            "--model",
            str(tiny_checkpoint_dir),
            "--input",
            str(posts),
            "--timeout",
            "200",
        ],
        tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "smoke test ok" in r.stdout
    assert out.is_file() and out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "home" / ".config" / "CMHL").exists(), (
        "the smoke test kept away from user settings"
    )


def test_smoke_test_fails_clearly_on_a_bad_model(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    posts = write_posts(tmp_path / "posts.csv", n=3)
    r = run(
        [
            "--smoke-test",
            str(tmp_path / "x.png"),
            "--model",
            str(bad),
            "--input",
            str(posts),
            "--timeout",
            "120",
        ],
        tmp_path,
    )
    assert r.returncode != 0
    lines = [x for x in r.stderr.strip().splitlines() if x.startswith("smoke test failed")]
    assert len(lines) == 1 and "model" in lines[0]
    assert not (tmp_path / "x.png").exists()
