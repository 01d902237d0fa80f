"""A small scripted Kalshi-like WebSocket server on loopback for the client's tests (a real server, no mocks).

It checks the signed upgrade with its own verification (no client code), answers the commands the way the
AsyncAPI spec shows (``subscribed``/``ok``/``unsubscribed``/``error``, one sid per channel, per-sid ``seq``, a
book snapshot on subscribe and on ``get_snapshot``), and lets a test push frames and inject faults: a skipped or
repeated seq, a connection cut without a close frame, a clean close, a stall (stops reading and answering pings).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass, field
from http import HTTPStatus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from websockets.asyncio.server import ServerConnection, serve

WS_PATH = "/trade-api/ws/v2"
_quiet = logging.getLogger("tests.ws.scripted_server")  # the server's own DEBUG lines would print the headers
_quiet.setLevel(logging.INFO)
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


@dataclass
class Conn:
    ws: ServerConnection
    number: int
    subs: dict[int, dict] = field(default_factory=dict)  # sid -> {"channel", "markets"}
    seq: dict[int, int] = field(default_factory=dict)
    next_sid: int = 1


class ScriptedServer:
    def __init__(self, public_key=None, *, require_auth: bool = True) -> None:
        self.public_key = public_key
        self.require_auth = require_auth
        self.reject_all = False  # answer every upgrade with 401 (a revoked key)
        self.handshakes: list[dict[str, str]] = []  # headers of every upgrade request
        self.commands: list[tuple[int, dict]] = []  # (connection number, command frame)
        self.conns: list[Conn] = []
        self.refuse_channels: dict[str, tuple[int, str]] = {"nope": (8, "Unknown channel name")}
        self.refuse_actions: set[str] = set()  # update_subscription actions answered with error 13
        self.port = 0
        self._server = None

    # --- lifecycle ---------------------------------------------------------------------------------------------
    async def __aenter__(self) -> ScriptedServer:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._check, ping_interval=None, logger=_quiet
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        for conn in self.conns:
            conn.ws.transport.abort()  # a stalled connection never reads the client's goodbye
        self._server.close()
        await self._server.wait_closed()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/trade-api/v2"

    # --- the upgrade -------------------------------------------------------------------------------------------
    def _check(self, connection, request):
        headers = {k: v for k, v in request.headers.raw_items()}
        self.handshakes.append(headers)
        if request.path != WS_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if self.reject_all:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "key revoked\n")
        key, ts, sig = (headers.get(f"KALSHI-ACCESS-{h}") for h in ("KEY", "TIMESTAMP", "SIGNATURE"))
        if key is None and not self.require_auth:
            return None
        if not (key and ts and sig) or abs(int(ts) - time.time() * 1000) > 5000:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "missing or stale auth headers\n")
        try:
            self.public_key.verify(
                base64.b64decode(sig), (ts + "GET" + WS_PATH).encode(), _PSS, hashes.SHA256()
            )
        except InvalidSignature:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad signature\n")
        return None

    # --- commands ----------------------------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        conn = Conn(ws, len(self.conns) + 1)
        self.conns.append(conn)
        try:
            async for text in ws:
                frame = json.loads(text)
                self.commands.append((conn.number, frame))
                await self._answer(conn, frame)
        except Exception:  # noqa: BLE001 - a cut connection ends the handler
            pass

    async def _answer(self, conn: Conn, frame: dict) -> None:
        cid, cmd, params = frame.get("id"), frame.get("cmd"), frame.get("params") or {}
        if cmd == "subscribe":
            (channel,) = params["channels"]
            if channel in self.refuse_channels:
                code, text = self.refuse_channels[channel]
                return await self.send(conn, {"id": cid, "type": "error", "msg": {"code": code, "msg": text}})
            markets = params.get("market_tickers") or (
                [params["market_ticker"]] if "market_ticker" in params else []
            )
            sid = conn.next_sid
            conn.next_sid += 1
            conn.subs[sid] = {"channel": channel, "markets": list(markets)}
            await self.send(conn, {"id": cid, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})
            if channel == "orderbook_delta":
                for ticker in markets:
                    await self.snapshot(conn, sid, ticker)
        elif cmd == "unsubscribe":
            for sid in params["sids"]:
                conn.subs.pop(sid, None)
                await self.send(
                    conn, {"id": cid, "sid": sid, "seq": conn.seq.get(sid, 0), "type": "unsubscribed"}
                )
        elif cmd == "update_subscription" and params.get("action") in self.refuse_actions:
            await self.send(
                conn, {"id": cid, "type": "error", "msg": {"code": 13, "msg": "Unsupported action"}}
            )
        elif cmd == "update_subscription":
            (sid,) = params["sids"]
            sub, action, tickers = conn.subs[sid], params["action"], params["market_tickers"]
            if action == "add_markets":
                sub["markets"] += [t for t in tickers if t not in sub["markets"]]
            elif action == "delete_markets":
                sub["markets"] = [t for t in sub["markets"] if t not in tickers]
            await self.send(
                conn, {"id": cid, "sid": sid, "type": "ok", "msg": {"market_tickers": sub["markets"]}}
            )
            if action in ("add_markets", "get_snapshot"):
                for ticker in tickers:
                    await self.snapshot(conn, sid, ticker)
        elif cmd == "list_subscriptions":
            listing = [{"channel": s["channel"], "sid": sid} for sid, s in conn.subs.items()]
            await self.send(conn, {"id": cid, "type": "ok", "msg": listing})
        else:
            await self.send(conn, {"id": cid, "type": "error", "msg": {"code": 5, "msg": "Unknown command"}})

    # --- what a test pushes ------------------------------------------------------------------------------------
    async def send(self, conn: Conn, frame: dict) -> None:
        await conn.ws.send(json.dumps(frame))

    def next_seq(self, conn: Conn, sid: int) -> int:
        conn.seq[sid] = conn.seq.get(sid, 0) + 1
        return conn.seq[sid]

    async def snapshot(self, conn: Conn, sid: int, ticker: str) -> None:
        msg = {"market_ticker": ticker, "market_id": f"id-{ticker}", "yes_dollars_fp": [["0.4700", "3.00"]]}
        await self.send(
            conn, {"type": "orderbook_snapshot", "sid": sid, "seq": self.next_seq(conn, sid), "msg": msg}
        )

    async def delta(
        self, conn: Conn, sid: int, ticker: str, delta: str = "1.00", *, seq: int | None = None
    ) -> int:
        """Send one book delta; ``seq`` given = a fault (skip or repeat), else the next one."""
        if seq is None:
            seq = self.next_seq(conn, sid)
        else:
            conn.seq[sid] = max(conn.seq.get(sid, 0), seq)
        msg = {
            "market_ticker": ticker,
            "market_id": f"id-{ticker}",
            "price_dollars": "0.5200",
            "delta_fp": delta,
            "side": "no",
            "ts_ms": 1781159387354 + seq,
        }
        await self.send(conn, {"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg})
        return seq

    def cut(self, conn: Conn) -> None:
        """Drop the TCP connection without a close frame."""
        conn.ws.transport.abort()

    def stall(self, conn: Conn) -> None:
        """Stop reading: pings go unanswered, nothing is sent."""
        conn.ws.transport.pause_reading()

    def sid_of(self, conn: Conn, channel: str) -> int:
        return next(sid for sid, s in conn.subs.items() if s["channel"] == channel)

    def commands_on(self, number: int, cmd: str) -> list[dict]:
        return [f for n, f in self.commands if n == number and f.get("cmd") == cmd]

    async def wait_for(self, condition, timeout: float = 3.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the server never saw what the test waited for")
            await asyncio.sleep(0.01)
