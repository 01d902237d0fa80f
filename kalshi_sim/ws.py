"""The WebSocket at ``/trade-api/ws/v2``: signed handshake, connections, heartbeats, faults, back-pressure.

Handshake: the upgrade must carry ``KALSHI-ACCESS-KEY``, ``-TIMESTAMP`` and ``-SIGNATURE`` over
``timestamp + "GET" + "/trade-api/ws/v2"``, checked by the exchange's own signature check (``Api.authenticate``,
the one REST uses). Kalshi's current docs require authentication for the connection itself, so a missing or
bad signature is refused before the upgrade with HTTP 401 and the REST error body. The fault switch
``ws_allow_anonymous`` brings back the older behaviour: unsigned connections are accepted, public channels
(``ticker``, ``trade``, lifecycle) work and every other channel answers error 9 "Authentication required".

Commands (``kalshi_sim.ws_commands``) and the feed (``kalshi_sim.ws_feed``) push serialised frames into each
connection's **outbox**; one sender task per connection writes them in order, sends a ``heartbeat`` Ping
every ``heartbeat`` seconds (10 by default, as Kalshi), and applies the faults of ``/_sim/faults``:
``ws_drop_messages`` (skip the next N ``seq``-carrying frames: the client sees a gap), ``ws_cut_connections``
(cut the next N connections — open ones first, oldest first — without a close frame), ``ws_stall_seconds``
(every open connection stops sending anything, pings included, for that long; applied once).

Back-pressure (the choice where Kalshi documents only error 25 "Subscription buffer overflow"): the outbox
holds at most ``max_queue`` frames. A consumer that falls further behind — slow, or stalled so that the TCP
buffer is full — is dropped: its queued frames are discarded, it gets error 25 and a close frame (code 1008)
when it can still read, and the connection is cut two seconds later if the close could not be delivered.
Memory per connection is therefore bounded by ``max_queue`` frames plus the transport's write buffer.

ASGI has no way to send a Ping with a payload or to drop a TCP connection without a close frame, so
:class:`Wire` reaches the uvicorn ``websockets-sansio`` protocol behind ``send`` (the servers pin
``ws="websockets-sansio"`` and turn uvicorn's own keep-alive pings off).
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import threading
import time

import orjson

from kalshi_sim import ws_commands
from kalshi_sim.http import ApiError
from kalshi_sim.ws_feed import Feed

WS_PATH = "/trade-api/ws/v2"
HEARTBEAT_SECONDS = 10.0
MAX_QUEUE = 50_000
OVERFLOW_GRACE_SECONDS = 2.0


class Wire:
    """Ping and abort on uvicorn's websockets-sansio protocol (the ``send`` callable's owner)."""

    def __init__(self, send) -> None:
        proto = getattr(send, "__self__", None)
        if proto is None or not hasattr(proto, "conn") or not hasattr(proto, "transport"):
            raise RuntimeError("the local exchange's WebSocket needs uvicorn with ws='websockets-sansio'")
        self.proto = proto

    def ping(self, payload: bytes) -> None:
        p = self.proto
        if p.transport.is_closing() or p.close_sent:
            return
        p.conn.send_ping(payload)
        p.transport.write(b"".join(p.conn.data_to_send()))

    def abort(self) -> None:
        """Drop the TCP connection: no close frame, the client sees an abnormal closure (1006)."""
        self.proto.transport.abort()

    def closing(self) -> bool:
        return self.proto.transport.is_closing()


class Conn:
    """One WebSocket connection: its account, subscriptions and bounded outbox."""

    def __init__(self, hub: Hub, account, loop: asyncio.AbstractEventLoop, wire: Wire) -> None:
        self.hub = hub
        self.account = account
        self.key_id = account.key_id if account is not None else None
        self.loop = loop
        self.wire = wire
        self.subs: dict[int, object] = {}
        self.next_sid = 1
        self.outbox: collections.deque[tuple[bytes, bool]] = collections.deque()
        self.lock = threading.Lock()
        self.wake = asyncio.Event()
        self.signaled = False
        self.overflowed = False
        self.stall_until = 0.0
        self.closed = False

    def push(self, frame: bytes, sequenced: bool) -> None:
        """Queue a frame (any thread). Past ``max_queue`` frames the connection is marked overflowed."""
        with self.lock:
            if self.closed or self.overflowed:
                return
            if len(self.outbox) >= self.hub.max_queue:
                self.outbox.clear()
                self.overflowed = True
            else:
                self.outbox.append((frame, sequenced))
            if self.signaled:
                return
            self.signaled = True
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the server's loop is gone (exchange stopped): nobody to send to
            self.closed = True

    def _wake(self) -> None:
        self.wake.set()
        if self.overflowed:  # the sender may be blocked on a full socket: do not wait for it forever
            self.loop.call_later(OVERFLOW_GRACE_SECONDS, self._abort_if_open)

    def _abort_if_open(self) -> None:
        if not self.closed:
            self.closed = True
            self.wire.abort()

    def poke(self) -> None:
        with self.lock:
            self.signaled = True
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:
            self.closed = True

    async def run_sender(self, send) -> None:
        hub = self.hub
        next_ping = time.monotonic() + hub.heartbeat
        while not self.closed:
            timeout = max(0.0, next_ping - time.monotonic())
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
            except TimeoutError:
                pass
            self.wake.clear()
            with self.lock:
                self.signaled = False
            f = hub.faults
            if f.ws_cut_connections > 0:
                f.ws_cut_connections -= 1
                self.closed = True
                self.wire.abort()
                return
            if f.ws_stall_seconds > 0:
                hub.apply_stall()
            pause = self.stall_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                next_ping = max(next_ping, time.monotonic())
                continue
            if time.monotonic() >= next_ping:
                self.wire.ping(b"heartbeat")
                next_ping = time.monotonic() + hub.heartbeat
            while not self.closed:
                with self.lock:
                    if self.overflowed:
                        item = None
                    elif self.outbox:
                        item = self.outbox.popleft()
                    else:
                        break
                if item is None:
                    await self._send_overflow(send)
                    return
                frame, sequenced = item
                if sequenced and f.ws_drop_messages > 0:
                    f.ws_drop_messages -= 1
                    continue
                await send({"type": "websocket.send", "text": frame.decode()})
                if self.stall_until > time.monotonic() or f.ws_cut_connections > 0 or f.ws_stall_seconds > 0:
                    self.poke()
                    break

    async def _send_overflow(self, send) -> None:
        err = {"type": "error", "msg": {"code": 25, "msg": "Subscription buffer overflow"}}
        await send({"type": "websocket.send", "text": orjson.dumps(err).decode()})
        await send({"type": "websocket.close", "code": 1008, "reason": "subscription buffer overflow"})
        self.closed = True


class Hub:
    """All connections of the exchange, the feed, the heartbeat interval and the queue bound."""

    def __init__(self, api, heartbeat: float = HEARTBEAT_SECONDS, max_queue: int = MAX_QUEUE) -> None:
        self.api = api
        self.ex = api.ex
        self.faults = api.faults
        self.heartbeat = heartbeat
        self.max_queue = max_queue
        self.feed = Feed(api.ex)
        self.conns: list[Conn] = []
        self.lock = threading.Lock()
        api.ex.feed = self.feed

    def poke(self) -> None:
        """Wake every connection (after a fault switch changed) so the fault applies now."""
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            c.poke()

    def apply_stall(self) -> None:
        with self.lock:
            seconds = self.faults.ws_stall_seconds
            self.faults.ws_stall_seconds = 0.0
            until = time.monotonic() + seconds
            for c in self.conns:
                c.stall_until = max(c.stall_until, until)

    async def __call__(self, scope, receive, send) -> None:
        api = self.api
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        entry = {
            "method": "GET",
            "path": WS_PATH,
            "query": "",
            "status": 0,
            "key_id": headers.get("kalshi-access-key"),
        }
        with api.log_lock:
            api.log.append(entry)
        if (await receive())["type"] != "websocket.connect":
            return
        account = None
        signed = entry["key_id"] or headers.get("kalshi-access-signature")
        if signed or not self.faults.ws_allow_anonymous:
            try:
                with self.ex.lock:
                    account = api.authenticate_headers(headers, "GET", WS_PATH)
            except ApiError as e:
                entry["status"] = e.status
                await self._deny(send, e)
                return
        wire = Wire(send)
        await send({"type": "websocket.accept"})
        entry["status"] = 101
        conn = Conn(self, account, asyncio.get_running_loop(), wire)
        with self.lock:
            self.conns.append(conn)
        sender = asyncio.create_task(conn.run_sender(send))
        try:
            while not conn.closed:
                receiver = asyncio.ensure_future(receive())
                done, _ = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
                if receiver not in done:
                    receiver.cancel()
                    break
                message = receiver.result()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text")
                if raw is None:
                    raw = (message.get("bytes") or b"").decode("utf-8", "replace")
                ws_commands.handle(self, conn, raw)
        finally:
            conn.closed = True
            with self.lock:
                if conn in self.conns:
                    self.conns.remove(conn)
            with self.ex.lock:
                for sub in list(conn.subs.values()):
                    self.feed.remove(sub)
                conn.subs.clear()
            if not sender.done():
                sender.cancel()
            try:
                await sender
            except (asyncio.CancelledError, Exception):  # a send to a vanished client: already closed
                pass

    async def _deny(self, send, e: ApiError) -> None:
        date = email.utils.formatdate(self.ex.now_us // 1_000_000, usegmt=True).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": e.status,
                "headers": [(b"content-type", b"application/json"), (b"date", date)],
            }
        )
        await send({"type": "websocket.http.response.body", "body": e.body()})
