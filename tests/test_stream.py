"""Streamed inputs and outputs (core/shards.py, stream.py, export_stream.py, research.py) with the
tiny checkpoint: dumps in, Parquet out, the same results as the desktop path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cmhl_desktop.cli import main
from cmhl_desktop.core import export_stream
from cmhl_desktop.core.export import ExportError
from cmhl_desktop.core.export_stream import check_xlsx_rows, read_record, sidecar_path
from cmhl_desktop.core.pipeline import score_file
from cmhl_desktop.core.readers import read_input
from cmhl_desktop.core.research import score_dataset
from cmhl_desktop.core.results import PREFIX, result_columns
from cmhl_desktop.core.shards import expand_inputs, iter_records, shard_format
from cmhl_desktop.core.stream import ROW_ID_BASE, cell_text, make_plan
from cmhl_desktop.core.table import InputError
from cmhl_desktop.core.tasks import Cancelled, TaskState

RECORDS = [
    {"id": "a1", "author": "someone", "subreddit": "x", "title": "Cannot sleep", "selftext": "Weeks of it."},
    {"id": "a2", "author": "other", "subreddit": "x", "title": "Hike", "selftext": "[removed]"},
    {"id": "a3", "author": "third", "subreddit": "y", "title": "", "selftext": ""},
    {"id": "a4", "author": "fourth", "subreddit": "y", "title": "[deleted]", "selftext": "[deleted]"},
    {
        "id": 12345678901234567890,
        "author": "f",
        "subreddit": "z",
        "title": "Worried \ud83d",
        "selftext": "A&amp;B",
    },
]


def ndjson_bytes(records, bad_line: bool = False) -> bytes:
    lines = [json.dumps(r) for r in records]  # ASCII with \\u escapes, as dumps are
    if bad_line:
        lines.insert(2, "{not json")
        lines.insert(4, "[1, 2]")
    return ("\n".join(lines) + "\n\n").encode()


def write_zst(path: Path, data: bytes, window_log: int | None = None, frames: int = 1) -> Path:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log or 20)
    cctx = zstandard.ZstdCompressor(compression_params=params)
    step = max(1, len(data) // frames)
    with open(path, "wb") as f:
        for i in range(frames):
            part = data[i * step : len(data) if i == frames - 1 else (i + 1) * step]
            with cctx.stream_writer(f, closefd=False) as w:  # size unknown: the window is kept
                w.write(part)
    return path


def many_posts(n: int) -> list[dict]:
    words = "I feel tired today and nothing helps, the week was long but friends called".split()
    return [{"id": f"p{i}", "text": " ".join(words[: 4 + i % 10]) + f" {i}"} for i in range(n)]


# --------------------------------------------------------------------------- reading shards


def test_shard_formats():
    assert shard_format(Path("RS_2019-01.zst")) == ("ndjson", "zstd")
    assert shard_format(Path("a.jsonl.zst")) == ("ndjson", "zstd")
    assert shard_format(Path("a.ndjson.gz")) == ("ndjson", "gzip")
    assert shard_format(Path("a.parquet")) == ("parquet", "")
    assert shard_format(Path("a.csv")) == ("table", "")
    assert shard_format(Path("a.csv.gz")) is None
    assert shard_format(Path("a.pdf")) is None


def test_zstd_long_window_and_frames(tmp_path):
    data = ndjson_bytes(many_posts(300))
    path = write_zst(tmp_path / "RS_long.zst", data, window_log=28, frames=3)
    raw = path.read_bytes()
    assert zstandard.get_frame_parameters(raw).window_size > 1 << 27  # above the default limit
    with pytest.raises(zstandard.ZstdError):  # so a default decompressor cannot read it
        with zstandard.ZstdDecompressor().stream_reader(open(path, "rb")) as r:
            r.read()
    shard = expand_inputs([path])[0]
    recs = list(iter_records(shard))
    assert [r["id"] for _, r, _ in recs] == [f"p{i}" for i in range(300)]  # every frame read
    assert [n for n, _, _ in recs] == list(range(1, 301))


def test_bad_lines_and_damaged_stream_come_out_as_errors(tmp_path):
    path = write_zst(tmp_path / "bad.jsonl.zst", ndjson_bytes(RECORDS, bad_line=True))
    recs = list(iter_records(expand_inputs([path])[0]))
    assert len(recs) == len(RECORDS) + 2
    errors = [(n, e) for n, r, e in recs if r is None]
    assert errors == [(3, "line 3 is not valid JSON (Expecting property name enclosed in double quotes)"),
                      (5, "line 5 is not a JSON object")]  # fmt: skip
    cut = tmp_path / "cut.jsonl.zst"
    cut.write_bytes(write_zst(tmp_path / "full.zst", ndjson_bytes(many_posts(2000))).read_bytes()[:-40])
    recs = list(iter_records(expand_inputs([cut])[0]))
    assert recs[-1][1] is None and "damaged or cut short" in recs[-1][2]
    assert all(r is not None for _, r, _ in recs[:-1])


def test_inputs_expand_in_order(tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    write_zst(folder / "b.zst", ndjson_bytes(RECORDS[:2]))
    (folder / "a.ndjson.gz").write_bytes(gzip.compress(ndjson_bytes(RECORDS[2:])))
    pq.write_table(pa.Table.from_pylist(many_posts(3)), tmp_path / "c.parquet")
    (folder / ".hidden.zst").write_bytes(b"x")
    shards = expand_inputs([folder, str(tmp_path / "*.parquet")])
    assert [s.name for s in shards] == ["a.ndjson.gz", "b.zst", "c.parquet"]
    assert [s.index for s in shards] == [0, 1, 2]
    with pytest.raises(InputError, match="given twice"):
        expand_inputs([folder / "b.zst", folder / "b.zst"])
    with pytest.raises(InputError, match="no input files match"):
        expand_inputs([str(tmp_path / "*.nothing")])
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([tmp_path / "missing.zst"])


def test_plan_guesses_the_post_and_keeps_ids_not_authors(tmp_path):
    shards = expand_inputs([write_zst(tmp_path / "d.zst", ndjson_bytes(RECORDS))])
    plan = make_plan(shards, ["control", "depression"], ["joy"])
    assert plan.text_columns == ["title", "selftext"]
    assert plan.keep == ["id", "subreddit", "title", "selftext"]  # input order; no author
    plan = make_plan(shards, ["control"], ["joy"], column=["selftext"], keep=["author"])
    assert plan.text_columns == ["selftext"] and "author" in plan.keep
    with pytest.raises(InputError, match="no column 'nope'"):
        make_plan(shards, ["control"], ["joy"], keep=["nope"])


def test_cell_text_is_lossless_and_normalised():
    assert cell_text(12345678901234567890) == "12345678901234567890"
    assert cell_text(True) == "true" and cell_text(None) is None and cell_text(1.5) == "1.5"
    assert cell_text({"a": [1, "é"]}) == '{"a": [1, "é"]}'
    assert cell_text("half \ud83d emoji\x00") == "half \ufffd emoji"


# --------------------------------------------------------------------------- end to end


def test_dump_to_parquet_matches_the_desktop_path(tmp_path, tiny_checkpoint_dir, no_network):
    records = RECORDS + many_posts(40)
    plain = tmp_path / "posts.jsonl"
    plain.write_bytes(ndjson_bytes(records))
    desktop = score_file(plain, tmp_path / "desktop.csv", model_dir=tiny_checkpoint_dir)
    dump = write_zst(tmp_path / "posts.jsonl.zst", ndjson_bytes(records))
    s = score_dataset([dump], tmp_path / "out.parquet", model_dir=tiny_checkpoint_dir)
    t = pq.read_table(tmp_path / "out.parquet")
    assert t.num_rows == len(records) == s.rows
    assert t.column(PREFIX + "row_id").to_pylist() == [i + 1 for i in range(len(records))]
    assert t.column("title").to_pylist()[4] == "Worried \ufffd"  # one normalisation, at read time
    assert t.column("selftext").to_pylist()[4] == "A&amp;B"  # the text as it was
    assert t.column("id").to_pylist()[4] == "12345678901234567890"  # exact
    header, *rows = _raw_csv(tmp_path / "desktop.csv")
    names = result_columns(*_labels(header))
    for name in names:  # every result cell equals the desktop export's
        ours = ["" if v is None else str(v) for v in t.column(name).to_pylist()]
        if name == PREFIX + "attribution":  # names the joined columns by their place in each file
            ci = t.schema.names.index("title")
            assert json.loads(ours[0]) == {"target": "", "col": "title", "ci": ci, "cols": [ci, ci + 1]}
            continue
        if name == PREFIX + "concern_rank":  # needs every row first: left empty in a streamed run
            assert set(ours) == {""}
            continue
        assert ours == [r[header.index(name)] for r in rows], name
    status = t.column(PREFIX + "status").to_pylist()
    assert status[2] == "empty" and status[3] == "no content" and status[1] == "ok"
    assert (s.no_content, s.empty, s.flagged) == (desktop.no_content, desktop.empty, desktop.flagged)
    exact = t.column(PREFIX + "distress_p").to_pylist()
    assert exact[3] is None and abs(sum(exact[0]) - 1) < 1e-5
    record = read_record(tmp_path / "out.parquet")
    assert record["model_sha256"] == s.model_sha256 and record["rows_no_content"] == s.no_content == 1
    assert record["input_sha256"] == desktop.input_sha256 or record["shards"][0]["sha256"]
    assert record["shards"][0]["name"] == "posts.jsonl.zst" and record["versions"]["pyarrow"]
    side = json.loads(sidecar_path(tmp_path / "out.parquet").read_text())
    assert side["rows_total"] == len(records) and side["text_columns"] == ["title", "selftext"]


def _labels(header: list[str]) -> tuple[list[str], list[str]]:
    dl = [c[len(PREFIX + "p_") :] for c in header if c.startswith(PREFIX + "p_")]
    el = [c[len(PREFIX + "emo_") :] for c in header if c.startswith(PREFIX + "emo_")]
    return dl, el


def _raw_csv(path: Path) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_bad_lines_are_rows_with_an_error(tmp_path, tiny_checkpoint_dir):
    dump = write_zst(tmp_path / "bad.zst", ndjson_bytes(RECORDS, bad_line=True))
    s = score_dataset([dump], tmp_path / "out.csv", model_dir=tiny_checkpoint_dir)
    assert s.rows == len(RECORDS) + 2 and s.errors == 2
    assert (
        s.warnings[0]
        == "bad.zst line 3: error: line 3 is not valid JSON (Expecting property name enclosed in double quotes)"
    )
    back = read_input(tmp_path / "out.csv")  # the csv reopens as one of our exports
    assert back.kind == "scored" and len(back.rows) == s.rows


def test_several_shards_one_dataset_in_order(tmp_path, tiny_checkpoint_dir):
    a = write_zst(tmp_path / "a.zst", ndjson_bytes(many_posts(30)))
    b = tmp_path / "b.parquet"
    pq.write_table(pa.Table.from_pylist(many_posts(20)), b)
    s = score_dataset([a, b], tmp_path / "out/", model_dir=tiny_checkpoint_dir, options=_small_chunks())
    t = pq.read_table(tmp_path / "out")  # the folder: scored.parquet (the sidecar is skipped)
    ids = t.column(PREFIX + "row_id").to_pylist()
    assert ids == [n for n in range(1, 31)] + [ROW_ID_BASE + n for n in range(1, 21)] and s.rows == 50
    assert (tmp_path / "out" / "_cmhl_run.json").is_file()
    with pytest.raises(ExportError, match="already holds a scored dataset"):
        score_dataset([a], tmp_path / "out/", model_dir=tiny_checkpoint_dir)


def _small_chunks():
    from cmhl_desktop.core.scoring import ScoringOptions

    return ScoringOptions(chunk=8)


def test_cancel_leaves_nothing(tmp_path, tiny_checkpoint_dir):
    dump = write_zst(tmp_path / "d.zst", ndjson_bytes(many_posts(40)))
    state = TaskState()

    def progress(done, total):
        if done >= 8:
            state.cancel()

    state._on_progress = progress
    with pytest.raises(Cancelled):
        score_dataset([dump], tmp_path / "out.parquet", model_dir=tiny_checkpoint_dir, state=state,
                      options=_small_chunks())  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.zst"]


def test_xlsx_refuses_past_excels_limit(tmp_path, tiny_checkpoint_dir, monkeypatch):
    with pytest.raises(ExportError, match=r"1,048,576 rows do not fit .* -o big.parquet .* -o big.csv"):
        check_xlsx_rows(1_048_576, "big.xlsx")
    check_xlsx_rows(1_048_575, "big.xlsx")
    monkeypatch.setattr(export_stream, "XLSX_MAX_ROWS", 3)
    src = tmp_path / "posts.jsonl"
    src.write_bytes(ndjson_bytes(many_posts(5)))
    with pytest.raises(ExportError, match="5 rows do not fit"):
        score_file(src, tmp_path / "out.xlsx", model_dir=tiny_checkpoint_dir)
    assert not (tmp_path / "out.xlsx").exists()


# --------------------------------------------------------------------------- the command line


def test_cli_streams_dumps_and_checks_the_device(tmp_path, tiny_checkpoint_dir, capsys):
    dump = write_zst(tmp_path / "d.zst", ndjson_bytes(RECORDS))
    m = ["--model", str(tiny_checkpoint_dir)]
    assert (
        main(["score", str(dump), "-o", str(tmp_path / "o.parquet"), "--json", "--device", "auto", *m]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == len(RECORDS) and out["precision"]
    rec = read_record(tmp_path / "o.parquet")
    assert rec["device"] == "cpu"  # auto: no GPU on this machine
    assert main(["score", str(dump), "-o", str(tmp_path / "o.xlsx"), *m]) == 2
    assert "write -o o.parquet" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert main(["score", str(dump), "-o", str(tmp_path / "c.parquet"), "--device", "cuda", *m]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err and not (tmp_path / "c.parquet").exists()
    assert main(["score", str(dump), "-o", str(tmp_path / "k.parquet"), "--keep", "author", *m]) == 0
    assert "author" in pq.read_schema(tmp_path / "k.parquet").names


def _no_cuda() -> bool:
    import torch

    return not torch.cuda.is_available()


@pytest.mark.skipif(_no_cuda(), reason="no CUDA GPU on this machine: `--device cuda` is checked where one is")
def test_gpu_streamed_run_matches_the_cpu_path(tmp_path, tiny_checkpoint_dir):
    from cmhl_desktop.core.scoring import ScoringOptions

    dump = write_zst(tmp_path / "d.zst", ndjson_bytes(RECORDS + many_posts(300)))
    cpu = ScoringOptions(device="cpu", bf16=False)
    score_dataset([dump], tmp_path / "cpu.parquet", model_dir=tiny_checkpoint_dir, options=cpu)
    gpu = score_dataset(
        [dump], tmp_path / "gpu.parquet", model_dir=tiny_checkpoint_dir, options=ScoringOptions(device="cuda")
    )
    assert gpu.precision.startswith("cuda-") and read_record(tmp_path / "gpu.parquet")["device"] == "cuda"
    a, b = (
        pq.read_table(tmp_path / f"{d}.parquet").column(PREFIX + "category").to_pylist()
        for d in ("cpu", "gpu")
    )
    assert sum(x == y for x, y in zip(a, b, strict=True)) >= 0.995 * len(a)
