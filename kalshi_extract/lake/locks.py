"""One writer per stream: ``flock`` on a local disk, a generation lease on object stores.

Local disk
----------
``flock`` on ``_locks/<stream>.lock``: freed by the kernel when the process dies (even by SIGKILL), so a re-run
after a crash waits for nothing.

Object stores (S3 and any fsspec filesystem)
--------------------------------------------
An object store has no lock and no atomic rename, and write-then-read-back is not mutual exclusion (two writers
each read back their own write often enough: 2 of 9 trials doubled a stream). What it does have is a
*conditional write*: create an object only if it does not exist (S3 ``PutObject`` with ``If-None-Match: *``,
exposed by ``s3fs`` and every fsspec filesystem as ``pipe_file(path, data, mode="create")``, which raises
``FileExistsError`` for the loser). The lock of a stream is a sequence of *generations*::

    _locks/<stream>/<generation:012d>.json     {"token", "pid", "host", "since", "expires", "released"}

- The holder is the writer of the highest generation, while that object is not ``released`` and its ``expires``
  (wall clock) is in the future.
- To take the lock, a writer lists the generations, reads the highest G and, when it is free (released or
  expired, or there is none), creates G+1 *if absent*. Of any number of writers racing for G+1 exactly one
  succeeds; the others see ``FileExistsError`` and wait.
- The holder renews its lease every ``LEASE_SECONDS / 3`` (a heartbeat thread overwrites its own generation,
  which only it writes) and checks that no G+1 exists; :meth:`StreamLock.check` (called by every commit) raises
  when the lease has lapsed or was taken over, so a writer paused past its lease does not commit.
- Release overwrites the generation with ``released: true``: the next writer takes G+1 at once. A writer killed
  without releasing leaves a lease that expires within ``LEASE_SECONDS`` (15 s), after which the next writer takes
  over (not the ~120 s of the former lease file).

Assumptions, said plainly: hosts' clocks agree to well within the lease (NTP); a writer stalled for longer than
the lease between its last :meth:`check` and the end of its commit (milliseconds apart) could still overlap the
next holder: object stores offer no fencing token a commit could carry. A ``pyarrow`` filesystem object that is
not local and not an fsspec wrapper (e.g. a ``pyarrow.fs.S3FileSystem`` instance) exposes no create-if-absent
write: such a lake refuses to lock with a one-line error (give the lake as a URI or an fsspec filesystem).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

from kalshi_extract.errors import LakeError, LakeLockedError

__all__ = ["StreamLock", "LEASE_SECONDS"]

LEASE_SECONDS = 15.0
_POLL_SECONDS = 0.2
_MEMORY_CREATE = (
    threading.Lock()
)  # fsspec's memory filesystem lives in this process: a lock makes its create atomic


class StreamLock:
    """One writer per stream (see the module docstring). Use via :meth:`Lake.lock`."""

    def __init__(self, lake, stream: str, timeout: float):
        self.lake = lake
        self.stream = stream
        self.timeout = timeout
        self.path = lake._join("_locks", f"{stream}.lock")
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token = uuid.uuid4().hex
        self._since = datetime.now(UTC).isoformat()
        # object stores: (fsspec filesystem, folder of the generations), the generation held, its expiry
        self._lease_fs = None
        self._lease_dir = ""
        self._gen: int | None = None
        self._expires = 0.0
        self._lost: str | None = None

    def _owner(self, released: bool = False) -> dict:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": self._since,
            "token": self._token,
            "expires": time.time() + LEASE_SECONDS,
            "released": released,
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
        deadline = time.monotonic() + self.timeout
        local = self.lake._local_path(self.path)
        if local is not None:
            self._acquire_flock(local, deadline)
            return
        backend = self.lake._lease_filesystem()
        if backend is None:
            raise LakeError(
                f"the lake {self.lake.uri} is on a filesystem with no create-if-absent write, which the writer "
                "lock needs: give the lake as a URI (s3://bucket/lake) or an fsspec filesystem"
            )
        self._lease_fs, base = backend
        self._lease_dir = f"{base}/_locks/{self.stream}"
        self._acquire_lease(deadline)

    # -- local disk -------------------------------------------------------------------------------------
    def _acquire_flock(self, path: str, deadline: float) -> None:
        import fcntl

        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    try:
                        holder = json.loads(os.pread(fd, 4096, 0) or b"null")
                    except ValueError:
                        holder = None
                    os.close(fd)
                    raise LakeLockedError(self._message(holder)) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self._owner()).encode(), 0)
        self._fd = fd

    # -- object stores ----------------------------------------------------------------------------------
    def _gen_path(self, gen: int) -> str:
        return f"{self._lease_dir}/{gen:012d}.json"

    def _generations(self) -> list[int]:
        try:
            names = self._lease_fs.ls(self._lease_dir, detail=False, refresh=True)
        except FileNotFoundError:
            return []
        except TypeError:  # a filesystem whose ls takes no refresh argument
            names = self._lease_fs.ls(self._lease_dir, detail=False)
        gens = []
        for name in names:
            base = str(name).rstrip("/").rsplit("/", 1)[-1]
            if base.endswith(".json") and base[:-5].isdigit():
                gens.append(int(base[:-5]))
        return sorted(gens)

    def _read_gen(self, gen: int) -> dict | None:
        try:
            doc = json.loads(self._lease_fs.cat_file(self._gen_path(gen)))
        except (FileNotFoundError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def _create(self, path: str, data: bytes) -> None:
        """Write ``path`` only if it does not exist (``FileExistsError`` otherwise): S3's ``If-None-Match: *``
        through s3fs. fsspec's generic ``mode="create"`` (exists, then write) is atomic only within one process,
        which is all its in-memory filesystem has."""
        protocols = getattr(self._lease_fs, "protocol", ())
        if "memory" in ((protocols,) if isinstance(protocols, str) else tuple(protocols)):
            with _MEMORY_CREATE:
                self._lease_fs.pipe_file(path, data, mode="create")
        else:
            self._lease_fs.pipe_file(path, data, mode="create")

    def _acquire_lease(self, deadline: float) -> None:
        holder = None
        while True:
            gens = self._generations()
            top = gens[-1] if gens else -1
            holder = self._read_gen(top) if gens else None
            free = (
                not gens
                or holder is None  # unreadable: a writer died between create and its first byte (cannot
                # happen with a single PUT, but a damaged object must not block the stream forever)
                or holder.get("released")
                or float(holder.get("expires", 0)) < time.time()
            )
            if free:
                try:
                    self._create(self._gen_path(top + 1), json.dumps(self._owner()).encode())
                except FileExistsError:
                    pass  # another writer took this generation first: it holds the lock
                else:
                    self._gen = top + 1
                    self._expires = time.monotonic() + LEASE_SECONDS
                    break
            if time.monotonic() >= deadline:
                raise LakeLockedError(self._message(holder))
            time.sleep(_POLL_SECONDS)
        for old in gens:  # generations before the one taken over are history: keep the folder small
            if old < self._gen - 1:
                try:
                    self._lease_fs.rm_file(self._gen_path(old))
                except (FileNotFoundError, OSError):
                    pass
        self._thread = threading.Thread(target=self._heartbeat, daemon=True, name=f"lake-lease-{self.stream}")
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                self._lease_fs.invalidate_cache(
                    self._lease_dir
                )  # s3fs answers exists() from a cached listing
                if self._lease_fs.exists(self._gen_path(self._gen + 1)):
                    self._lost = "another writer took the stream over after this lease had expired"
                    return
                started = time.monotonic()
                self._lease_fs.pipe_file(self._gen_path(self._gen), json.dumps(self._owner()).encode())
                self._expires = started + LEASE_SECONDS
            except Exception as exc:  # noqa: BLE001 (a failed renewal lets the lease lapse; check() reports it)
                self._lost = self._lost or f"renewing the lease failed ({type(exc).__name__}: {exc})"

    def check(self) -> None:
        """Raise :class:`LakeLockedError` when this writer no longer holds the stream (object stores: its lease
        lapsed or was taken over). Called before each commit, so a stalled writer does not commit over the next."""
        if self._lease_fs is None or self._gen is None:
            return
        margin = 1.0  # the commit record must land before anyone may take over
        if self._lost or time.monotonic() + margin >= self._expires:
            reason = self._lost or "its lease expired (the writer stalled longer than the lease)"
            raise LakeLockedError(
                f"stream {self.stream!r} of lake {self.lake.uri}: this writer lost the lock ({reason}); nothing "
                "more was committed. Run the pull again."
            )

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
        if self._gen is not None:
            if self._lost is None:
                try:
                    self._lease_fs.pipe_file(
                        self._gen_path(self._gen), json.dumps(self._owner(True)).encode()
                    )
                except Exception:  # noqa: BLE001 (the lease then expires on its own)
                    pass
            self._gen = None
