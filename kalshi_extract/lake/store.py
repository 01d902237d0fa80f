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
    <root>/_state/<stream>.json                                  watermarks / incremental state of a public stream
    <root>/_state/<stream>/account=<label>.json                  … of a private stream, one per account (``_account``)
    <root>/_commits/<stream>-<seq>.json                          a commit in flight (rolled forward on recovery)
    <root>/_runs/date=YYYY-MM-DD/<run_id>-<stream>.parquet       the run log (see :mod:`kalshi_extract.lake.run_log`)
    <root>/_locks/<stream>.lock                                  the writer lock of a stream
    <root>/_schemas/<stream>.json                                files whose footers were found in the current schema
    <root>/_tmp/                                                 files being written (invisible to readers)

Exactly once
------------
Data files are written under ``_tmp/`` (fsync'ed on a local disk), then *committed*: a commit record listing the
moves (``_tmp/x`` → ``<stream>/date=…/part-….parquet``), deletions (compaction) and the stream's new state is
written atomically, the moves are performed, the state file is replaced, and the record is deleted. A process
killed at any instant leaves either no record (the commit never happened: its temp files are garbage, deleted on
the next lock) or a complete record, which the next writer of that stream rolls forward before doing anything
else. The next lock of a stream also deletes its half-written commit records and state files (``_commits/.x``,
``_state/.x``); a commit whose record cannot be written (disk full) deletes its temp files at once. So data and the state describing it become visible together. Readers ignore ``_``- and ``.``-prefixed
paths. On object stores a "move" is copy + delete and is not atomic by itself, but the roll-forward still
completes it; what makes it exactly once there is that only one writer of a stream runs at a time (below).

Current schema
--------------
Taking a stream's lock (the lake opened for writing) also rewrites, exactly and crash-safely, every file whose
column types drift from the stream's current schema (``decimal128(24, 8)`` strikes of an earlier version beside
``(38, 12)``): any engine then reads the lake right. It reads footers only, and only of files not checked before
(:mod:`kalshi_extract.lake.schema_check`); a file that cannot be converted exactly stops the writer with one line
naming it. See :meth:`Lake.ensure_current`.

Locks
-----
Each stream has one writer at a time. On a local disk the lock is ``flock`` on ``_locks/<stream>.lock`` (freed by
the kernel when the process dies, even by SIGKILL). On an object store (S3, any fsspec filesystem) it is a lease
taken by a *conditional write*: ``_locks/<stream>/<generation>.json`` is created only if absent (S3 ``PutObject``
with ``If-None-Match: *``, through s3fs's ``pipe_file(mode="create")``), so of writers racing for the next
generation exactly one wins; the holder renews it every 5 s, a dead holder's lease expires after
``LEASE_SECONDS`` (15 s) and the next writer takes the next generation, and :meth:`commit` refuses to commit for a
writer whose lease lapsed (see :mod:`kalshi_extract.lake.locks` for the protocol and its assumptions). Chosen over
a table format with concurrent writers (Delta Lake through ``deltalake``): the lake's layout, commit records and
readers stay as they are, S3 has offered create-if-absent since 2024 (moto's server too), and the lock costs ~8 of
an S3 pull's ~280 requests (BENCHMARKS.md "S3 lake"). The previous write-then-read-back lease file was not mutual
exclusion (two concurrent pulls doubled a stream in 2 of 9 trials) and made a re-run wait ~120 s after a crash.
A second pull waits up to ``timeout`` seconds, then raises :class:`~kalshi_extract.errors.LakeLockedError` naming
the holder. Tested on moto's S3 server in ``tests/s3``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import quote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from kalshi_extract.errors import LakeError, LakeStateError
from kalshi_extract.lake.locks import LEASE_SECONDS, StreamLock
from kalshi_extract.lake.schema_check import Drift, check_stream, drift_of
from kalshi_extract.lake.schemas import PRIVATE_STREAMS, STREAM_COLUMNS, TS, arrow_schema
from kalshi_extract.lake.writer import StreamWriter

__all__ = ["Lake", "StreamWriter", "StreamLock", "LEASE_SECONDS", "compact_lake", "conform"]

log = logging.getLogger("kalshi_extract.lake.store")
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


def _protocols(fsfs) -> tuple[str, ...]:
    proto = getattr(fsfs, "protocol", ())
    return (proto,) if isinstance(proto, str) else tuple(proto)


class Lake:
    """A lake root on some filesystem. Thread-safe for writers of different streams."""

    def __init__(self, root: str, filesystem=None):
        self.uri = str(root)
        self.fs, self.root = _resolve(str(root), filesystem)
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)
        self._state_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._fsspec_given = (
            filesystem if filesystem is not None and not isinstance(filesystem, pafs.FileSystem) else None
        )
        self._held: dict[str, StreamLock] = {}  # the writer locks this object holds, by stream

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

    def check_writable(self) -> None:
        """Raise one ``LakeError`` now if the lake cannot take a file (read-only, not a directory, no space for a
        byte), instead of one failure per stream later."""
        probe = self._join("_tmp", f".probe-{uuid.uuid4().hex}")
        try:
            self.fs.create_dir(self._join("_tmp"), recursive=True)
            with self.fs.open_output_stream(probe) as f:
                f.write(b"0")
            self.fs.delete_file(probe)
        except OSError as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise LakeError(
                f"the lake at {self.uri} cannot be written ({reason}); nothing was pulled"
            ) from None

    def _tmp_path(self, stream: str) -> str:
        self.fs.create_dir(self._join("_tmp"), recursive=True)
        return self._join("_tmp", f"{stream}--{uuid.uuid4().hex}.parquet.tmp")

    def _part_path(self, stream: str, date: str, run_id: str) -> str:
        return self._join(
            stream, f"date={date}", f"part-{run_id}-{_next_seq():05d}-{uuid.uuid4().hex[:6]}.parquet"
        )

    def _local_path(self, path: str) -> str | None:
        """``path`` of this lake as a path of the local disk, or None when the lake is not on the local disk (a
        ``SubTreeFileSystem`` over the local one counts as local: its lock is an ``flock`` too)."""
        if self.is_local:
            return path
        if isinstance(self.fs, pafs.SubTreeFileSystem) and isinstance(self.fs.base_fs, pafs.LocalFileSystem):
            return os.path.join(self.fs.base_path, path.lstrip("/"))
        if self._fsspec_given is not None and "file" in _protocols(self._fsspec_given):
            return path
        return None

    def _lease_filesystem(self):
        """(fsspec filesystem, lake root in its paths) for the object-store writer lock, which needs a
        create-if-absent write (:mod:`kalshi_extract.lake.locks`); None when there is no such filesystem."""
        if self._fsspec_given is not None:
            return self._fsspec_given, self.root
        if isinstance(self.fs, pafs.PyFileSystem) and isinstance(self.fs.handler, pafs.FSSpecHandler):
            return self.fs.handler.fs, self.root
        if "://" in self.uri:
            import fsspec

            try:
                fsfs, path = fsspec.core.url_to_fs(self.uri)
            except ImportError as exc:  # e.g. s3:// without s3fs
                raise LakeError(
                    f"the lake {self.uri} needs {exc.name or 'the fsspec package of its protocol'} for its writer "
                    "lock (create-if-absent writes): install kalshi-lake[s3] (s3fs) for s3://"
                ) from None
            return fsfs, path.rstrip("/") or "/"
        return None

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
        try:
            with self.fs.open_output_stream(tmp) as f:
                f.write(data)
            self._fsync(tmp)
            self._move(tmp, path)
        except BaseException:
            self._delete_quiet(tmp)  # e.g. disk full: leave no half-written temp file behind
            raise

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
    def lock(
        self, streams: str | Iterable[str], timeout: float = 600.0, *, check_schema: bool = True
    ) -> Iterator[None]:
        """Hold the writer lock of one or more streams (taken in sorted order), recovering each first.

        ``check_schema``: then bring every file of each stream to its current schema (:meth:`ensure_current`)."""
        names = sorted({streams} if isinstance(streams, str) else set(streams))
        held: list[StreamLock] = []
        try:
            for name in names:
                lk = StreamLock(self, name, timeout)
                lk.acquire()
                held.append(lk)
                self._held[name] = lk
                self.recover(name)
                if check_schema and name in STREAM_COLUMNS:
                    self.ensure_current(name)
            yield
        finally:
            for lk in reversed(held):
                if self._held.get(lk.stream) is lk:
                    del self._held[lk.stream]
                lk.release()

    def recover(self, stream: str) -> int:
        """Roll forward any commit of ``stream`` left by a killed process; delete its orphan temp files.

        Call only while holding the stream's lock. Returns the number of commits rolled forward.
        """
        done = self._roll_forward(stream)
        # every temp file of this stream belongs to a writer that held this lock before us and is gone: data
        # files in _tmp/, half-written commit records and state files (dot-prefixed, see _write_bytes)
        for folder, prefix in (
            ("_tmp", f"{stream}--"),
            ("_commits", f".{stream}--"),
            ("_state", f".{stream}.json."),
            ("_schemas", f".{stream}.json."),
        ):
            for info in self._list(self._join(folder), recursive=False):
                if info.base_name.startswith(prefix):
                    self._delete_quiet(info.path)
        for info in self._list(self._join("_state", stream), recursive=False):  # per-account state files
            if info.base_name.startswith("."):
                self._delete_quiet(info.path)
        return done

    def reserve_space(self, stream: str, nbytes: int = 256 * 1024) -> str | None:
        """Set ``nbytes`` of disk aside for ``stream`` (a temp file of zeros), else a quarter, else a sixteenth
        (a run-log row is a few KiB); None when even that does not fit.

        The pull deletes it just before writing its run-log row, so a disk that filled up during the pull still
        has room for the row saying so. A killed pull's reservation is an ordinary temp file of the stream,
        deleted on the next lock. Call only while holding the stream's lock.
        """
        if not self.is_local:
            return None  # object stores do not fill up
        for size in (nbytes, nbytes // 4, nbytes // 16):
            path = self._tmp_path(stream)
            try:
                with self.fs.open_output_stream(path) as f:
                    f.write(bytes(size))
                self._fsync(path)
                return path
            except OSError:
                self._delete_quiet(path)
        return None

    def pending_moves(self, stream: str) -> list[tuple[str, str]]:
        """Moves of ``stream``'s commit records not rolled forward yet (a writer killed mid-commit), as
        (source, destination) where the source still exists. Such a record is a commit: readers that must not
        wait for the next writer (``status``) read the source in its place."""
        out = []
        for info in self._list(self._join("_commits"), recursive=False):
            if not (info.base_name.startswith(f"{stream}--") and info.base_name.endswith(".json")):
                continue
            try:
                record = json.loads(self._read_bytes(info.path))
            except (FileNotFoundError, ValueError):
                continue  # rolled forward meanwhile, or not a record
            out += [(src, dst) for src, dst in record.get("moves", []) if self._exists(src)]
        return out

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
            if "state_account" in record:
                path = self._state_path(record["stream"], record["state_account"])
            else:  # a record of an earlier version: its state file, migrated by the stream's next StateBook
                path = self.legacy_state_path(record["stream"])
            self._write_bytes(path, json.dumps(record["state"]).encode())

    def commit(
        self,
        stream: str,
        files: list[tuple[str, str]],
        state: dict | None = None,
        deletes: Iterable[str] = (),
        *,
        account: str | None = None,
    ) -> list[str]:
        """Make temp files visible (and replace the stream's state, delete files) as one crash-safe step.

        ``account``: whose state ``state`` is (private streams keep one state per account)."""
        deletes = list(deletes)
        if state is not None:
            self._state_path(
                stream, account
            )  # a private stream's state needs its account: fail before writing
        if not files and state is None and not deletes:
            return []
        record = {
            "stream": stream,
            "moves": [list(m) for m in files],
            "deletes": deletes,
            "state": state,
            "state_account": account,
            "at": datetime.now(UTC).isoformat(),
        }
        held = self._held.get(stream)
        if held is not None:
            held.check()  # object stores: a writer whose lease lapsed must not commit over the next holder
        with self._commit_lock:
            path = self._join("_commits", f"{stream}--{time.time_ns():020d}-{uuid.uuid4().hex[:6]}.json")
            try:
                self._write_bytes(path, json.dumps(record).encode())
            except BaseException:
                # no record, no commit: the temp files handed to it are garbage now (free their space at once)
                for src, _ in files:
                    self._delete_quiet(src)
                raise
            self._apply(record)
            self._delete_quiet(path)
        return [dst for _, dst in files]

    # -- state ------------------------------------------------------------------------------------------
    def _state_path(self, stream: str, account: str | None = None) -> str:
        """``_state/<stream>.json`` (public streams) or ``_state/<stream>/account=<label>.json`` (private ones:
        each account its own watermarks, so a second account in the lake does not start from the first's; a
        subaccount would add ``subaccount=<n>`` beside it). The label is %-quoted: it cannot leave the folder."""
        if stream in PRIVATE_STREAMS:
            if account is None:
                raise LakeStateError(
                    f"stream {stream!r} is private: its state is per account (KALSHI_ACCOUNT); name the account"
                )
            return self._join("_state", stream, f"account={quote(account, safe='')}.json")
        return self._join("_state", f"{stream}.json")

    def legacy_state_path(self, stream: str) -> str:
        """Where versions before per-account state kept a private stream's state (``_state/<stream>.json``)."""
        return self._join("_state", f"{stream}.json")

    def read_state(self, stream: str, account: str | None = None) -> dict:
        """The stream's state document ({} before its first commit); ``account`` for private streams."""
        return self.read_state_file(self._state_path(stream, account))

    def read_state_file(self, path: str) -> dict:
        """A state document by path ({} when the file does not exist)."""
        try:
            raw = self._read_bytes(path)
        except FileNotFoundError:
            return {}
        try:
            state = json.loads(raw)
        except ValueError as exc:
            raise LakeStateError(
                f"state file {path} is not valid JSON ({exc}); it was modified outside kalshi-lake. Delete it to "
                "re-pull the stream from scratch (rows are de-duplicated)."
            ) from None
        if not isinstance(state, dict):
            raise LakeStateError(f"state file {path} does not hold a JSON object")
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
        lock_timeout: float = 60.0,
        fallback_time: datetime | None = None,
        day: datetime | None = None,
    ) -> list[str]:
        """Atomically add rows to ``stream`` (one file per date partition, all visible at once).

        Adds ``_loaded_at`` / ``_run_id`` / ``_extra`` when the table lacks them. The partition date comes from
        ``date_column`` (default: ``ts`` when present, else ``_loaded_at``); a row whose ``date_column`` is null is
        dated by ``fallback_time`` when given, else by its ``_loaded_at``; ``day``: every row into the partition of
        that instant's UTC day instead. Used by the order journal and the recorder.
        Holds the stream's writer lock while it writes and commits (several processes may journal orders into
        one lake at once; the lock also rolls forward a commit a killed writer left), waiting up to
        ``lock_timeout`` seconds.
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
        with self.lock(stream, timeout=lock_timeout):
            fixed = None if day is None else day.astimezone(UTC).strftime("%Y-%m-%d")
            w = StreamWriter(
                self, stream, run_id, data.schema, date_column, fallback_time=fallback_time, fixed_date=fixed
            )
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
        return [info.path for info in self.file_infos(stream)]

    def file_infos(self, stream: str) -> list[pafs.FileInfo]:
        """The stream's visible Parquet files (path, size…), sorted by path: one listing."""
        out = []
        for info in self._list(self.stream_path(stream)):
            rel = info.path[len(self.stream_path(stream)) :]
            if info.base_name.endswith(".parquet") and not any(
                seg.startswith(("_", ".")) for seg in rel.split("/") if seg
            ):
                out.append(info)
        return sorted(out, key=lambda i: i.path)

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

    def corrupt_file_error(self, path: str, exc: BaseException) -> LakeStateError:
        """The error for a data file that is not readable Parquet: names it and says how to repair."""
        stream = path[len(self.root) :].strip("/").split("/", 1)[0]
        if stream.startswith("_"):
            return LakeStateError(
                f"{path} is not a readable Parquet file ({exc}); it was damaged or written outside kalshi-lake. "
                "Move it out of the lake: it holds one run-log row, whose run then shows as interrupted."
            )
        return LakeStateError(
            f"{path} is not a readable Parquet file ({exc}); it was damaged or written outside kalshi-lake. "
            f"Move it out of the lake, then delete {self._state_display(stream)} so the next pull of {stream!r} "
            "lands its rows again (rows already in the lake are de-duplicated)."
        )

    def _state_display(self, stream: str) -> str:
        if stream in PRIVATE_STREAMS:
            return self._join("_state", stream) + "/ (every account's state of the stream)"
        return self._state_path(stream)

    def open_parquet(self, path: str) -> pq.ParquetFile:
        """A data file's reader; :class:`LakeStateError` naming the file when it is not readable Parquet."""
        try:
            return pq.ParquetFile(self.fs.open_input_file(path))
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise self.corrupt_file_error(path, exc) from None

    def scan(self, stream: str, columns: list[str], min_date: str | None = None) -> pa.Table | None:
        """Some columns of every file whose partition date is ≥ ``min_date`` (None when no file matches).

        A light reader for the pull's de-duplication: no ``pyarrow.dataset`` (it imports pandas). Columns missing
        from older files are null; ``schema`` types are those of :func:`~kalshi_extract.lake.schemas.arrow_schema`.
        """
        schema = arrow_schema(stream) if stream in STREAM_COLUMNS else None
        tables = []
        for path in self.files(stream):
            day = path.rsplit("/", 2)[-2].split("=", 1)[-1]
            if min_date is not None and day < min_date:
                continue
            pf = self.open_parquet(path)
            present = [c for c in columns if c in pf.schema_arrow.names]
            try:
                table = pf.read(columns=present)
            except (pa.ArrowInvalid, OSError) as exc:
                raise self.corrupt_file_error(path, exc) from None
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
    def current_schema(self, stream: str) -> pa.Schema | None:
        """The schema files of ``stream`` are written with today (None for a stream this version does not know)."""
        if stream in STREAM_COLUMNS:
            return arrow_schema(stream)
        from kalshi_extract.lake.run_log import RUNS_SCHEMA, RUNS_STREAM

        return RUNS_SCHEMA if stream == RUNS_STREAM else None

    def ensure_current(self, stream: str) -> int:
        """Rewrite the files of ``stream`` whose column types drift from its current schema (e.g. ``decimal128(24,
        8)`` strikes of an earlier version) to that schema, exactly; returns how many were rewritten.

        Called by :meth:`lock` (a lake opened for writing). Footers only, and only of the files written since the
        last check (:mod:`kalshi_extract.lake.schema_check`); the rewrite is :meth:`compact` of the partitions
        concerned, one crash-safe commit each, so a kill leaves each row once and the next lock finishes the
        rest. A file that cannot be converted exactly (a value that does not fit, a column this version does not
        know beside a drifted one) raises :class:`LakeStateError` naming it, before anything is written.
        Call only while holding the stream's lock."""
        drifts = check_stream(self, stream, write_cache=True)
        if not drifts:
            return 0
        days = {d.path.rsplit("/", 2)[-2].split("=", 1)[-1] for d in drifts}
        self._compact_locked(stream, dates=days)
        left = check_stream(self, stream, write_cache=True)
        if left:
            raise self._drift_error(left[0], "it also has a column this version does not know")
        log.warning(
            "%s: %d file(s) of an earlier schema rewritten to the current one (%s)",
            stream,
            len(drifts),
            drifts[0].describe(),
        )
        return len(drifts)

    def _drift_error(self, drift: Drift, reason: str) -> LakeStateError:
        return LakeStateError(
            f"{drift.path} holds {drift.describe()} and cannot be converted exactly ({reason}); nothing was "
            "written. If a newer kalshi-lake wrote it, upgrade (pip install -U kalshi-lake); otherwise move the "
            f"file out of the lake and run: kalshi-lake compact {drift.stream}"
        )

    def schema_drift(self, streams: Iterable[str] | None = None) -> list[Drift]:
        """Files whose column types drift from their stream's current schema, read-only (the cache is used, not
        written): what ``kalshi-lake status`` reports and the next writer of each stream rewrites."""
        names = list(STREAM_COLUMNS) if streams is None else list(streams)
        return [d for name in names for d in check_stream(self, name, write_cache=False)]

    def stale_files(self, stream: str) -> list[str]:
        """Files of ``stream`` whose columns are not those of the current schema (e.g. ``decimal128(24, 8)``
        strikes of an earlier version beside ``(38, 12)``, or a column added since): engines that read the lake
        file by file disagree on them (polars fails, DuckDB's plain ``read_parquet`` rounds). :meth:`compact`
        rewrites them to the current schema."""
        schema = self.current_schema(stream)
        if schema is None:
            return []
        return [p for p in self.files(stream) if not self.open_parquet(p).schema_arrow.equals(schema)]

    def compact(
        self,
        stream: str,
        *,
        small_rows: int = 100_000,
        target_rows: int = 1_000_000,
        timeout: float = 600.0,
        dates: Iterable[str] | None = None,
    ) -> dict:
        """Merge the small files (< ``small_rows`` rows) of each date partition into files of ≤ ``target_rows``
        rows, and rewrite every file not in the current schema (:meth:`stale_files`) to it.

        Rows and values are unchanged (a decimal is only ever widened: a value that would not fit exactly raises,
        nothing is rounded). Runs under the stream's writer lock (pulls of the stream wait), one crash-safe commit
        per partition: a process killed at any instant leaves the partition as it was or compacted, each row once
        (the commit record lists the new files and the old ones to delete; the next lock rolls it forward). A
        file with a column the current schema does not have is left as it is (and counted in ``kept``): its
        column would be lost. Returns ``{"removed": files replaced, "written": files written, "migrated": stale
        files rewritten, "kept": files left out}``. ``dates``: only these partitions (``YYYY-MM-DD``).
        """
        with self.lock(stream, timeout=timeout, check_schema=False):
            return self._compact_locked(stream, small_rows=small_rows, target_rows=target_rows, dates=dates)

    def _compact_locked(
        self,
        stream: str,
        *,
        small_rows: int = 100_000,
        target_rows: int = 1_000_000,
        dates: Iterable[str] | None = None,
    ) -> dict:
        """:meth:`compact` for a holder of the stream's lock."""
        only = None if dates is None else set(dates)
        out = {"removed": 0, "written": 0, "migrated": 0, "kept": 0}
        by_date: dict[str, list[str]] = {}
        for path in self.files(stream):
            date = path.rsplit("/", 2)[-2].split("=", 1)[-1]
            if only is None or date in only:
                by_date.setdefault(date, []).append(path)
        schema = self.current_schema(stream)
        for day, paths in sorted(by_date.items()):
            meta = {p: self.open_parquet(p) for p in paths}
            sch = schema or meta[paths[0]].schema_arrow
            foreign = [p for p in paths if set(meta[p].schema_arrow.names) - set(sch.names)]
            usable = [p for p in paths if p not in foreign]
            stale = [p for p in usable if not meta[p].schema_arrow.equals(sch)]
            small = [p for p in usable if meta[p].metadata.num_rows < small_rows]
            out["kept"] += len(foreign)
            chosen = sorted(set(stale) | (set(small) if len(small) >= 2 else set()))
            if not chosen:
                continue
            run_id = f"compact-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            w = StreamWriter(
                self, stream, run_id, sch, None, max_file_rows=target_rows, max_open=1, fixed_date=day
            )
            try:
                for p in chosen:
                    try:
                        table = meta[p].read()
                    except (pa.ArrowInvalid, OSError) as exc:
                        raise self.corrupt_file_error(p, exc) from None
                    try:
                        table = conform(table, sch)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                        cols = drift_of(table.schema, sch) or (("?", "?", "?"),)
                        drift = Drift(stream, p, cols)
                        raise self._drift_error(drift, str(exc).splitlines()[0]) from None
                    w.write(table)
                files = w.finish()
            except BaseException:
                w.abort()
                raise
            self.commit(stream, files, deletes=chosen)
            out["removed"] += len(chosen)
            out["written"] += len(files)
            out["migrated"] += len(stale)
        return out


def compact_lake(lake: Lake, streams: Iterable[str] | None = None, **kwargs) -> dict[str, dict]:
    """:meth:`Lake.compact` of ``streams`` (None: every stream of this version with files, then the run log).
    An unknown name raises ``ValueError`` before anything is changed. Returns {stream: what compact did}."""
    from kalshi_extract.lake.run_log import RUNS_STREAM

    known = [*STREAM_COLUMNS, RUNS_STREAM]
    if streams is None:
        names = [s for s in known if lake.files(s)]
    else:
        names = list(dict.fromkeys(streams))
        bad = [s for s in names if s not in known]
        if bad:
            raise ValueError(f"unknown stream {bad[0]!r}; streams: {', '.join(known)}")
    return {name: lake.compact(name, **kwargs) for name in names}


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``: its columns in schema order, cast exactly (a value that does not fit raises),
    columns it lacks (added to the schema since it was written) null."""
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type, safe=True))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
