"""Process-wide progress listeners for pulls. Imports no Prefect.

Flows cannot take a callback as a parameter (parameters are recorded by Prefect), so the CLI registers a
listener here and the pull tasks report every page to it. Listeners run in the task threads; they must be
cheap and thread-safe (rich's Progress is). Under a Dask task runner tasks run in other processes and no
progress reaches the CLI; the summary still does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[..., None]  # listener(stream, pages, rows, status=None)

_lock = threading.Lock()
_listeners: list[Listener] = []


def emit(stream: str, pages: int, rows: int, status: str | None = None) -> None:
    """Report progress of one stream: after each page (from the lake), and `status` "started", "ok" or
    "failed" from the pull task at its start and end."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(stream, pages, rows, status)
        except Exception:  # a display problem must never fail a pull
            logging.getLogger("pipelines").debug("progress listener failed", exc_info=True)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Register `listener(stream, pages, rows, status)` for the duration of the block."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
