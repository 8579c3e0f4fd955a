"""Outputs of streamed runs (Qt-free): Parquet and csv written chunk by chunk, the run record in the
Parquet metadata and in a sidecar JSON, and Excel's row limit for the desktop path.

- `.parquet`: one file, row groups of about `ROW_GROUP_ROWS` rows, zstd-compressed; the schema's
  metadata holds the run record under the key `cmhl.run` (JSON: `RunInfo.to_rows()` plus the
  shards with their sha256, the columns and labels). Read it back with `read_record(path)`.
- `.csv` / `.tsv`: the export's csv conventions (UTF-8 with BOM, a formula-looking text gets a
  leading `'`); the exact probability lists are left out (they are the result cells, unrounded).
- the sidecar: `<output>.run.json` beside a file, `_cmhl_run.json` inside a folder (a leading
  underscore: Parquet readers of the folder skip it). It holds the record with the final counts.

Files are written to a temp file beside the target and renamed at the end (`export._atomic_write`):
a cancel or an error leaves nothing, and an existing file as it was.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .excel_text import csv_escape
from .export import ExportError, RunInfo, _atomic_write

if TYPE_CHECKING:
    import pyarrow as pa

XLSX_MAX_ROWS = 1_048_575  # Excel: 1,048,576 rows a sheet, one of them the header
ROW_GROUP_ROWS = 65_536
RECORD_KEY = b"cmhl.run"
SIDECAR_IN_FOLDER = "_cmhl_run.json"
STREAM_SUFFIXES = (".parquet", ".csv", ".tsv")


def check_xlsx_rows(rows: int, out: str | Path) -> None:
    """Raise ExportError, naming the alternatives, when `rows` data rows do not fit in a workbook."""
    if rows > XLSX_MAX_ROWS:
        out = Path(out)
        raise ExportError(
            f"{out.name}: {rows:,} rows do not fit in an .xlsx workbook (Excel holds at most "
            f"{XLSX_MAX_ROWS:,} rows below the header); write -o {out.with_suffix('.parquet').name} "
            f"(Parquet) or -o {out.with_suffix('.csv').name} instead, or split the input"
        )


def sidecar_path(out: str | Path) -> Path:
    """Where a run's sidecar JSON goes: inside a folder output, beside a file output."""
    out = Path(out)
    return out / SIDECAR_IN_FOLDER if out.is_dir() else out.with_name(out.name + ".run.json")


def record_dict(info: RunInfo, extra: dict | None = None) -> dict:
    """The run record as JSON-ready data: the run sheet's rows (`RunInfo.to_rows`), then `extra`
    (shards, columns, labels: lists and dicts kept as such)."""
    d: dict = {k: v for k, v in info.to_rows()}
    d.update(extra or {})
    return d


def write_sidecar(out: str | Path, record: dict) -> Path:
    """Write the sidecar JSON atomically; returns its path. Raises ExportError."""
    path = sidecar_path(out)
    text = json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n"
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def read_record(path: str | Path) -> dict:
    """The run record stored in a Parquet file's metadata ({} when there is none): the file's
    key-value metadata (the final record, with counts), else the schema's (a Ray shard's)."""
    import pyarrow.parquet as pq

    raw = (pq.read_metadata(path).metadata or {}).get(RECORD_KEY)
    if raw is None:
        raw = (pq.read_schema(path).metadata or {}).get(RECORD_KEY)
    return json.loads(raw) if raw else {}


class ParquetSink:
    """Result tables -> one Parquet file at `path` (a temp file: see `write_stream`), buffered into
    row groups of about ROW_GROUP_ROWS rows. The run record goes into the file's key-value
    metadata at `close` (the final one, with counts; else `record`)."""

    def __init__(self, path: Path, schema: pa.Schema, record: dict) -> None:
        import pyarrow.parquet as pq

        self.schema = schema.remove_metadata()
        self.record = record
        self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.buffer: list[pa.Table] = []
        self.buffered = 0

    def write(self, table: pa.Table) -> None:
        self.buffer.append(table)
        self.buffered += table.num_rows
        if self.buffered >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.buffer:
            t = pa.concat_tables(self.buffer).replace_schema_metadata(None)
            self.writer.write_table(t, row_group_size=max(t.num_rows, 1))
        self.buffer, self.buffered = [], 0

    def close(self, record: dict | None = None) -> None:
        """Flush and close; `record` (the final one, with the counts) replaces the first."""
        self._flush()
        raw = json.dumps(record if record is not None else self.record, ensure_ascii=False, default=str)
        self.writer.add_key_value_metadata({RECORD_KEY.decode(): raw})
        self.writer.close()

    def abort(self) -> None:
        self.buffer = []
        self.writer.close()


def _csv_cell(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return csv_escape(str(v).replace("\x00", ""))


class CsvSink:
    """Result tables -> one csv/tsv file (the export's conventions), the exact columns left out."""

    def __init__(self, path: Path, columns: list[str], skip: tuple[str, ...], tab: bool) -> None:
        self.f = open(path, "w", encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.f, delimiter="\t" if tab else ",")
        self.columns = [c for c in columns if c not in skip]
        self.w.writerow([_csv_cell(c) for c in self.columns])

    def write(self, table: pa.Table) -> None:
        cols = [table.column(c).to_pylist() for c in self.columns]
        self.w.writerows([_csv_cell(v) for v in row] for row in zip(*cols, strict=True))

    def close(self, record: dict | None = None) -> None:
        self.f.close()

    def abort(self) -> None:
        self.f.close()


def write_stream(
    out: Path,
    schema: pa.Schema,
    record: dict,
    produce: Callable[[Callable[[pa.Table], None]], dict],
    skip_in_csv: tuple[str, ...] = (),
) -> Path:
    """Write a streamed run to `out` (.parquet, or .csv/.tsv by suffix) atomically. `produce(write)`
    runs the scoring, handing each result table to `write`, and returns the final record (counts
    included), which the Parquet metadata then carries. Raises ExportError, and whatever `produce`
    raises (Cancelled): nothing is left behind."""
    suffix = out.suffix.lower()
    if suffix not in STREAM_SUFFIXES:
        raise ExportError(f"{out.name}: a streamed run writes {', '.join(STREAM_SUFFIXES)}")

    def write(tmp: Path) -> None:
        if suffix == ".parquet":
            sink: ParquetSink | CsvSink = ParquetSink(tmp, schema, record)
        else:
            sink = CsvSink(tmp, schema.names, skip_in_csv, tab=suffix == ".tsv")
        try:
            final = produce(sink.write)
        except BaseException:
            sink.abort()
            raise
        sink.close(final)

    _atomic_write(out, write)
    return out
