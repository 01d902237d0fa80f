"""One consistent snapshot of the lake for a build, and the build lock.

A build reads the lake ONCE: `take_snapshot` resolves every stream's file list at the start, and the staging
models are materialised as tables from exactly those files inside the build's transaction, so every model of one
build sees the same rows, whatever pulls commit meanwhile (issue #17 item 5).

Why the file lists are consistent. A lake commit (`kalshi_extract.lake.store`) writes a record to `_commits/`,
moves its files into place one by one (and deletes the files a compaction replaces), then deletes the record. So a
commit is visible half-done only while its record exists. `take_snapshot` lists the records (R1), the files (F1),
the records (R2), the files (F2), the records (R3) and accepts the listing only when R1, R2 and R3 are empty and
F1 == F2: a commit whose record was written and deleted between R1 and R2 had finished before F2 began (F2 holds
all of it, so F1 == F2 means F1 did too); one between R2 and R3 began after F1 ended (neither holds any of it);
one alive at R2 is seen. Otherwise it retries a moment later. A record that stays (a writer killed mid-commit) is
rolled forward the way the next writer of that stream would (taking the stream's writer lock briefly); while a
live writer holds that lock the record is its own commit in flight, and the build waits for it.

A file of the snapshot that a compaction deletes before the staging tables have read it makes the build start over
(`SnapshotMoved`, retried by the runner; a WarehouseError after the last attempt) rather than mix two states.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import WarehouseError

SETTLE_SECONDS = 60.0  # how long a build waits for in-flight commits before it gives up with an error
BUILD_LOCK_SECONDS = 600.0  # how long a second build of one warehouse waits for the first


class SnapshotMoved(Exception):  # noqa: N818 (a signal inside the runner, not an error callers see)
    """A file of the build's snapshot vanished (compacted away) before the build read it: take a new snapshot.
    The runner retries; after its last attempt it raises a WarehouseError."""


@dataclass(frozen=True)
class Snapshot:
    """The visible Parquet files of each stream at one instant (`files[stream]`, sorted), and whether any stream
    dir also held `_`/`.`-prefixed files (which readers skip)."""

    lake_root: str
    files: dict[str, list[str]]
    hidden: dict[str, bool]

    def fingerprint(self, sql_dir: Path | None = None) -> str:
        """A digest of every file name (part names are unique per commit), with size and mtime on a local disk, and
        of the model files in `sql_dir`: equal digests mean a build would read the same data with the same SQL."""
        h = hashlib.sha256(self.lake_root.encode())
        local = "://" not in self.lake_root
        for stream in sorted(self.files):
            h.update(f"\n[{stream}]".encode())
            for f in self.files[stream]:
                if local:
                    st = os.stat(f)
                    h.update(f"\n{f} {st.st_size} {st.st_mtime_ns}".encode())
                else:
                    h.update(f"\n{f}".encode())
        if sql_dir is not None:
            for p in sorted(Path(sql_dir).rglob("*")):
                if p.is_file() and p.suffix in (".sql", ".toml"):
                    h.update(f"\n{p.relative_to(sql_dir)}\n".encode() + p.read_bytes())
        return h.hexdigest()

    def missing(self) -> list[str]:
        """Files of the snapshot that no longer exist (local lakes only; [] for URIs)."""
        if "://" in self.lake_root:
            return []
        return [f for fs in self.files.values() for f in fs if not os.path.exists(f)]


def _glob(con, pattern: str, local: bool) -> list[str]:
    if local:
        return glob.glob(pattern, recursive=True)
    return [r[0] for r in con.execute("select file from glob(?)", [pattern]).fetchall()]


def stream_glob(lake_root: str, stream: str) -> str:
    return f"{lake_root.rstrip('/')}/{stream}/**/*.parquet"


def list_stream(con, lake_root: str, stream: str) -> tuple[list[str], bool]:
    """The stream's visible Parquet files (sorted) and whether any file lies under a `_`/`.`-prefixed path."""
    files = _glob(con, stream_glob(lake_root, stream), "://" not in lake_root)
    base = f"{lake_root.rstrip('/')}/{stream}/"
    hidden = [f for f in files if any(part[:1] in ("_", ".") for part in f.split(base, 1)[-1].split("/"))]
    return sorted(set(files) - set(hidden)), bool(hidden)


def commit_records(con, lake_root: str) -> frozenset[str]:
    """Names of the commit records in `_commits/` (each a commit in flight, or one a killed writer left)."""
    paths = _glob(con, f"{lake_root.rstrip('/')}/_commits/*.json", "://" not in lake_root)
    return frozenset(p.rsplit("/", 1)[-1] for p in paths if not p.rsplit("/", 1)[-1].startswith("."))


def _roll_forward(lake_root: str, records: Iterable[str]) -> None:
    """Roll forward the streams of left-over commit records, as their next writer would. A stream whose lock is
    held is being written: its holder recovered it when it took the lock, so the record is its commit in flight."""
    from kalshi_extract.errors import LakeLockedError
    from kalshi_extract.lake.store import Lake

    lake = Lake(lake_root)
    for stream in sorted({r.split("--", 1)[0] for r in records}):
        try:
            with lake.lock(stream, timeout=0.2):
                pass  # taking the lock rolls the stream's records forward
        except LakeLockedError:
            continue


def take_snapshot(
    con,
    lake_root: str,
    streams: Iterable[str],
    settle_seconds: float = SETTLE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Snapshot:
    """The file lists of `streams`, consistent with the lake's commits (see the module docstring)."""
    streams = list(streams)
    deadline = time.monotonic() + settle_seconds
    stable_records: frozenset[str] | None = None
    while True:
        r1 = commit_records(con, lake_root)
        f1 = {s: list_stream(con, lake_root, s) for s in streams}
        r2 = commit_records(con, lake_root)
        f2 = {s: list_stream(con, lake_root, s) for s in streams}
        r3 = commit_records(con, lake_root)
        if not (r1 or r2 or r3) and f1 == f2:
            return Snapshot(lake_root, {s: f1[s][0] for s in streams}, {s: f1[s][1] for s in streams})
        if time.monotonic() > deadline:
            raise WarehouseError(
                f"the lake {lake_root} did not hold still for {settle_seconds:g}s (commits in flight: "
                f"{', '.join(sorted(r1 | r2 | r3)) or 'files changing'}); a build reads one consistent snapshot. "
                "Run the build again when the pull's commits are done."
            )
        if r1 and r1 == r2 == r3:
            if stable_records == r1:
                _roll_forward(lake_root, r1)  # the same records twice in a row: left by a killed writer?
            stable_records = r1
        sleep(0.05)


def lock_path(db_path: str) -> str:
    return f"{db_path}.build.lock"


@contextmanager
def build_lock(db_path: str, timeout: float = BUILD_LOCK_SECONDS):
    """One build of a warehouse file at a time (an `flock` on `<db>.build.lock`, freed by the kernel when the
    process dies). A second build waits up to `timeout` seconds, then fails with an error naming the holder."""
    if db_path == ":memory:":
        yield
        return
    import fcntl

    path = lock_path(db_path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = (
                        Path(path).read_text(encoding="utf-8", errors="replace").strip() or "another build"
                    )
                    raise WarehouseError(
                        f"another build of {db_path} is running ({holder}); waited {timeout:g}s. Let it finish "
                        "(or stop it) and build again."
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
