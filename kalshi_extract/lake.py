"""The Parquet lake: atomic, exactly-once writes on any pyarrow / fsspec filesystem.

Lake root
---------
``Lake(root)`` takes a local path (the default, ``$KALSHI_LAKE_DIR/lake``) or any URI pyarrow understands
(``s3://bucket/lake``, ``gs://…``, ``hdfs://…``) or fsspec understands (``memory://lake``, ``abfs://…``; the
fsspec package for that protocol must be installed). ``Lake(root, filesystem=fs)`` takes a ready
``pyarrow.fs.FileSystem`` (e.g. a ``SubTreeFileSystem``) or an ``fsspec`` filesystem; ``root`` is then the path
inside it.

Layout
------
::

    <root>/<stream>/date=YYYY-MM-DD/part-<run_id>-<n>.parquet   data (hive partitions; ``date`` only in the path)
    <root>/_state/<stream>.json                                  watermarks / incremental state of a stream
    <root>/_commits/<stream>-<seq>.json                          a commit in flight (rolled forward on recovery)
    <root>/_runs/date=YYYY-MM-DD/<run_id>-<stream>.parquet       the run log (see :mod:`kalshi_extract.runs`)
    <root>/_locks/<stream>.lock                                  the writer lock of a stream
    <root>/_tmp/                                                 files being written (invisible to readers)

Exactly once
------------
Data files are written under ``_tmp/`` (fsync'ed on a local disk), then *committed*: a commit record listing the
moves (``_tmp/x`` → ``<stream>/date=…/part-….parquet``), deletions (compaction) and the stream's new state is
written atomically, the moves are performed, the state file is replaced, and the record is deleted. A process
killed at any instant leaves either no record (the commit never happened: its temp files are garbage, deleted on
the next lock) or a complete record, which the next writer of that stream rolls forward before doing anything
else. So data and the state describing it become visible together. Readers ignore ``_``- and ``.``-prefixed
paths. On object stores a "move" is copy + delete and is not atomic by itself, but the roll-forward still
completes it; only the lock is weaker there (a lease file, see :class:`StreamLock`).

Locks
-----
Each stream has one writer at a time. On a local disk the lock is ``flock`` on ``_locks/<stream>.lock`` (freed by
the kernel when the process dies, even by SIGKILL); elsewhere it is a lease file refreshed by a heartbeat thread
and considered stale after ``LEASE_SECONDS``. A second pull waits up to ``timeout`` seconds, then raises
:class:`~kalshi_extract.errors.LakeLockedError` naming the holder.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from kalshi_extract.arrowfast import int_scalar
from kalshi_extract.errors import LakeLockedError, LakeStateError
from kalshi_extract.schemas import STREAM_COLUMNS, TS, arrow_schema

__all__ = ["Lake", "StreamWriter", "StreamLock", "LEASE_SECONDS"]

LEASE_SECONDS = 120.0
DEFAULT_FILE_ROWS = 1_000_000  # a file is closed at this many rows (~20-40 MB of trades)
DEFAULT_ROW_GROUP_ROWS = 65_536
PARQUET_COMPRESSION = "zstd"
_seq = itertools.count()
_seq_lock = threading.Lock()


def _next_seq() -> int:
    with _seq_lock:
        return next(_seq)


def _resolve(root: str, filesystem) -> tuple[pafs.FileSystem, str]:
    if filesystem is not None:
        if isinstance(filesystem, pafs.FileSystem):
            return filesystem, root.rstrip("/") or "/"
        return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), root.rstrip("/") or "/"
    root = str(root)
    if "://" not in root:
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(root))
    try:
        fs, path = pafs.FileSystem.from_uri(root)
        return fs, path.rstrip("/")
    except (pa.ArrowInvalid, ValueError):
        import fsspec

        fsfs, path = fsspec.core.url_to_fs(root)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fsfs)), path.rstrip("/") or "/"


_EPOCH = date(1970, 1, 1)


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
        lake: Lake,
        stream: str,
        run_id: str,
        schema: pa.Schema,
        date_column: str | None,
        *,
        max_file_rows: int | None = None,
        row_group_rows: int | None = None,
        max_open: int = 4,
        fixed_date: str | None = None,
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
        self._open: dict[str, _Part] = {}
        self._ready: list[tuple[str, str]] = []
        self.rows = 0

    def _days(self, batch: pa.RecordBatch) -> pa.Array:
        """Partition day of every row as int32 days since 1970-01-01 (UTC)."""
        ts = batch.column(self.date_column) if self.date_column else batch.column("_loaded_at")
        if self.date_column and ts.null_count:
            ts = pc.coalesce(ts, batch.column("_loaded_at"))
        return pc.cast(pc.cast(ts, pa.timestamp("us", tz="UTC")), pa.date32()).cast(pa.int32())

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
            part.writer = pq.ParquetWriter(part.sink, self.schema, compression=PARQUET_COMPRESSION)
        part.writer.write_table(table, row_group_size=max(table.num_rows, 1))
        part.file_rows += table.num_rows

    def _close(self, part: _Part) -> None:
        self._flush(part)
        if part.writer is None:
            return
        part.writer.close()
        part.sink.close()
        self.lake._fsync(part.tmp)
        final = self.lake._part_path(self.stream, part.date, self.run_id)
        self._ready.append((part.tmp, final))

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
            try:
                if part.writer is not None:
                    part.writer.close()
                    part.sink.close()
            except Exception:  # noqa: BLE001 - best effort cleanup of a failed run
                pass
        self._open.clear()
        self._ready = []
        for tmp in tmps:
            self.lake._delete_quiet(tmp)


class StreamLock:
    """One writer per stream (see the module docstring). Use via :meth:`Lake.lock`."""

    def __init__(self, lake: Lake, stream: str, timeout: float):
        self.lake = lake
        self.stream = stream
        self.timeout = timeout
        self.path = lake._join("_locks", f"{stream}.lock")
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token = uuid.uuid4().hex

    def _owner(self) -> dict:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(),
            "token": self._token,
            "expires": time.time() + LEASE_SECONDS,
        }

    def _message(self, holder: dict | None) -> str:
        who = (
            f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
            if holder
            else "another process"
        )
        return (
            f"stream {self.stream!r} of lake {self.lake.uri} is being written by {who}; waited "
            f"{self.timeout:g}s. Wait for that pull to finish (or stop it) and run again."
        )

    def acquire(self) -> None:
        self.lake.fs.create_dir(self.lake._join("_locks"), recursive=True)
        deadline = time.monotonic() + self.timeout
        if self.lake.is_local:
            import fcntl

            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = self._read_holder()
                        os.close(fd)
                        raise LakeLockedError(self._message(holder)) from None
                    time.sleep(0.05)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(self._owner()).encode(), 0)
            self._fd = fd
            return
        while True:
            holder = self._read_holder()
            if holder is None or holder.get("expires", 0) < time.time():
                self.lake._write_bytes(self.path, json.dumps(self._owner()).encode())
                time.sleep(0.05)
                mine = self._read_holder()
                if mine and mine.get("token") == self._token:
                    break
            if time.monotonic() >= deadline:
                raise LakeLockedError(self._message(holder))
            time.sleep(0.2)
        self._thread = threading.Thread(target=self._heartbeat, daemon=True, name=f"lake-lease-{self.stream}")
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 4):
            self.lake._write_bytes(self.path, json.dumps(self._owner()).encode())

    def _read_holder(self) -> dict | None:
        try:
            return json.loads(self.lake._read_bytes(self.path) or b"null")
        except (FileNotFoundError, ValueError, OSError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.lake._delete_quiet(self.path)


class Lake:
    """A lake root on some filesystem. Thread-safe for writers of different streams."""

    def __init__(self, root: str, filesystem=None):
        self.uri = str(root)
        self.fs, self.root = _resolve(str(root), filesystem)
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)
        self._state_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> Lake:
        """The lake at ``settings.lake_root`` (``$KALSHI_LAKE_DIR/lake``)."""
        return cls(str(settings.lake_root))

    def __repr__(self) -> str:
        return f"Lake({self.uri!r})"

    # -- paths and small file helpers -------------------------------------------------------------------
    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts]) if self.root != "/" else "/" + "/".join(parts)

    def stream_path(self, stream: str) -> str:
        return self._join(stream)

    def _tmp_path(self, stream: str) -> str:
        self.fs.create_dir(self._join("_tmp"), recursive=True)
        return self._join("_tmp", f"{stream}--{uuid.uuid4().hex}.parquet.tmp")

    def _part_path(self, stream: str, date: str, run_id: str) -> str:
        return self._join(
            stream, f"date={date}", f"part-{run_id}-{_next_seq():05d}-{uuid.uuid4().hex[:6]}.parquet"
        )

    def _fsync(self, path: str) -> None:
        if self.is_local:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _fsync_dir(self, path: str) -> None:
        if self.is_local:
            fd = os.open(os.path.dirname(path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def _read_bytes(self, path: str) -> bytes:
        if not self._exists(path):
            raise FileNotFoundError(path)
        with self.fs.open_input_stream(path) as f:
            return f.read()

    def _write_bytes(self, path: str, data: bytes) -> None:
        """Write a small file atomically (temp + fsync + rename)."""
        parent = path.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.{uuid.uuid4().hex[:8]}.tmp"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self._fsync(tmp)
        self._move(tmp, path)

    def _move(self, src: str, dst: str) -> None:
        self.fs.create_dir(dst.rsplit("/", 1)[0], recursive=True)
        if self.is_local:
            os.replace(src, dst)
            self._fsync_dir(dst)
        else:
            self.fs.move(src, dst)

    def _delete_quiet(self, path: str) -> None:
        try:
            self.fs.delete_file(path)
        except (FileNotFoundError, OSError):
            pass

    def _list(self, path: str, recursive: bool = True) -> list[pafs.FileInfo]:
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(path, recursive=recursive, allow_not_found=True))
        except FileNotFoundError:
            return []
        return [i for i in infos if i.type == pafs.FileType.File]

    # -- locking and recovery ---------------------------------------------------------------------------
    @contextmanager
    def lock(self, streams: str | Iterable[str], timeout: float = 600.0) -> Iterator[None]:
        """Hold the writer lock of one or more streams (taken in sorted order), recovering each first."""
        names = sorted({streams} if isinstance(streams, str) else set(streams))
        held: list[StreamLock] = []
        try:
            for name in names:
                lk = StreamLock(self, name, timeout)
                lk.acquire()
                held.append(lk)
                self.recover(name)
            yield
        finally:
            for lk in reversed(held):
                lk.release()

    def recover(self, stream: str) -> int:
        """Roll forward any commit of ``stream`` left by a killed process; delete its orphan temp files.

        Call only while holding the stream's lock. Returns the number of commits rolled forward.
        """
        done = self._roll_forward(stream)
        prefix = f"{stream}--"
        for info in self._list(self._join("_tmp"), recursive=False):
            if info.base_name.startswith(prefix):
                self._delete_quiet(info.path)
        return done

    def _roll_forward(self, stream: str) -> int:
        records = sorted(
            (
                i.path
                for i in self._list(self._join("_commits"), recursive=False)
                if i.base_name.startswith(f"{stream}--") and i.base_name.endswith(".json")
            ),
        )
        for path in records:
            record = json.loads(self._read_bytes(path))
            self._apply(record)
            self._delete_quiet(path)
        return len(records)

    # -- commits ----------------------------------------------------------------------------------------
    def _apply(self, record: dict) -> None:
        for src, dst in record.get("moves", []):
            if self._exists(src):
                self._move(src, dst)
            elif not self._exists(dst):
                raise LakeStateError(
                    f"commit of {record.get('stream')!r}: neither {src} nor {dst} exists; the lake was modified "
                    "outside kalshi-lake. Restore the file or delete the commit record in _commits/."
                )
        for path in record.get("deletes", []):
            self._delete_quiet(path)
        if record.get("state") is not None:
            self._write_bytes(self._state_path(record["stream"]), json.dumps(record["state"]).encode())

    def commit(
        self,
        stream: str,
        files: list[tuple[str, str]],
        state: dict | None = None,
        deletes: Iterable[str] = (),
    ) -> list[str]:
        """Make temp files visible (and replace the stream's state, delete files) as one crash-safe step."""
        deletes = list(deletes)
        if not files and state is None and not deletes:
            return []
        record = {
            "stream": stream,
            "moves": [list(m) for m in files],
            "deletes": deletes,
            "state": state,
            "at": datetime.now(UTC).isoformat(),
        }
        with self._commit_lock:
            path = self._join("_commits", f"{stream}--{time.time_ns():020d}-{uuid.uuid4().hex[:6]}.json")
            self._write_bytes(path, json.dumps(record).encode())
            self._apply(record)
            self._delete_quiet(path)
        return [dst for _, dst in files]

    # -- state ------------------------------------------------------------------------------------------
    def _state_path(self, stream: str) -> str:
        return self._join("_state", f"{stream}.json")

    def read_state(self, stream: str) -> dict:
        """The stream's state document ({} before its first commit)."""
        try:
            raw = self._read_bytes(self._state_path(stream))
        except FileNotFoundError:
            return {}
        try:
            state = json.loads(raw)
        except ValueError as exc:
            raise LakeStateError(
                f"state file {self._state_path(stream)} is not valid JSON ({exc}); it was modified outside "
                "kalshi-lake. Delete it to re-pull the stream from scratch (rows are de-duplicated)."
            ) from None
        if not isinstance(state, dict):
            raise LakeStateError(f"state file {self._state_path(stream)} does not hold a JSON object")
        return state

    # -- writing ----------------------------------------------------------------------------------------
    def writer(
        self,
        stream: str,
        run_id: str,
        schema: pa.Schema | None = None,
        date_column: str | None = None,
        **kwargs,
    ) -> StreamWriter:
        """A rolling writer for ``stream`` (files stay invisible until :meth:`commit`)."""
        return StreamWriter(self, stream, run_id, schema or arrow_schema(stream), date_column, **kwargs)

    def append(
        self,
        stream: str,
        data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
        run_id: str,
        date_column: str | None = None,
    ) -> list[str]:
        """Atomically add rows to ``stream`` (one file per date partition, all visible at once).

        Adds ``_loaded_at`` / ``_run_id`` / ``_extra`` when the table lacks them. The partition date comes from
        ``date_column`` (default: ``ts`` when present, else ``_loaded_at``). Used by the order journal.
        """
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        elif not isinstance(data, pa.Table):
            batches = list(data)
            if not batches:
                return []
            data = pa.Table.from_batches(batches)
        n = data.num_rows
        if "_loaded_at" not in data.schema.names:
            data = data.append_column(
                pa.field("_loaded_at", TS), pa.repeat(pa.scalar(datetime.now(UTC), TS), n)
            )
        if "_run_id" not in data.schema.names:
            data = data.append_column("_run_id", pa.repeat(pa.scalar(run_id, pa.string()), n))
        if "_extra" not in data.schema.names:
            data = data.append_column("_extra", pa.nulls(n, pa.string()))
        if date_column is None:
            date_column = (
                "ts"
                if "ts" in data.schema.names and pa.types.is_timestamp(data.schema.field("ts").type)
                else None
            )
        self._roll_forward(stream)
        w = StreamWriter(self, stream, run_id, data.schema, date_column)
        try:
            w.write(data)
            files = w.finish()
        except BaseException:
            w.abort()
            raise
        return self.commit(stream, files)

    # -- reading ----------------------------------------------------------------------------------------
    def files(self, stream: str) -> list[str]:
        """Paths of the stream's visible Parquet files, sorted."""
        out = []
        for info in self._list(self.stream_path(stream)):
            rel = info.path[len(self.stream_path(stream)) :]
            if info.base_name.endswith(".parquet") and not any(
                seg.startswith(("_", ".")) for seg in rel.split("/") if seg
            ):
                out.append(info.path)
        return sorted(out)

    def dataset(self, stream: str, schema: pa.Schema | None = None):
        """A pyarrow dataset over the stream (``date`` partition column included, as a string)."""
        if schema is None and stream in STREAM_COLUMNS:
            schema = arrow_schema(stream)
        import pyarrow.dataset as ds  # lazily: it imports pandas (~60 MB), which a plain pull never needs

        part = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
        files = self.files(stream)
        if schema is not None:
            schema = schema.append(pa.field("date", pa.string()))
        return ds.dataset(
            files,
            schema=schema,
            format="parquet",
            filesystem=self.fs,
            partitioning=part,
            partition_base_dir=self.stream_path(stream),
        )

    def scan(self, stream: str, columns: list[str], min_date: str | None = None) -> pa.Table | None:
        """Some columns of every file whose partition date is ≥ ``min_date`` (None when no file matches).

        A light reader for the pull's de-duplication: no ``pyarrow.dataset`` (it imports pandas). Columns missing
        from older files are null; ``schema`` types are those of :func:`~kalshi_extract.schemas.arrow_schema`.
        """
        schema = arrow_schema(stream) if stream in STREAM_COLUMNS else None
        tables = []
        for path in self.files(stream):
            day = path.rsplit("/", 2)[-2].split("=", 1)[-1]
            if min_date is not None and day < min_date:
                continue
            pf = pq.ParquetFile(self.fs.open_input_file(path))
            present = [c for c in columns if c in pf.schema_arrow.names]
            table = pf.read(columns=present)
            arrays = []
            for c in columns:
                if c in present:
                    arrays.append(table.column(c))
                else:
                    arrays.append(pa.nulls(table.num_rows, schema.field(c).type if schema else pa.string()))
            tables.append(pa.Table.from_arrays(arrays, names=columns))
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="permissive")

    def read(self, stream: str, columns: list[str] | None = None, filter=None) -> pa.Table:
        """Read a stream (optionally some columns and a ``pyarrow.compute`` filter expression)."""
        return self.dataset(stream).to_table(columns=columns, filter=filter)

    # -- maintenance ------------------------------------------------------------------------------------
    def compact(
        self, stream: str, *, small_rows: int = 100_000, target_rows: int = 1_000_000, timeout: float = 600.0
    ) -> int:
        """Merge the small files (< ``small_rows`` rows) of each date partition into files of ≤ ``target_rows``.

        Rows and values are unchanged; runs as one crash-safe commit per partition under the stream's lock.
        Returns the number of files removed.
        """
        removed = 0
        with self.lock(stream, timeout=timeout):
            by_date: dict[str, list[str]] = {}
            for path in self.files(stream):
                date = path.rsplit("/", 2)[-2].split("=", 1)[-1]
                by_date.setdefault(date, []).append(path)
            schema = arrow_schema(stream) if stream in STREAM_COLUMNS else None
            for day, paths in sorted(by_date.items()):
                small = [
                    p
                    for p in paths
                    if pq.ParquetFile(self.fs.open_input_file(p)).metadata.num_rows < small_rows
                ]
                if len(small) < 2:
                    continue
                run_id = f"compact-{datetime.now(UTC):%Y%m%dT%H%M%S}"
                sch = schema or pq.read_schema(self.fs.open_input_file(small[0]))
                w = StreamWriter(
                    self, stream, run_id, sch, None, max_file_rows=target_rows, max_open=1, fixed_date=day
                )
                try:
                    for p in small:
                        table = pq.read_table(self.fs.open_input_file(p), schema=sch)
                        w.write(table)
                    files = w.finish()
                except BaseException:
                    w.abort()
                    raise
                self.commit(stream, files, deletes=small)
                removed += len(small)
        return removed
