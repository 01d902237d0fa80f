"""The rolling, date-partitioned Parquet writer of the lake (files stay in ``_tmp/`` until committed).

See :mod:`kalshi_extract.lake.store` for the layout and the commit protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from kalshi_extract.lake.schemas import PLAIN_COLUMNS

__all__ = ["StreamWriter", "DEFAULT_FILE_ROWS", "DEFAULT_ROW_GROUP_ROWS", "PARQUET_COMPRESSION"]

DEFAULT_FILE_ROWS = 1_000_000  # a file is closed at this many rows (~20-40 MB of trades)
DEFAULT_ROW_GROUP_ROWS = 32_768  # rows buffered per open partition before a row group is written
PARQUET_COMPRESSION = "zstd"

_EPOCH = date(1970, 1, 1)
_DAY_US = 86_400_000_000
_TS_US_UTC = pa.timestamp("us", tz="UTC")


def _day_name(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).isoformat()


@dataclass
class _Part:
    date: str
    tmp: str
    writer: pq.ParquetWriter | None = None
    sink: object = None
    buffered: list = field(default_factory=list)
    buffered_rows: int = 0
    file_rows: int = 0


class StreamWriter:
    """Rolling, date-partitioned Parquet writer for one stream and run (one per thread).

    ``write(batch)`` buffers rows per ``date`` partition and writes row groups of ``row_group_rows``; a file is
    closed when it reaches ``max_file_rows`` or when more than ``max_open`` partitions are open (least recently
    used first). Closed files wait in ``_tmp/`` until :meth:`take_ready` / :meth:`finish` hands them to
    :meth:`Lake.commit`. Memory is bounded by ``max_open × row_group_rows`` rows, whatever the stream's size.
    """

    def __init__(
        self,
        lake,
        stream: str,
        run_id: str,
        schema: pa.Schema,
        date_column: str | None,
        *,
        max_file_rows: int | None = None,
        row_group_rows: int | None = None,
        max_open: int = 4,
        fixed_date: str | None = None,
        fallback_time: datetime | None = None,
    ):
        self.lake = lake
        self.stream = stream
        self.run_id = run_id
        self.schema = schema
        self.date_column = date_column
        self.max_file_rows = max_file_rows or DEFAULT_FILE_ROWS
        self.row_group_rows = min(row_group_rows or DEFAULT_ROW_GROUP_ROWS, self.max_file_rows)
        self.max_open = max_open
        self.fixed_date = fixed_date  # every row into this partition (compaction)
        self.fallback_time = fallback_time  # dates rows whose date_column is null (default: their _loaded_at)
        plain = set(PLAIN_COLUMNS.get(stream, ()))
        # dictionary encoding for every column but the (nearly) unique ones (see PLAIN_COLUMNS)
        self._dictionary: bool | list[str] = (
            [n for n in schema.names if n not in plain] if plain & set(schema.names) else True
        )
        self._open: dict[str, _Part] = {}
        self._ready: list[tuple[str, str]] = []
        self.rows = 0  # rows written (committed or not)
        self.rows_by_path: dict[str, int] = {}  # final path of each closed file → its rows

    def _days(self, batch: pa.RecordBatch) -> pa.Array:
        """Partition day of every row as int32 days since 1970-01-01 (UTC)."""
        import pyarrow.compute as pc  # here, not at import: `status` imports the lake and never writes

        ts = batch.column(self.date_column) if self.date_column else batch.column("_loaded_at")
        if self.date_column and ts.null_count:
            if self.fallback_time is not None:
                ts = pc.coalesce(ts, pa.scalar(self.fallback_time, ts.type))
            else:
                ts = pc.coalesce(ts, batch.column("_loaded_at"))
        return pc.cast(pc.cast(ts, pa.timestamp("us", tz="UTC")), pa.date32()).cast(pa.int32())

    def _one_day(self, batch: pa.RecordBatch) -> int | None:
        """The partition day (days since 1970-01-01, UTC) when every row of the batch has a date-column value on
        one UTC day, from one ``min_max`` of the microseconds; else None (rows then go by :meth:`_days`)."""
        import pyarrow.compute as pc

        if not self.date_column:
            return None
        ts = batch.column(self.date_column)
        if ts.null_count or ts.type != _TS_US_UTC:
            return None
        lo_hi = pc.min_max(ts)
        lo, hi = lo_hi["min"].value, lo_hi["max"].value
        if lo is None or hi is None:
            return None
        day = lo // _DAY_US
        return day if hi // _DAY_US == day else None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        if isinstance(batch, pa.Table):
            for b in batch.to_batches():
                self.write(b)
            return
        if batch.schema != self.schema:
            batch = batch.select(self.schema.names).cast(self.schema)
        self.rows += batch.num_rows
        if self.fixed_date is not None:
            self._add(self.fixed_date, batch)
            return
        import pyarrow.compute as pc

        from kalshi_extract.lake.arrowfast import int_scalar  # numpy: not imported by lake readers (`status`)

        day = self._one_day(batch)
        if day is not None:  # the usual page: all its rows on one UTC day (no cast, no per-row day array)
            self._add(_day_name(day), batch)
            return
        days = self._days(batch)
        lo_hi = pc.min_max(days).as_py()
        if lo_hi["min"] == lo_hi["max"]:
            self._add(_day_name(lo_hi["min"]), batch)
            return
        for d in pc.unique(days).to_pylist():
            self._add(_day_name(d), batch.filter(pc.equal(days, int_scalar(d, pa.int32()))))

    def _add(self, date: str, batch: pa.RecordBatch) -> None:
        part = self._open.pop(date, None)
        if part is None:
            part = _Part(date, self.lake._tmp_path(self.stream))
        self._open[date] = part  # most recently used last
        part.buffered.append(batch)
        part.buffered_rows += batch.num_rows
        if part.buffered_rows >= self.row_group_rows:
            self._flush(part)
            if part.file_rows >= self.max_file_rows:
                self._close(self._open.pop(date))
        while len(self._open) > self.max_open:
            self._close(self._open.pop(next(iter(self._open))))

    def _flush(self, part: _Part) -> None:
        if not part.buffered:
            return
        table = pa.Table.from_batches(part.buffered, schema=self.schema)
        part.buffered.clear()
        part.buffered_rows = 0
        if part.writer is None:
            part.sink = self.lake.fs.open_output_stream(part.tmp)
            part.writer = pq.ParquetWriter(
                part.sink, self.schema, compression=PARQUET_COMPRESSION, use_dictionary=self._dictionary
            )
        part.writer.write_table(table, row_group_size=max(table.num_rows, 1))
        part.file_rows += table.num_rows

    def _close(self, part: _Part) -> None:
        """Close a part already taken out of ``_open``: on failure (a full disk) its temp file is deleted here,
        since :meth:`abort` no longer sees it."""
        try:
            self._flush(part)
            if part.writer is None:
                return
            part.writer.close()
            part.sink.close()
            self.lake._fsync(part.tmp)
        except BaseException:
            _close_quiet(part)
            self.lake._delete_quiet(part.tmp)
            raise
        final = self.lake._part_path(self.stream, part.date, self.run_id)
        self._ready.append((part.tmp, final))
        self.rows_by_path[final] = part.file_rows

    def take_ready(self) -> list[tuple[str, str]]:
        """Closed files (temp path, final path) not yet handed out."""
        ready, self._ready = self._ready, []
        return ready

    def finish(self) -> list[tuple[str, str]]:
        """Close every open file; return all files not yet handed out."""
        while self._open:
            self._close(self._open.pop(next(iter(self._open))))
        return self.take_ready()

    def abort(self) -> None:
        """Drop everything not yet committed (temp files are deleted)."""
        tmps = [tmp for tmp, _ in self._ready]
        for part in self._open.values():
            tmps.append(part.tmp)
            _close_quiet(part)
        self._open.clear()
        self._ready = []
        for tmp in tmps:
            self.lake._delete_quiet(tmp)


def _close_quiet(part: _Part) -> None:
    """Best-effort close of a part's writer and sink (a failed run's cleanup)."""
    for closable in (part.writer, part.sink):
        try:
            if closable is not None:
                closable.close()
        except Exception:  # noqa: BLE001 - best effort cleanup of a failed run
            pass
