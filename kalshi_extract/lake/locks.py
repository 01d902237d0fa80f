"""One writer per stream: ``flock`` on a local disk, a heartbeat lease file elsewhere (see :mod:`kalshi_extract.lake.store`)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

from kalshi_extract.errors import LakeLockedError

__all__ = ["StreamLock", "LEASE_SECONDS"]

LEASE_SECONDS = 120.0


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
