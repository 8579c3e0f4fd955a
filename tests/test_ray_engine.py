"""`--engine ray` (core/ray_engine.py) on a local Ray instance of 2 CPUs with the tiny checkpoint: the
same results as the local path, post text never in Ray's logs, no socket off loopback."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cmhl_desktop.cli import main
from cmhl_desktop.core.export_stream import SIDECAR_IN_FOLDER, read_record
from cmhl_desktop.core.ray_engine import start_local_ray
from cmhl_desktop.core.research import score_dataset
from cmhl_desktop.core.results import PREFIX
from cmhl_desktop.core.scoring import ScoringOptions

# Ray is imported by start_local_ray, after it has set Ray's environment (a local instance on
# loopback only): never at the top of this module.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed: pip install 'cmhl-desktop[cluster]' (make test installs it)",
)

MARKER = "zebracorn"  # a word in every post: must never show up in Ray's logs
POSTS = 240


def posts(n: int, start: int = 0) -> list[dict]:
    words = "I feel tired today and nothing helps the week was long but friends called at night".split()
    return [
        {"id": f"p{i}", "title": f"{MARKER} {i}", "selftext": " ".join(words[: 3 + i % 14])}
        for i in range(start, start + n)
    ]


@pytest.fixture(scope="module")
def local_ray():
    """A private local Ray instance (2 CPUs) for this module; yields its temp folder."""
    if "ray" in sys.modules:
        pytest.skip("Ray was imported before this module started its instance (its environment is set)")
    tmp = tempfile.mkdtemp(prefix="cr-")  # short: Ray's Unix socket paths are at most 107 bytes
    start_local_ray(num_cpus=2, temp_dir=tmp)
    yield Path(tmp)
    import ray

    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


def _loopback(hex_addr: str) -> bool:
    ip = hex_addr.split(":")[0]
    if len(ip) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F; 0.0.0.0 (a wildcard listener) fails
        return ip.endswith("7F")
    return ip == "00000000000000000000000001000000" or (  # ::1, or IPv4-mapped 127.x
        ip.startswith("0000000000000000FFFF0000") and ip.endswith("7F")
    )


def _ray_sockets(tmp: Path) -> list[tuple[str, str, str]]:
    """(process, local address, remote address) of every TCP socket held by this process or one
    of the Ray instance's processes (those whose command line names its temp folder)."""
    pids = {os.getpid()}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if str(tmp).encode() in (d / "cmdline").read_bytes():
                    pids.add(int(d.name))
            except OSError:
                continue
    inodes: dict[str, str] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes[link[8:-1]] = str(pid)
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[9] in inodes:
                found.append((inodes[f[9]], f[1], f[2]))
    return found


def _score_both(tmp_path: Path, ckpt: Path):
    a = tmp_path / "a.jsonl.zst"
    a.write_bytes(
        zstandard.ZstdCompressor().compress("".join(json.dumps(r) + "\n" for r in posts(140)).encode())
    )
    b = tmp_path / "b.parquet"
    pq.write_table(pa.Table.from_pylist(posts(POSTS - 140, 140)), b)
    opts = ScoringOptions(chunk=32, threads=1)
    local = score_dataset([a, b], tmp_path / "local.parquet", model_dir=ckpt, options=opts)
    out = tmp_path / "ray_out"
    argv = ["score", str(a), str(b), "-o", f"{out}/", "--engine", "ray", "--workers", "2", "--threads", "1"]
    assert main([*argv, "--model", str(ckpt), "--json"]) == 0  # the CLI's path
    return local, out


def test_ray_matches_local_and_stays_private(tmp_path, tiny_checkpoint_dir, local_ray, capsys):
    local, out = _score_both(tmp_path, tiny_checkpoint_dir)
    remote = json.loads(capsys.readouterr().out)
    assert local.rows == remote["rows"] == POSTS and remote["flagged"] == local.flagged
    assert remote["by_category"] == local.by_category
    mine = pq.read_table(tmp_path / "local.parquet")
    theirs = pq.read_table(out).sort_by(PREFIX + "row_id")  # order recovered by the row id
    assert theirs.column(PREFIX + "row_id").to_pylist() == mine.column(PREFIX + "row_id").to_pylist()
    assert theirs.schema.names == mine.schema.names
    for name in ("id", "title", PREFIX + "status", PREFIX + "category", PREFIX + "flag", PREFIX + "emotion"):
        assert theirs.column(name).to_pylist() == mine.column(name).to_pylist(), name
    for name in (PREFIX + "distress_p", PREFIX + "emotion_p", PREFIX + "distress_score"):
        for x, y in zip(theirs.column(name).to_pylist(), mine.column(name).to_pylist(), strict=True):
            assert x == pytest.approx(y, abs=1e-5), name

    side = json.loads((out / SIDECAR_IN_FOLDER).read_text())
    assert side["engine"] == "ray" and side["rows_total"] == POSTS and side["ray_workers"] == "2"
    assert side["model_sha256"] == local.model_sha256 and [s["sha256"] for s in side["shards"]] == [
        s["sha256"] for s in read_record(tmp_path / "local.parquet")["shards"]
    ]
    shard = next(p for p in out.iterdir() if p.suffix == ".parquet")
    assert read_record(shard)["model_sha256"] == local.model_sha256  # the record in each shard too

    sockets = _ray_sockets(local_ray)
    assert sockets, "no socket of Ray's found: the check would prove nothing"
    off = [s for s in sockets if not (_loopback(s[1]) and (_loopback(s[2]) or s[2].endswith(":0000")))]
    assert not off, f"sockets off loopback: {off[:5]}"

    logs = [p for p in local_ray.rglob("*") if p.is_file() and p.suffix in (".log", ".out", ".err", ".txt")]
    assert logs
    leaked = [p.name for p in logs if MARKER.encode() in p.read_bytes()]
    assert not leaked, f"post text in Ray's logs: {leaked}"
