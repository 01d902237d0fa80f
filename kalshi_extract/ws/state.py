"""The stream's state without I/O: options, counters, subscriptions, the per-sid sequence check, the bounded queue.

The rules they implement are in the package docstring (``kalshi_extract.ws``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kalshi_extract.errors import WebSocketError
from kalshi_extract.ws.messages import Message

__all__ = ["StreamOptions", "StreamStats", "Subscription", "Sequencer", "Outbox", "Lag"]

_log = logging.getLogger("kalshi_extract.ws.stream")


@dataclass(frozen=True)
class StreamOptions:
    """Timeouts and limits (seconds). Tests shrink them; the defaults suit Kalshi (pings every 10 s)."""

    max_queue: int = 10_000  # channel messages waiting for the consumer before it counts as slow
    ping_interval: float = 10.0  # our own pings; Kalshi's are answered by the library
    ping_timeout: float = 20.0  # no pong (nor anything) for this long after a ping: the connection is dead
    command_timeout: float = 10.0
    open_timeout: float = 10.0
    close_timeout: float = 2.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_reconnect_attempts: int | None = None  # None: keep trying while the error is retriable

    def backoff(self, attempt: int) -> float:
        """Capped exponential delay before reconnect ``attempt`` (1, 2, …), jittered to 50–100 %."""
        capped = min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))
        return capped * (0.5 + random.random() / 2)


@dataclass
class StreamStats:
    """Counters since the stream started (read them any time; the recorder's status line shows them)."""

    messages: int = 0  # channel messages received
    gaps: int = 0  # Gap events (any reason)
    duplicates: int = 0  # frames not delivered: repeated seq or trade_id
    reconnects: int = 0
    dropped: int = 0  # channel messages dropped because the consumer was slow
    slow_consumer: int = 0  # SlowConsumer episodes


@dataclass(eq=False)
class Subscription:
    """One channel on some markets (``markets`` empty: all markets), kept across reconnects. ``sid`` is the
    server's id on the current connection (it changes on every reconnect); ``state`` is ``pending``,
    ``active``, ``failed`` or ``closed``."""

    channel: str
    markets: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    sid: int | None = None
    state: str = "pending"
    connection_id: int = 0  # the connection it was last made on
    error: WebSocketError | None = None
    _ready: asyncio.Future | None = field(default=None, repr=False)

    def command_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"channels": [self.channel], **self.params}
        if len(self.markets) == 1:
            params["market_ticker"] = self.markets[0]
        elif self.markets:
            params["market_tickers"] = list(self.markets)
        return params


class Sequencer:
    """The last ``seq`` seen per sid, and the verdict on each new one."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def check(self, sid: int, seq: int, *, snapshot: bool) -> tuple[str, int | None]:
        """``("ok", None)``, ``("gap", expected)`` (seq recorded) or ``("duplicate", expected)`` (not recorded)."""
        last = self._last.get(sid)
        if last is None or seq == last + 1 or (snapshot and seq <= last):
            self._last[sid] = seq  # a snapshot stands on its own: it may restart the count
            return "ok", None
        if seq <= last:
            return "duplicate", last + 1
        self._last[sid] = seq
        return "gap", last + 1

    def reply(self, sid: Any, seq: Any) -> None:
        """A command reply carrying the sid's seq counts only if it is the next one."""
        if isinstance(sid, int) and isinstance(seq, int) and self._last.get(sid) == seq - 1:
            self._last[sid] = seq

    def expected(self, sid: int | None) -> int | None:
        last = self._last.get(sid) if sid is not None else None
        return None if last is None else last + 1

    def forget(self, sid: int) -> None:
        self._last.pop(sid, None)

    def clear(self) -> None:
        self._last.clear()


@dataclass(frozen=True)
class Lag:
    """A slow-consumer episode that just ended."""

    since: datetime
    dropped: int
    sids: tuple[int, ...]


class End:
    """Queued last: iteration stops (``error`` None) or raises ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Outbox:
    """The consumer's queue: at most ``max_queue`` channel messages; events (few) always fit. Once full, channel
    messages are dropped until the consumer has drained it to half; ``take`` then returns the episode's ``Lag``."""

    def __init__(self, max_queue: int, stats: StreamStats) -> None:
        self.max_queue = max_queue
        self._stats = stats
        self._queue: asyncio.Queue = asyncio.Queue()
        self._messages = 0
        self._lag_since: datetime | None = None
        self._lag_dropped = 0
        self._lag_sids: set[int] = set()

    def __len__(self) -> int:
        return self._queue.qsize()

    def event(self, item: Any) -> None:
        self._queue.put_nowait(item)

    def message(self, msg: Message) -> bool:
        """Queue a channel message; False when it was dropped (the consumer is behind)."""
        if self._lag_since is not None or self._messages >= self.max_queue:
            if self._lag_since is None:
                self._lag_since = msg.received_at
                self._stats.slow_consumer += 1
                _log.warning(
                    "consumer is slow: %d messages queued; dropping until it catches up", self._messages
                )
            self._lag_dropped += 1
            self._stats.dropped += 1
            if isinstance(msg.sid, int):
                self._lag_sids.add(msg.sid)
            return False
        self._messages += 1
        self._queue.put_nowait(msg)
        return True

    def forget_lagging_sids(self) -> None:
        """The connection was lost: those sids are gone (and their markets got a ``disconnected`` gap)."""
        self._lag_sids.clear()

    async def take(self) -> tuple[Any, Lag | None]:
        """The next item, and the slow-consumer episode if this take ended one."""
        item = await self._queue.get()
        if isinstance(item, End):
            self._queue.put_nowait(item)  # every later take ends too
            return item, None
        if isinstance(item, Message):
            self._messages -= 1
            if self._lag_since is not None and self._messages <= self.max_queue // 2:
                lag = Lag(self._lag_since, self._lag_dropped, tuple(sorted(self._lag_sids)))
                self._lag_since, self._lag_dropped, self._lag_sids = None, 0, set()
                return item, lag
        return item, None
