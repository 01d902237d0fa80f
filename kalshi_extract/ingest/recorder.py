"""The recorder: Kalshi's WebSocket into the lake's ``ws_*`` streams, with a log of what it saw whole.

::

    from kalshi_extract.ingest.recorder import Recorder
    from kalshi_extract.ingest.recorder_plan import plan_record

    plan = plan_record(settings, series="KXBTC", duration="2h")       # checked first: ConfigError, nothing written
    result = Recorder(settings, plan).run_sync(progress=print)        # until the duration, stop.set() or Ctrl-C

What it does
------------
At the start it asks the REST API which markets to record (the tickers given; the open markets of the series and
events given), connects one :class:`~kalshi_extract.ws.KalshiStream`, and subscribes the market channels
(``orderbook_delta``, ``trade``, ``ticker``) on those markets, ``market_lifecycle_v2`` exchange-wide and the
private channels of the key. Every message becomes rows (:mod:`kalshi_extract.ingest.recorder_rows`); every
stream event becomes ``ws_coverage`` rows. A lifecycle ``created``/``activated`` of a market of a recorded series
or event adds it to the market subscriptions (``add_markets``, an ``added`` row); ``determined``/``settled``
of a recorded market drops it (``delete_markets``, or ``unsubscribe`` when it was the last: an empty market list
would mean *every* market; a ``removed`` row).

The coverage log (``ws_coverage``, ``at`` on our clock): ``started`` (the selection), ``connected`` (first
connection, every reconnect), ``added``, ``whole`` (per snapshot: the market's book is whole from ``at``),
``gap`` (per market of a ``Gap`` event: reason, expected and received seq; also a subscription that could not
be re-made), ``disconnected``, ``removed``, ``alive`` (with every flush), ``stopped`` (a clean stop, with why).

Flushing, and what survives what
--------------------------------
Rows wait in memory and are written every ``plan.flush_seconds`` and at stop, in a worker thread (the event
loop keeps reading the socket meanwhile). A flush cuts the buffer at one instant and appends, per stream, one
:meth:`Lake.append <kalshi_extract.lake.store.Lake.append>` (an atomic commit under the stream's writer lock):
**the data streams first, ``ws_coverage`` last**, and the ``alive`` row travels in that last append. So

- a SIGKILL at any instant loses at most the rows not yet committed. A commit is all or nothing, so no file is
  ever half written (a commit record left mid-way is rolled forward by the next writer of that stream);
- killed between two streams' appends of one flush, the streams already appended hold that flush's rows and
  the rest lost theirs; the flush's ``alive`` row was not written, so the coverage log says the recording was
  whole only up to the previous ``alive``: the hole runs from the last ``alive`` to the next ``started``, and
  covers the partial flush. ``alive`` never claims rows that are not on disk;
- re-running never duplicates: rows are written once, by the process that received them. A new process has new
  connection ids (``<run id>-c<n>``) and takes fresh snapshots; Kalshi replays nothing. Within one process, a
  failed append keeps its rows and retries them at the next flush; the rows of one append share a
  deterministic id, (``_run_id``, ``_loaded_at`` = the flush's cut instant, strictly increasing), and before a
  retry the stream is checked for it, so an append that committed but reported an error is not written twice.
  This is one commit per stream per flush, not one per flush: the lake's commit is per stream.

Memory is bounded: when rows waiting to be written exceed ``max_buffer_rows`` (the lake cannot keep up, or is
failing), the recorder stops reading the stream until they are written (``lake_behind`` counts the episodes, a
warning is logged). The stream's own bounded queue then fills, and the client drops messages and reports them as
``SlowConsumer`` and ``Gap`` (``slow_consumer``) events, which land in the coverage log once the lake is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kalshi_extract.errors import KalshiLakeError, TransportError, WebSocketError
from kalshi_extract.ingest.recorder_dates import DATE_COLUMNS, LOCAL_CLOCK_STREAMS
from kalshi_extract.ingest.recorder_plan import (
    MARKET_CHANNELS,
    RecordPlan,
    belongs,
    resolve_markets,
)
from kalshi_extract.ingest.recorder_rows import coverage_row, event_coverage_rows, message_rows
from kalshi_extract.lake.convert import Converter
from kalshi_extract.lake.run_log import new_run_id
from kalshi_extract.lake.schemas import PRIVATE_STREAMS, STREAM_COLUMNS, WS_STREAMS, arrow_schema
from kalshi_extract.lake.store import Lake
from kalshi_extract.ws import (
    Disconnected,
    Gap,
    KalshiStream,
    Message,
    Reconnected,
    StreamOptions,
    SubscriptionFailed,
)

__all__ = ["Recorder", "RecorderStatus", "DATA_STREAMS", "DATE_COLUMNS"]

log = logging.getLogger("kalshi_extract.ingest.recorder")

DATA_STREAMS = tuple(s for s in WS_STREAMS if s != "ws_coverage")  # written before ws_coverage in every flush
MAX_BUFFER_ROWS = 200_000
_ADD_EVENTS = frozenset({"created", "activated"})
_REMOVE_EVENTS = frozenset({"determined", "settled"})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RecorderStatus:
    """Live counters (the CLI's status line; the Prefect flow's log)."""

    messages: int = 0
    markets: int = 0
    gaps: int = 0
    reconnects: int = 0
    rows_flushed: int = 0
    rows_waiting: int = 0
    flushes: int = 0
    lake_errors: int = 0
    lake_behind: int = 0  # episodes of too many rows waiting (reading paused)
    dropped: int = 0  # messages the stream dropped because we were slow (each reported as a gap)
    seconds: float = 0.0
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Pending:
    stream: str
    rows: list[dict]
    loaded_at: datetime
    attempted: bool = False
    exchange_at: datetime | None = (
        None  # the exchange's time at the cut (estimated): dates rows that state none
    )


@dataclass
class _Action:
    kind: str  # add | remove | resubscribe
    ticker: str | None = None
    reason: str = ""
    channel: str | None = None


@dataclass
class Recorder:
    """One recording of ``plan`` into the lake of ``settings`` (see the module docstring)."""

    settings: Any
    plan: RecordPlan
    lake: Lake | None = None
    run_id: str = field(default_factory=new_run_id)
    options: StreamOptions | None = None
    max_buffer_rows: int = MAX_BUFFER_ROWS

    def __post_init__(self) -> None:
        self.lake = self.lake or Lake.from_settings(self.settings)
        self.status = RecorderStatus()
        self.markets: dict[str, str] = {}  # recorded market → why
        self._buffer: dict[str, list[dict]] = {s: [] for s in WS_STREAMS}
        self._pending: list[_Pending] = []
        self._subs: dict[str, Any] = {}  # market channel → Subscription (None until a market needs it)
        self._flush_lock: asyncio.Lock | None = None
        self._last_cut: datetime | None = None
        self._started = time.monotonic()
        self._account = self.settings.account if self.settings.has_key else None
        self._resolved: dict[str, str] | None = None
        self._write_lock = threading.Lock()
        self._stopping = False
        # the exchange's clock - this machine's, seconds: from the latest message that states its time (else the
        # REST answers of the market lookup); dates the rows of messages that state none (book snapshots)
        self._clock_offset: float | None = None

    # --- rows --------------------------------------------------------------------------------------------------
    def connection(self, number: int | None) -> str | None:
        """The recorded id of the stream's connection ``number``: unique across processes."""
        return None if number is None else f"{self.run_id}-c{number}"

    def cover(self, at: datetime, event: str, **kw: Any) -> None:
        self._buffer["ws_coverage"].append(coverage_row(at, event, **kw))

    def handle(self, item: Any) -> list[_Action]:
        """Turn one message or event into buffered rows; return what the subscriptions must do about it."""
        if isinstance(item, Message):
            self.status.messages += 1
            if item.ts_ms is not None and isinstance(item.received_at, datetime):
                self._clock_offset = item.ts_ms / 1000 - item.received_at.timestamp()
            stream, rows = message_rows(item, self.connection(item.connection_id))
            self._buffer[stream].extend(rows)
            if item.type == "orderbook_snapshot" and stream == "ws_book" and rows and rows[0].get("ticker"):
                self.cover(
                    item.received_at,
                    "whole",
                    ticker=rows[0]["ticker"],
                    channel="orderbook_delta",
                    sid=rows[0]["sid"],
                    connection=rows[0]["connection_id"],
                    exchange_ms=item.ts_ms,
                )
            if item.type == "market_lifecycle_v2" and not item.parse_error:
                return self._lifecycle(item)
            return []
        self._buffer["ws_coverage"].extend(event_coverage_rows(item, self.connection))
        if isinstance(item, Gap):
            self.status.gaps += 1
        elif isinstance(item, Reconnected):
            self.status.reconnects += 1
        elif isinstance(item, SubscriptionFailed) and item.channel in MARKET_CHANNELS:
            return [_Action("resubscribe", channel=item.channel, reason=str(item.error))]
        elif isinstance(item, Disconnected):
            log.warning("recorder: connection lost (%s)", item.reason)
        return []

    def _lifecycle(self, msg: Message) -> list[_Action]:
        ticker, event = msg.data.get("market_ticker"), msg.data.get("event_type")
        if not isinstance(ticker, str):
            return []
        if event in _ADD_EVENTS and ticker not in self.markets and self.plan.market_channels:
            meta = msg.data.get("additional_metadata")
            event_ticker = msg.data.get("event_ticker") or (
                meta.get("event_ticker") if isinstance(meta, dict) else None
            )
            why = belongs(self.plan, ticker, event_ticker)
            return [_Action("add", ticker, why)] if why else []
        if event in _REMOVE_EVENTS and ticker in self.markets:
            return [_Action("remove", ticker, event)]
        return []

    @property
    def rows_waiting(self) -> int:
        return sum(map(len, self._buffer.values())) + sum(len(p.rows) for p in self._pending)

    # --- subscriptions -----------------------------------------------------------------------------------------
    async def _subscribe_start(self, stream: KalshiStream, markets: dict[str, str]) -> None:
        tickers = list(markets)
        for channel in self.plan.channels:
            if channel in MARKET_CHANNELS:
                if tickers:
                    (self._subs[channel],) = await stream.subscribe(channel, tickers)
                else:
                    self._subs[channel] = None  # made when the first market opens
            else:  # lifecycle (exchange-wide) and the private channels (the whole account)
                await stream.subscribe(channel)
        self.markets.update(markets)

    async def _apply(self, stream: KalshiStream, action: _Action) -> None:
        at = _now()
        try:
            if action.kind == "add":
                await self._add(stream, action.ticker)
                self.markets[action.ticker] = action.reason
                self.cover(at, "added", ticker=action.ticker, reason=action.reason)
            elif action.kind == "remove":
                await self._remove(stream, action.ticker)
                del self.markets[action.ticker]
                self.cover(at, "removed", ticker=action.ticker, reason=action.reason)
            elif action.kind == "resubscribe" and self.markets:
                self._subs[action.channel] = None
                (self._subs[action.channel],) = await stream.subscribe(action.channel, list(self.markets))
        except (WebSocketError, TransportError) as exc:
            log.warning("recorder: %s %s failed: %s", action.kind, action.ticker or action.channel, exc)
            if action.kind == "resubscribe":
                for ticker in list(self.markets):
                    self.cover(
                        at, "gap", ticker=ticker, channel=action.channel, reason=f"not re-subscribed: {exc}"
                    )
            elif action.kind == "add":
                self.cover(at, "removed", ticker=action.ticker, reason=f"could not be added: {exc}")
        self.status.markets = len(self.markets)

    async def _add(self, stream: KalshiStream, ticker: str) -> None:
        for channel in self.plan.market_channels:
            sub = self._subs.get(channel)
            if sub is None or sub.state in ("failed", "closed"):
                (self._subs[channel],) = await stream.subscribe(channel, [ticker])
            elif ticker not in sub.markets:
                await stream.add_markets(sub, [ticker])

    async def _remove(self, stream: KalshiStream, ticker: str) -> None:
        for channel in self.plan.market_channels:
            sub = self._subs.get(channel)
            if sub is None or ticker not in sub.markets:
                continue
            if len(sub.markets) == 1:  # an empty market list would mean every market
                self._subs[channel] = None
                await stream.unsubscribe(sub)
            else:
                await stream.delete_markets(sub, [ticker])

    # --- flushing ----------------------------------------------------------------------------------------------
    def _cut(self) -> None:
        """Move the buffer to the write queue as one flush: data streams first, ws_coverage (with alive) last."""
        at = _now()
        if self._last_cut is not None and at <= self._last_cut:
            at = self._last_cut + timedelta(microseconds=1)  # (_run_id, _loaded_at) identifies one append
        self._last_cut = at
        self.cover(at, "alive")
        offset = self._clock_offset
        exchange_at = None if offset is None else at + timedelta(seconds=offset)
        for stream in (*DATA_STREAMS, "ws_coverage"):
            rows, self._buffer[stream] = self._buffer[stream], []
            if rows:
                self._pending.append(_Pending(stream, rows, at, exchange_at=exchange_at))

    def _write_pending(self) -> None:
        """Append the waiting flushes in order; stop at the first failure (retried at the next flush).

        One writer at a time: a flush whose task was cancelled (at stop) leaves its thread running, and the last
        flush must wait for it rather than write the same rows beside it."""
        with self._write_lock:
            self._write_queue()

    def _write_queue(self) -> None:
        while self._pending:
            item = self._pending[0]
            try:
                if not (item.attempted and self._landed(item)):
                    item.attempted = True
                    self.lake.append(
                        item.stream,
                        self._table(item),
                        self.run_id,
                        date_column=DATE_COLUMNS[item.stream],
                        fallback_time=None if item.stream in LOCAL_CLOCK_STREAMS else item.exchange_at,
                    )
                    self.status.rows_flushed += len(item.rows)
            except Exception as exc:  # noqa: BLE001 - the lake failed: rows stay queued, counted and logged
                self.status.lake_errors += 1
                log.error(
                    "recorder: writing %d %s rows failed (kept, retried at the next flush): %s",
                    len(item.rows),
                    item.stream,
                    exc,
                )
                return
            self._pending.pop(0)

    def _table(self, item: _Pending):
        stream = item.stream
        account = self._account if stream in PRIVATE_STREAMS else None
        conv = Converter(
            stream,
            STREAM_COLUMNS[stream],
            arrow_schema(stream),
            run_id=self.run_id,
            loaded_at=item.loaded_at,
            account=account,
        )
        batch = conv.convert(item.rows)
        if conv.unknown_fields:
            log.info("recorder: %s fields kept in _extra: %s", stream, ", ".join(sorted(conv.unknown_fields)))
        return batch

    def _landed(self, item: _Pending) -> bool:
        """Did an append that reported an error commit anyway? (its rows carry this run id and loaded_at)"""
        import pyarrow.compute as pc

        column = DATE_COLUMNS[item.stream]  # rows are dated by this column (RFC 3339 text here)
        day = min(
            [item.loaded_at.strftime("%Y-%m-%d")]
            + ([item.exchange_at.strftime("%Y-%m-%d")] if item.exchange_at is not None else [])
            + [r[column][:10] for r in item.rows if isinstance(r.get(column), str) and len(r[column]) >= 10]
        )
        table = self.lake.scan(item.stream, ["_run_id", "_loaded_at"], min_date=day)
        if table is None:
            return False
        hit = pc.and_(pc.equal(table["_run_id"], self.run_id), pc.equal(table["_loaded_at"], item.loaded_at))
        return bool(pc.any(hit).as_py())

    async def flush(self) -> None:
        """Write everything received so far (one flush; waits for one in progress)."""
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            self._cut()
            await asyncio.to_thread(self._write_pending)
            self.status.flushes += 1
            self.status.rows_waiting = self.rows_waiting

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(self.plan.flush_seconds)
            await self.flush()

    async def _relieve(self) -> None:
        """Too many rows waiting: stop reading until the lake has taken them (the stream reports what it drops)."""
        self.status.lake_behind += 1
        log.warning(
            "recorder: the lake cannot keep up (%d rows waiting); pausing reads until they are written: "
            "the stream drops messages meanwhile and reports them as gaps",
            self.rows_waiting,
        )
        while self.rows_waiting > self.max_buffer_rows // 2 and not self._stopping:
            await self.flush()
            if self._pending:
                await asyncio.sleep(1.0)  # the lake is failing: do not spin

    # --- the run -----------------------------------------------------------------------------------------------
    def run_sync(
        self, *, stop: threading.Event | None = None, progress: Callable[[RecorderStatus], None] | None = None
    ) -> RecorderStatus:
        """:meth:`run` from synchronous code (a CLI command, a flow, a thread); in a thread of its own when this
        thread already runs an event loop (a notebook, an async caller)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run(stop=stop, progress=progress))
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["status"] = asyncio.run(self.run(stop=stop, progress=progress))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, name="kalshi-recorder")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["status"]

    async def run(
        self, *, stop: threading.Event | None = None, progress: Callable[[RecorderStatus], None] | None = None
    ) -> RecorderStatus:
        """Record until ``plan.duration`` has passed, ``stop`` is set, or the stream fails for good (raised after
        a last flush). Errors before the first row (an unknown market, a refused key) raise with nothing written."""
        started_at = _now()
        self._started = time.monotonic()
        markets = self._resolved if self._resolved is not None else await asyncio.to_thread(self.resolve)
        stream = KalshiStream(self.settings, options=self.options)
        await stream.connect()
        try:
            await self._subscribe_start(stream, markets)
        except BaseException:
            await stream.close()
            raise
        self.cover(started_at, "started", reason=f"run {self.run_id}: {self.plan.describe()}")
        self.cover(
            _now(), "connected", connection=self.connection(stream.connection_id), reason="first connection"
        )
        for ticker, why in markets.items():
            self.cover(_now(), "added", ticker=ticker, reason=why)
        self.status.markets = len(self.markets)
        log.info(
            "recorder %s: %d markets, channels %s",
            self.run_id,
            len(self.markets),
            ",".join(self.plan.channels),
        )
        helpers = [
            asyncio.create_task(self._flush_every(), name="recorder-flush"),
            asyncio.create_task(self._until_stopped(stream, stop), name="recorder-stop"),
        ]
        if progress is not None:
            helpers.append(asyncio.create_task(self._report(stream, progress), name="recorder-progress"))
        error: BaseException | None = None
        try:
            async for item in stream:
                for action in self.handle(item):
                    await self._apply(stream, action)
                if self.rows_waiting > self.max_buffer_rows:
                    await self._relieve()
        except Exception as exc:  # noqa: BLE001 - the stream ended for good: flush, say so in `stopped`, re-raise
            error = exc
            self.status.stop_reason = f"error: {exc}"
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await stream.close()
            self.status.dropped = stream.stats.dropped
            self.status.stop_reason = self.status.stop_reason or "stopped"
            self.cover(_now(), "stopped", reason=self.status.stop_reason)
            await self.flush()
            self.status.seconds = round(time.monotonic() - self._started, 3)
            if progress is not None:
                _safe(progress, self.status)
        if self._pending:
            raise KalshiLakeError(
                f"the recorder could not write {self.rows_waiting} rows to the lake (see the log)"
            )
        if error is not None:
            raise error
        return self.status

    def resolve(self) -> dict[str, str]:
        """The markets to record at the start (REST; ConfigError for an unknown ticker, series or event). Called by
        :meth:`run` unless called before (a door can check the selection before it says anything)."""
        from kalshi_extract.api.client import KalshiClient

        with KalshiClient(self.settings) as client:
            self._resolved = resolve_markets(client, self.plan)
            exchange_now = client.exchange_now()
        if exchange_now is not None and self._clock_offset is None:
            self._clock_offset = exchange_now.timestamp() - time.time()
        return self._resolved

    async def _until_stopped(self, stream: KalshiStream, stop: threading.Event | None) -> None:
        deadline = None if self.plan.duration is None else self._started + self.plan.duration
        while True:
            if stop is not None and stop.is_set():
                self.status.stop_reason = "stopped"
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.status.stop_reason = "duration reached"
                break
            await asyncio.sleep(0.05)
        self._stopping = True
        await stream.close()  # iteration ends after what is already queued

    async def _report(self, stream: KalshiStream, progress: Callable[[RecorderStatus], None]) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.status.rows_waiting = self.rows_waiting
            self.status.dropped = stream.stats.dropped
            self.status.seconds = round(time.monotonic() - self._started, 3)
            _safe(progress, self.status)


def _safe(progress: Callable[[RecorderStatus], None], status: RecorderStatus) -> None:
    try:
        progress(status)
    except Exception:  # noqa: BLE001 - a broken display never stops a recording
        log.exception("recorder: the progress callback failed")
