"""KalshiStream: one authenticated WebSocket, its subscriptions, sequence checks, reconnects and a bounded queue.

The design (states, gaps, reconnects) is written out in the package docstring, ``kalshi_extract.ws``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kalshi_extract.api.auth import Signer, load_private_key
from kalshi_extract.errors import TransportError, WebSocketError, api_error_for_status, retriable
from kalshi_extract.settings import Settings
from kalshi_extract.ws.messages import (
    Disconnected,
    Gap,
    Message,
    Reconnected,
    SlowConsumer,
    SubscriptionFailed,
    Trade,
    decode_frame,
    parse_message,
)
from kalshi_extract.ws.state import End, Outbox, Sequencer, StreamOptions, StreamStats, Subscription

__all__ = ["KalshiStream", "StreamOptions", "StreamStats", "Subscription", "SubscriptionFailed"]

_log = logging.getLogger(__name__)
# websockets logs the upgrade request's headers (the signature) at DEBUG: its logger never goes below INFO
_protocol_log = logging.getLogger("kalshi_extract.ws.protocol")
_protocol_log.setLevel(logging.INFO)

_REPLY_TYPES = frozenset({"subscribed", "unsubscribed", "ok", "error", "list_subscriptions"})
_UPDATE_ACTIONS = ("add_markets", "delete_markets", "get_snapshot")
_RECENT_TRADES = 4096
_MAX_FRAME = 16 * 2**20  # bytes; a whole-exchange ticker snapshot is far smaller


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Pending:
    future: asyncio.Future
    command: str
    connection_id: int
    on_reply: Any = None


class KalshiStream:
    """The WebSocket client. ``async with KalshiStream(settings) as stream:`` then subscribe and iterate."""

    def __init__(
        self,
        settings: Settings,
        *,
        options: StreamOptions | None = None,
        signer: Signer | None = None,
    ) -> None:
        self.url = settings.websocket_url
        self.options = options or StreamOptions()
        self._path = urlsplit(self.url).path or "/"
        if signer is None and settings.has_key:
            signer = Signer(settings.api_key_id, load_private_key(settings))
        self._signer = signer  # headers(): the path signed is the WebSocket's, from the host root
        self.stats = StreamStats()
        self._subs: list[Subscription] = []
        self._by_sid: dict[int, Subscription] = {}
        self._seq = Sequencer()
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self._ws: ClientConnection | None = None
        self._conn_id = 0
        self._closing = False
        self._out = Outbox(self.options.max_queue, self.stats)
        self._recent_trades: deque[str] = deque(maxlen=_RECENT_TRADES)
        self._recent_trade_set: set[str] = set()
        self._resync_q: asyncio.Queue = asyncio.Queue()
        self._resync_wanted: set[int] = set()
        self._tasks: list[asyncio.Task] = []

    def __repr__(self) -> str:
        return (
            f"KalshiStream(url={self.url!r}, signed={self._signer is not None}, connected={self.connected}, "
            f"subscriptions={len(self._subs)})"
        )

    # --- public API --------------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def connection_id(self) -> int:
        """1 for the first connection, +1 on every reconnect (messages carry the one they came on)."""
        return self._conn_id

    @property
    def queue_depth(self) -> int:
        """Items (messages and events) waiting for the consumer; messages never exceed ``max_queue``."""
        return len(self._out)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subs)

    async def connect(self) -> KalshiStream:
        """Open the first connection (raises if it cannot: later drops reconnect by themselves)."""
        if self._tasks:
            return self
        ws = await self._open()
        self._attach(ws)
        self._tasks = [
            asyncio.create_task(self._supervise(ws), name="kalshi-ws-supervisor"),
            asyncio.create_task(self._resync_worker(), name="kalshi-ws-resync"),
        ]
        return self

    async def __aenter__(self) -> KalshiStream:
        return await self.connect()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection and stop; iteration ends after the messages already queued."""
        if self._closing:
            return
        self._closing = True
        ws = self._ws
        if ws is not None:
            await ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._stop(TransportError("the stream was closed", method="WS"), End())

    async def subscribe(
        self, channels: str | Iterable[str], markets: str | Iterable[str] | None = None, **params: Any
    ) -> list[Subscription]:
        """Subscribe ``channels`` on ``markets`` (one ticker, several, or None for all the channel allows).
        One subscription (one sid) per channel; extra ``params`` (e.g. ``send_initial_snapshot=True``) are
        sent as given. Returns once the server confirmed each; a refusal raises ``WebSocketError``."""
        chans = [channels] if isinstance(channels, str) else list(channels)
        tickers = _tickers(markets)
        loop = asyncio.get_running_loop()
        subs = [Subscription(c, tickers, dict(params), _ready=loop.create_future()) for c in chans]
        self._subs.extend(subs)
        results = await asyncio.gather(*(self._make_or_wait(s) for s in subs), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            for sub in subs:
                if sub.state == "active":
                    await self.unsubscribe(sub)
                else:
                    self._forget(sub)
            raise failed[0]
        return subs

    async def unsubscribe(self, *subs: Subscription) -> None:
        """Stop the given subscriptions. If the connection is down they are simply not re-made."""
        for sub in subs:
            sid = sub.sid
            self._forget(sub)
            sub.state = "closed"
            if sid is not None and self.connected and sub.connection_id == self._conn_id:
                try:
                    await self._command("unsubscribe", {"sids": [sid]})
                except TransportError:
                    pass  # connection lost: the new connection will not have it

    async def update_subscription(
        self, sub: Subscription, action: str, markets: str | Iterable[str] | None = None
    ) -> None:
        """``add_markets`` / ``delete_markets`` change what ``sub`` covers (kept across reconnects);
        ``get_snapshot`` asks fresh book snapshots of ``markets`` (default: all of ``sub``'s)."""
        if action not in _UPDATE_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(_UPDATE_ACTIONS)}, not {action!r}")
        tickers = _tickers(markets) or (sub.markets if action == "get_snapshot" else ())
        if not tickers:
            raise ValueError(f"{action} needs at least one market ticker")
        before = sub.markets
        if action == "add_markets":
            sub.markets = before + tuple(t for t in tickers if t not in before)
        elif action == "delete_markets":
            sub.markets = tuple(t for t in before if t not in tickers)
        if sub.sid is None or not self.connected or sub.connection_id != self._conn_id:
            return  # the next (re)subscribe uses the new market list and snapshots everything anyway
        params = {"sids": [sub.sid], "market_tickers": list(tickers), "action": action}
        try:
            await self._command("update_subscription", params)
        except WebSocketError:
            sub.markets = before
            raise
        except TransportError:
            pass  # connection lost after the change was recorded: the reconnect applies it

    async def add_markets(self, sub: Subscription, markets: str | Iterable[str]) -> None:
        await self.update_subscription(sub, "add_markets", markets)

    async def delete_markets(self, sub: Subscription, markets: str | Iterable[str]) -> None:
        await self.update_subscription(sub, "delete_markets", markets)

    async def get_snapshot(self, sub: Subscription, markets: str | Iterable[str] | None = None) -> None:
        await self.update_subscription(sub, "get_snapshot", markets)

    async def list_subscriptions(self) -> list[dict[str, Any]]:
        """The server's view: ``[{"channel": ..., "sid": ...}, ...]``."""
        reply = await self._command("list_subscriptions", None)
        msg = reply.get("msg")
        return list(msg) if isinstance(msg, list) else list((msg or {}).get("subscriptions", []))

    def __aiter__(self) -> KalshiStream:
        return self

    async def __anext__(
        self,
    ) -> Message | Gap | Disconnected | Reconnected | SlowConsumer | SubscriptionFailed:
        if not self._tasks and not len(self._out):
            raise RuntimeError(
                "KalshiStream is not connected: use `async with KalshiStream(settings)` or connect()"
            )
        item, lag = await self._out.take()
        if isinstance(item, End):
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        if lag is not None:
            self._emit(SlowConsumer(lag.dropped, lag.since, _now(), lag.sids))
            for sid in lag.sids:
                self._gap(self._by_sid.get(sid), sid, None, None, "slow_consumer", lag.since, self._conn_id)
        return item

    # --- connection --------------------------------------------------------------------------------------------
    async def _open(self) -> ClientConnection:
        headers = self._signer.headers("GET", self._path) if self._signer is not None else None
        opts = self.options
        try:
            return await connect(
                self.url,
                additional_headers=headers,
                open_timeout=opts.open_timeout,
                ping_interval=opts.ping_interval,
                ping_timeout=opts.ping_timeout,
                close_timeout=opts.close_timeout,
                max_size=_MAX_FRAME,
                logger=_protocol_log,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            error_type = api_error_for_status(status)
            raise error_type(
                "WebSocket upgrade refused", status=status, method="GET", path=self._path
            ) from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            message = f"cannot open the WebSocket: {type(exc).__name__}: {exc}"
            raise TransportError(message, method="GET", path=self._path, maybe_sent=False) from None

    def _attach(self, ws: ClientConnection) -> None:
        self._conn_id += 1
        self._ws = ws

    async def _supervise(self, ws: ClientConnection) -> None:
        """Serve one connection after another until closed; a fatal error ends the iteration with it."""
        try:
            while True:
                reader = asyncio.create_task(self._read(ws, self._conn_id))
                await self._remake_all()
                reason, clean, code = await reader
                conn, at = self._conn_id, _now()
                self._ws = None
                self._fail_pending(TransportError(f"connection lost: {reason}", method="WS"))
                if self._closing:
                    return
                _log.warning("WebSocket connection %d lost: %s; reconnecting", conn, reason)
                self._emit(Disconnected(conn, reason, at, clean, code))
                self._mark_all_lost(conn, at)
                ws, attempts = await self._reconnect()
                self._attach(ws)
                self.stats.reconnects += 1
                downtime = (_now() - at).total_seconds()
                self._emit(Reconnected(self._conn_id, _now(), attempts, downtime, reason))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who decides
            if self._ws is not None:
                self._ws.transport.abort()
                self._ws = None
            self._stop(TransportError(f"the stream stopped: {exc}", method="WS"), End(exc))

    def _stop(self, error: TransportError, end: End) -> None:
        """Fail every command and subscribe still waiting, then end the iteration."""
        self._fail_pending(error)
        for sub in self._subs:
            if sub._ready is not None and not sub._ready.done():
                sub._ready.set_exception(error)
        self._out.event(end)

    async def _reconnect(self) -> tuple[ClientConnection, int]:
        attempt = 0
        while True:
            attempt += 1
            await asyncio.sleep(self.options.backoff(attempt))
            try:
                return await self._open(), attempt
            except Exception as exc:
                limit = self.options.max_reconnect_attempts
                if not retriable(exc) or (limit is not None and attempt >= limit):
                    raise
                _log.warning("reconnect attempt %d failed: %s", attempt, exc)

    async def _read(self, ws: ClientConnection, conn: int) -> tuple[str, bool, int | None]:
        """Read frames until the connection ends; returns why (reason, clean, close code)."""
        try:
            while True:
                self._on_frame(await ws.recv(), conn)
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                text = f"server closed the connection (code {exc.rcvd.code} {exc.rcvd.reason})".strip()
                return text.replace(" )", ")"), True, exc.rcvd.code
            if exc.sent is not None and exc.sent.code == 1011:
                timeout = self.options.ping_timeout
                return f"heartbeat timeout: no pong within {timeout:g} s of a ping", False, 1011
            return "connection lost without a close frame", False, None

    # --- subscriptions -----------------------------------------------------------------------------------------
    async def _make_or_wait(self, sub: Subscription) -> None:
        if self.connected and sub.connection_id != self._conn_id:
            try:
                await self._make(sub)
            except TransportError:
                pass  # connection lost while subscribing: the reconnect makes it
        await sub._ready

    async def _make(self, sub: Subscription) -> None:
        """Subscribe ``sub`` on the current connection (once per connection)."""
        sub.connection_id = self._conn_id
        sub.sid = None
        try:
            await self._command(
                "subscribe", sub.command_params(), on_reply=lambda frame: self._bind(sub, frame)
            )
        except WebSocketError as exc:
            sub.state, sub.error = "failed", exc
            self._forget(sub)
            raise

    def _bind(self, sub: Subscription, frame: dict) -> None:
        # runs in the reader, before the subscription's first frame (its snapshot) is read
        sid = (frame.get("msg") or {}).get("sid")
        sub.sid, sub.state = sid, "active"
        if sid is not None:
            self._by_sid[sid] = sub
            self._seq.forget(sid)
        if sub._ready is not None and not sub._ready.done():
            sub._ready.set_result(None)

    async def _remake_all(self) -> None:
        conn = self._conn_id
        for sub in list(self._subs):
            if sub.connection_id == conn or sub not in self._subs:
                continue
            try:
                await self._make(sub)
            except WebSocketError as exc:
                _log.warning("could not re-subscribe %s %s: %s", sub.channel, sub.markets, exc)
                if sub._ready is not None and not sub._ready.done():
                    sub._ready.set_exception(exc)  # a subscribe() made during the outage is waiting for it
                self._emit(SubscriptionFailed(sub.channel, sub.markets, exc, _now()))
            except TransportError:
                return  # lost again: the supervisor reconnects

    def _forget(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        if sub.sid is not None and self._by_sid.get(sub.sid) is sub:
            del self._by_sid[sub.sid]
            self._seq.forget(sub.sid)

    def _mark_all_lost(self, conn: int, at: datetime) -> None:
        for sub in self._subs:
            expected = self._seq.expected(sub.sid)
            self._emit_gap(sub, sub.sid, expected, None, "disconnected", at, conn, "resubscribe")
            sub.sid, sub.state = None, "pending"
        self._by_sid.clear()
        self._seq.clear()
        self._resync_wanted.clear()
        self._out.forget_lagging_sids()

    # --- commands ----------------------------------------------------------------------------------------------
    async def _command(self, cmd: str, params: dict | None, on_reply=None) -> dict:
        ws = self._ws
        if ws is None:
            raise TransportError("not connected", method="WS", path=cmd, maybe_sent=False)
        self._next_id += 1
        cid = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._pending[cid] = _Pending(future, cmd, self._conn_id, on_reply)
        frame: dict[str, Any] = {"id": cid, "cmd": cmd}
        if params is not None:
            frame["params"] = params
        try:
            await ws.send(json.dumps(frame))
            return await asyncio.wait_for(future, self.options.command_timeout)
        except ConnectionClosed:
            raise TransportError("connection lost", method="WS", path=cmd) from None
        except TimeoutError:
            timeout = self.options.command_timeout
            raise TransportError(f"no reply within {timeout:g} s", method="WS", path=cmd) from None
        finally:
            self._pending.pop(cid, None)

    def _on_reply(self, pending: _Pending, frame: dict) -> None:
        if pending.future.done():
            return
        if frame.get("type") == "error":
            body = frame.get("msg") or {}
            error = WebSocketError(
                str(body.get("msg", "error")),
                code=body.get("code"),
                command=pending.command,
                market_ticker=body.get("market_ticker"),
            )
            pending.future.set_exception(error)
            return
        if pending.on_reply is not None:
            pending.on_reply(frame)
        pending.future.set_result(frame)

    def _fail_pending(self, error: Exception) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()

    # --- frames ------------------------------------------------------------------------------------------------
    def _on_frame(self, text: str | bytes, conn: int) -> None:
        now = _now()
        try:
            frame = decode_frame(text)
        except ValueError as exc:
            raw = {"text": text if isinstance(text, str) else text.decode("utf-8", "replace")}
            msg = Message(
                type="invalid",
                sid=None,
                seq=None,
                data=raw,
                raw=raw,
                received_at=now,
                connection_id=conn,
                parse_error=str(exc),
            )
            self.stats.messages += 1
            self._out.message(msg)
            return
        kind, cid = frame.get("type"), frame.get("id")
        if cid is not None and kind in _REPLY_TYPES and cid in self._pending:
            self._seq.reply(frame.get("sid"), frame.get("seq"))
            self._on_reply(self._pending[cid], frame)
            return
        msg = parse_message(frame, received_at=now, connection_id=conn)
        self.stats.messages += 1
        if isinstance(msg.sid, int) and isinstance(msg.seq, int) and not isinstance(msg.seq, bool):
            if not self._check_seq(msg, now, conn):
                return
        if isinstance(msg, Trade) and msg.trade_id in self._recent_trade_set:
            self.stats.duplicates += 1
            return
        if self._out.message(msg) and isinstance(msg, Trade):  # remember only trades actually delivered
            if len(self._recent_trades) == self._recent_trades.maxlen:
                self._recent_trade_set.discard(self._recent_trades[0])
            self._recent_trades.append(msg.trade_id)
            self._recent_trade_set.add(msg.trade_id)

    def _check_seq(self, msg: Message, now: datetime, conn: int) -> bool:
        """Advance the sid's sequence; report a gap or duplicate. False: do not deliver (a duplicate)."""
        verdict, expected = self._seq.check(msg.sid, msg.seq, snapshot=msg.type == "orderbook_snapshot")
        if verdict == "ok":
            return True
        sub = self._by_sid.get(msg.sid)
        if verdict == "duplicate":
            self.stats.duplicates += 1
            self._gap(sub, msg.sid, expected, msg.seq, "duplicate", now, conn)
            return False
        self._gap(sub, msg.sid, expected, msg.seq, "seq_gap", now, conn)
        return True

    def _gap(self, sub, sid, expected, got, reason, at, conn) -> None:
        if sub is None:
            how = "none"
        elif sub.channel == "orderbook_delta" and sub.markets:
            how = "get_snapshot"
        elif reason == "slow_consumer":
            how = "none"  # trades/tickers dropped here cannot be fetched again by re-subscribing
        else:
            how = "resubscribe"
        self._emit_gap(sub, sid, expected, got, reason, at, conn, how)
        if how != "none" and sid not in self._resync_wanted:
            self._resync_wanted.add(sid)
            self._resync_q.put_nowait((sub, sid, how, conn))

    def _emit_gap(self, sub, sid, expected, got, reason, at, conn, how) -> None:
        self.stats.gaps += 1
        channel = sub.channel if sub is not None else ""
        markets = sub.markets if sub is not None else ()
        self._emit(Gap(sid, channel, markets, expected, got, reason, at, conn, how))

    async def _resync_worker(self) -> None:
        while True:
            sub, sid, how, conn = await self._resync_q.get()
            self._resync_wanted.discard(sid)
            if conn != self._conn_id or sub.sid != sid or sub not in self._subs:
                continue  # a reconnect has re-made it since
            try:
                if how == "get_snapshot":
                    params = {"sids": [sid], "market_tickers": list(sub.markets), "action": "get_snapshot"}
                    try:
                        await self._command("update_subscription", params)
                        continue
                    except WebSocketError as exc:
                        _log.warning("get_snapshot on sid %s refused (%s); resubscribing", sid, exc)
                await self._command("unsubscribe", {"sids": [sid]})
                self._by_sid.pop(sid, None)
                self._seq.forget(sid)
                await self._make(sub)
            except TransportError:
                pass  # the connection went: the reconnect re-makes everything
            except WebSocketError as exc:
                _log.warning("could not resync %s %s: %s", sub.channel, sub.markets, exc)
                self._emit(SubscriptionFailed(sub.channel, sub.markets, exc, _now()))

    def _emit(self, event) -> None:
        self._out.event(event)


def _tickers(markets: str | Iterable[str] | None) -> tuple[str, ...]:
    if markets is None:
        return ()
    if isinstance(markets, str):
        return (markets,)
    return tuple(dict.fromkeys(markets))
