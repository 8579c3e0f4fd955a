"""Streamed inputs for research-scale runs (Qt-free): forum dumps and folders of shards, read one
record at a time so memory does not grow with the input (docs/ARCHITECTURE.md, "Research scale").

`expand_inputs(["dumps/", "RS_2019-*.zst", "extra.parquet"])` turns files, folders (their shard
files, sorted by name) and glob patterns into one ordered list of `Shard`s; `hash_shards` fills in
each shard's sha256 (the run record); `iter_records(shard)` yields `(line, record, error)`.

| shard | how it is read |
| --- | --- |
| `.jsonl`, `.ndjson`, `.json` (one object a line), plain or compressed with zstd (`.zst`, `.zstd`) or gzip (`.gz`); a bare `.zst` (Pushshift's `RS_2019-01.zst`) is NDJSON | line by line: zstd through `zstandard` (windows up to 2 GiB, as the dumps use, and several frames), gzip through `gzip`; UTF-8 |
| `.parquet` | record batches through pyarrow, only the columns used |
| `.csv`, `.tsv`, `.xlsx`, `.xlsm`, `.txt`, a folder holding only `.txt` files | the desktop readers (`readers.read_input`), whole: these are the files the app opens |

A plain `.jsonl` given alone keeps the desktop path (`cmhl score posts.jsonl -o out.xlsx`); it is
a shard when it is part of a streamed run (see `is_streamed`).

Every record comes out once, in order. `line` is the NDJSON line number (1-based, blank lines
counted but not yielded) or the record's 1-based position in a Parquet file or table. A line that
is not a JSON object, or a compressed stream that is damaged or cut short, comes out as a record
`None` with an error that names the line (never its text); the run goes on. Strings are not
normalised here: the one read-time normalisation happens when a record becomes a row (stream.py).
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .table import InputError
from .tasks import TaskState

NDJSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSION = {".zst": "zstd", ".zstd": "zstd", ".gz": "gzip"}
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm", ".txt")
ZSTD_MAX_WINDOW = 1 << 31  # Pushshift dumps are written with --long=31
READ_BUFFER = 1 << 20
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Shard:
    """One input file of a streamed run. kind: "ndjson" | "parquet" | "table"; compression: "",
    "zstd" or "gzip" (NDJSON only); size in bytes; sha256 "" until `hash_shards`."""

    index: int
    path: Path
    kind: str
    compression: str = ""
    size: int = 0
    sha256: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> dict:
        """The run record's entry for this shard (no post text)."""
        return {"index": self.index, "name": self.name, "bytes": self.size, "sha256": self.sha256}


def shard_format(path: Path) -> tuple[str, str] | None:
    """(kind, compression) of a shard file by its name; None when it is no shard type."""
    suffixes = [s.lower() for s in path.suffixes]
    if not suffixes:
        return None
    last = suffixes[-1]
    if last in COMPRESSION:
        inner = suffixes[-2] if len(suffixes) > 1 else ""
        if inner in NDJSON_SUFFIXES or (COMPRESSION[last] == "zstd" and inner not in TABLE_SUFFIXES):
            return "ndjson", COMPRESSION[last]  # a bare RS_2019-01.zst (or RS_v2.1.zst) is NDJSON
        return None
    if last in NDJSON_SUFFIXES:
        return "ndjson", ""
    if last in PARQUET_SUFFIXES:
        return "parquet", ""
    if last in TABLE_SUFFIXES:
        return "table", ""
    return None


def is_streamed(item: str | Path) -> bool:
    """Whether an input asks for the streamed path by itself: a compressed NDJSON dump, an
    `.ndjson`, a Parquet file, a glob pattern, or a folder holding such shards."""
    p = Path(item)
    if not p.exists():
        return bool(_GLOB_CHARS.intersection(str(item)))
    if p.is_dir():
        return any(_stream_kind(f) for f in _folder_files(p))
    return _stream_kind(p)


def _stream_kind(p: Path) -> bool:
    fmt = shard_format(p)
    return fmt is not None and (fmt[0] == "parquet" or bool(fmt[1]) or p.suffix.lower() == ".ndjson")


def _folder_files(folder: Path) -> list[Path]:
    try:  # hidden files are skipped (macOS "._name" files, our own temp files)
        return sorted(
            (f for f in folder.iterdir() if f.is_file() and not f.name.startswith((".", "_"))),
            key=lambda f: f.name,
        )
    except OSError as e:
        raise InputError(f"{folder.name}: cannot list the folder ({e.strerror or e})") from e


def expand_inputs(inputs: Sequence[str | Path]) -> list[Shard]:
    """Shards of the inputs, in the order given: a file; a folder's shard files sorted by name (a
    folder of only .txt files is one table: one post a file); a glob pattern's matches sorted.
    Raises InputError for a missing path, a pattern without matches, an unknown file type, a folder
    without shards, or a file given twice (its rows would come out twice)."""
    paths: list[tuple[Path, tuple[str, str]]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = _folder_files(p)
            found = [(f, fmt) for f in files if (fmt := shard_format(f)) and f.suffix.lower() != ".txt"]
            if not found and any(f.suffix.lower() == ".txt" for f in files):
                found = [(p, ("table", ""))]  # the desktop's folder of .txt files
            if not found:
                raise InputError(f"{p.name}: the folder has no input files ({_known()})")
            paths += found
        elif p.exists():
            fmt = shard_format(p)
            if fmt is None:
                raise InputError(f"{p.name}: unsupported file type for a streamed run; use {_known()}")
            paths.append((p, fmt))
        elif _GLOB_CHARS.intersection(str(item)):
            matches = sorted(Path(m) for m in glob.glob(str(item), recursive=True))
            found = [(m, fmt) for m in matches if m.is_file() and (fmt := shard_format(m))]
            if not found:
                raise InputError(f"{item}: no input files match this pattern ({_known()})")
            paths += found
        else:
            raise InputError(f"{p.name}: no such file or folder")
    seen: set[Path] = set()
    shards = []
    for p, (kind, comp) in paths:
        key = p.resolve()
        if key in seen:
            raise InputError(f"{p.name}: given twice; its rows would be scored twice")
        seen.add(key)
        size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in _folder_files(p))
        shards.append(Shard(len(shards), p, kind, comp, size))
    return shards


def _known() -> str:
    return ".jsonl/.ndjson (optionally .zst or .gz), .zst dumps, .parquet, .csv, .tsv, .xlsx, .txt"


def hash_shards(shards: Sequence[Shard], state: TaskState | None = None) -> list[Shard]:
    """The shards with their sha256 (of the file's bytes; a folder of .txt files as the desktop
    reader hashes it). Progress in bytes; raises InputError when a file cannot be read."""
    total = sum(s.size for s in shards)
    done = 0
    out = []
    for s in shards:
        if s.path.is_dir():
            from .readers import read_input

            out.append(replace(s, sha256=read_input(s.path).sha256))
            done += s.size
            continue
        h = hashlib.sha256()
        try:
            with open(s.path, "rb") as f:
                while block := f.read(READ_BUFFER * 8):
                    h.update(block)
                    done += len(block)
                    if state is not None:
                        state.check()
                        state.set_progress(done, total)
        except OSError as e:
            raise InputError(f"{s.name}: cannot read the file ({e.strerror or e})") from e
        out.append(replace(s, sha256=h.hexdigest()))
    return out


def dataset_sha256(shards: Sequence[Shard]) -> str:
    """One hash for the whole input: of every shard's name and sha256, in order."""
    h = hashlib.sha256()
    for s in shards:
        h.update(f"{s.name}\x00{s.sha256}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# --------------------------------------------------------------------------- reading

Record = tuple[int, "dict | None", str]  # (line, record or None, error)


def iter_records(shard: Shard, columns: Sequence[str] | None = None) -> Iterator[Record]:
    """Every record of a shard, in order, as (line, dict, "") or (line, None, error). `columns`:
    the only columns needed (Parquet reads just those). Raises InputError when the shard cannot be
    opened at all (not a Parquet file, an unreadable table)."""
    if shard.kind == "ndjson":
        yield from _ndjson(shard)
    elif shard.kind == "parquet":
        yield from _parquet(shard, columns)
    else:
        yield from _table(shard)


@contextlib.contextmanager
def _open_stream(shard: Shard):
    try:
        f = open(shard.path, "rb")
    except OSError as e:
        raise InputError(f"{shard.name}: cannot read the file ({e.strerror or e})") from e
    try:
        if shard.compression == "zstd":
            yield io.BufferedReader(_ZstdFrames(f), READ_BUFFER)
        elif shard.compression == "gzip":
            yield io.BufferedReader(gzip.GzipFile(fileobj=f, mode="rb"), READ_BUFFER)
        else:
            yield f
    finally:
        f.close()


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of a zstd file, frame after frame (pzstd and some dump tools write
    several), windows up to ZSTD_MAX_WINDOW. A file that ends inside a frame raises EOFError (the
    `stream_reader` of zstandard ends quietly there, hiding a dump cut short)."""

    def __init__(self, f) -> None:
        import zstandard

        self.f = f
        self.dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self.dobj = self.dctx.decompressobj()
        self.pending, self.at = b"", 0
        self.unused = b""
        self.in_frame = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while self.at >= len(self.pending):
            data = self.unused or self.f.read(READ_BUFFER)
            self.unused = b""
            if not data:
                if self.in_frame:
                    raise EOFError("the last zstd frame is incomplete")
                return 0
            self.pending, self.at, self.in_frame = self.dobj.decompress(data), 0, True
            if self.dobj.eof:  # a frame ended: the rest of `data` starts the next one
                self.unused, self.in_frame = self.dobj.unused_data, False
                self.dobj = self.dctx.decompressobj()
        n = min(len(b), len(self.pending) - self.at)
        b[:n] = memoryview(self.pending)[self.at : self.at + n]
        self.at += n
        return n


def _ndjson(shard: Shard) -> Iterator[Record]:
    n = 0
    broken: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError)  # gzip: BadGzipFile, EOFError
    if shard.compression == "zstd":
        import zstandard

        broken += (zstandard.ZstdError,)
    with _open_stream(shard) as stream:
        lines = iter(stream)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except broken as e:  # damaged or cut short
                kind = "zstd" if shard.compression == "zstd" else "gzip"
                yield (
                    n + 1,
                    None,
                    f"the {kind} data is damaged or cut short after line {n} ({type(e).__name__}); "
                    "the rest of this file could not be read",
                )
                return
            n += 1
            if not raw.strip():
                continue  # blank lines carry no record
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "replace")  # JSON is UTF-8; a stray byte becomes U+FFFD
            try:
                obj = json.loads(text)  # integers stay exact (19-digit ids)
            except ValueError as e:
                yield n, None, f"line {n} is not valid JSON ({getattr(e, 'msg', type(e).__name__)})"
                continue
            if not isinstance(obj, dict):
                yield n, None, f"line {n} is not a JSON object"
                continue
            yield n, obj, ""


def _parquet(shard: Shard, columns: Sequence[str] | None) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(shard.path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{shard.name}: not a readable Parquet file ({type(e).__name__})") from e
    names = pf.schema_arrow.names
    wanted = None if columns is None else [c for c in names if c in set(columns)]
    n = 0
    for batch in pf.iter_batches(batch_size=1024, columns=wanted):
        for rec in batch.to_pylist():
            n += 1
            yield n, rec, ""


def _table(shard: Shard) -> Iterator[Record]:
    from .readers import read_input

    table = read_input(shard.path)
    names = unique_names(table.columns)
    for n, row in enumerate(table.rows, start=1):
        yield n, dict(zip(names, row, strict=True)), ""


def unique_names(columns: Sequence[str]) -> list[str]:
    """Column names made unique: a repeated name gets " (2)", " (3)", ... (never loses a column)."""
    out: list[str] = []
    seen: set[str] = set()
    for c in columns:
        name, k = c, 1
        while name in seen:
            k += 1
            name = f"{c} ({k})"
        seen.add(name)
        out.append(name)
    return out


def sample_records(shards: Sequence[Shard], n: int = 500) -> list[dict]:
    """The first `n` readable records of the dataset (to guess the text columns), from as many
    shards as it takes."""
    out: list[dict] = []
    for s in shards:
        for _, rec, _ in iter_records(s):
            if rec is not None:
                out.append(rec)
                if len(out) >= n:
                    return out
    return out
