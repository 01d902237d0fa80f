"""The local exchange's WebSocket: signed handshake, commands and error codes, channels, heartbeats,
fault switches (gap, cut, stall) and the bounded outbox."""

from __future__ import annotations

import socket
import time

import orjson
import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Opcode
from websockets.sync.client import connect
from websockets.uri import parse_uri

from kalshi_sim import LocalExchange
from tests.sim.helpers import SimClient, order
from tests.sim.ws_helpers import WsClient, ws_headers


@pytest.fixture(scope="module")
def ex():
    with LocalExchange(seed=3, size="tiny", ws_heartbeat=0.3) as ex:
        yield ex


@pytest.fixture(scope="module")
def acct(ex):
    return ex.create_account(balance_cents=1_000_000)


def _ticker(ex, acct) -> str:
    ms = SimClient(ex.base_url, acct).get_json("/markets", {"status": "open", "series_ticker": "KXBTC"})[
        "markets"
    ]
    return next(
        m["ticker"] for m in ms if m["yes_bid_dollars"] != "0.0000" and m["yes_ask_dollars"] != "1.0000"
    )


def _errors(frames) -> list[int]:
    return [f["msg"]["code"] for f in frames if f["type"] == "error"]


# -- handshake ---------------------------------------------------------------------------------------
def test_the_upgrade_must_be_signed(ex, acct):
    with pytest.raises(InvalidStatus) as e:
        connect(ex.ws_url)
    assert e.value.response.status_code == 401
    assert orjson.loads(e.value.response.body)["code"] == "unauthorized"
    # signed for another path (the REST prefix) → refused
    with pytest.raises(InvalidStatus) as e:
        connect(ex.ws_url, additional_headers=ws_headers(acct, "/trade-api/v2"))
    assert e.value.response.status_code == 401
    # a stale timestamp → refused
    with pytest.raises(InvalidStatus):
        connect(ex.ws_url, additional_headers=ws_headers(acct, ts_ms=int(time.time() * 1000) - 120_000))
    with WsClient(ex.ws_url, acct) as ws:
        assert ws.command("list_subscriptions") == [{"id": 1, "type": "ok", "msg": []}]
    log = [r for r in ex.requests() if r["path"] == "/trade-api/ws/v2"]
    assert [r["status"] for r in log][-4:] == [401, 401, 401, 101]
    assert log[-1]["key_id"] == acct.key_id


def test_anonymous_connections_get_public_channels_only_when_allowed(ex, acct):
    ex.set_faults(ws_allow_anonymous=True)
    try:
        with WsClient(ex.ws_url) as ws:
            frames = ws.command(
                "subscribe",
                {
                    "channels": ["trade", "ticker", "orderbook_delta", "fill"],
                    "market_ticker": _ticker(ex, acct),
                },
            )
            assert [f["msg"]["channel"] for f in frames if f["type"] == "subscribed"] == ["trade", "ticker"]
            assert _errors(frames) == [9, 9]
    finally:
        ex.set_faults(ws_allow_anonymous=False)


# -- commands ---------------------------------------------------------------------------------------
def test_command_errors_use_the_spec_codes(ex, acct):
    t = _ticker(ex, acct)
    with WsClient(ex.ws_url, acct) as ws:
        ws.ws.send("not json")
        assert _errors(ws.sync()) == [1]
        assert _errors(ws.command("bogus", {})) == [5]
        assert _errors(ws.command("subscribe")) == [2]
        assert _errors(ws.command("subscribe", {"market_ticker": t})) == [3]
        assert _errors(ws.command("subscribe", {"channels": ["multivariate"]})) == [8]
        assert _errors(ws.command("subscribe", {"channels": ["orderbook_delta"]})) == [14]
        frames = ws.command("subscribe", {"channels": ["trade"], "market_ticker": "NOPE-1"})
        assert frames[0]["msg"] == {"code": 16, "msg": "Market not found", "market_ticker": "NOPE-1"}
        frames = ws.command("subscribe", {"channels": ["trade"], "market_ticker": t, "market_tickers": [t]})
        assert _errors(frames) == [11]
        frames = ws.command("subscribe", {"channels": ["orderbook_delta", "trade"], "market_ticker": t})
        sids = {f["msg"]["channel"]: f["msg"]["sid"] for f in frames if f["type"] == "subscribed"}
        assert sids == {"orderbook_delta": 1, "trade": 2}
        assert [f["type"] for f in frames] == ["subscribed", "subscribed", "orderbook_snapshot"]
        assert _errors(ws.command("subscribe", {"channels": ["trade"], "market_ticker": t})) == [6]
        assert _errors(ws.command("unsubscribe", {})) == [4]
        assert _errors(ws.command("unsubscribe", {"sids": [99]})) == [7]
        assert _errors(ws.command("update_subscription", {"sid": 1})) == [15]
        assert _errors(ws.command("update_subscription", {"sid": 1, "action": "explode"})) == [13]
        assert _errors(
            ws.command("update_subscription", {"sid": 1, "sids": [1], "action": "get_snapshot"})
        ) == [12]
        assert _errors(
            ws.command("update_subscription", {"sid": 7, "action": "get_snapshot", "market_ticker": t})
        ) == [7]
        assert _errors(ws.command("update_subscription", {"sid": 1, "action": "add_markets"})) == [14]
        assert _errors(
            ws.command("update_subscription", {"sid": 2, "action": "get_snapshot", "market_ticker": t})
        ) == [13]
        listing = ws.send("list_subscriptions")
        answer = ws.recv()
        assert answer == {
            "id": listing,
            "type": "ok",
            "msg": [{"channel": "orderbook_delta", "sid": 1}, {"channel": "trade", "sid": 2}],
        }
        frames = ws.command(
            "update_subscription", {"sids": [2], "action": "delete_markets", "market_ticker": t}
        )
        assert frames[0]["type"] == "ok" and frames[0]["msg"] == {"market_tickers": []}
        frames = ws.command("unsubscribe", {"sids": [1, 2]})
        assert [(f["type"], f["sid"], f["seq"]) for f in frames] == [
            ("unsubscribed", 1, 2),
            ("unsubscribed", 2, 1),
        ]
        assert ws.command("list_subscriptions")[0]["msg"] == []


def test_channels_follow_the_world_and_the_accounts_orders(ex, acct):
    t = _ticker(ex, acct)
    other = ex.create_account()
    rest = SimClient(ex.base_url, acct)
    with WsClient(ex.ws_url, acct) as ws, WsClient(ex.ws_url, other) as ws2:
        ws.command("subscribe", {"channels": ["fill", "user_orders", "market_positions"]})
        ws.command(
            "subscribe", {"channels": ["trade", "ticker"], "market_ticker": t, "send_initial_snapshot": True}
        )
        ws.command("subscribe", {"channels": ["market_lifecycle_v2"]})
        ws2.command("subscribe", {"channels": ["fill", "user_orders", "market_positions"]})
        m = rest.get_json(f"/markets/{t}")["market"]
        r = rest.post(
            "/portfolio/events/orders", order(t, "bid", "2.00", m["yes_ask_dollars"], "immediate_or_cancel")
        )
        assert r.status_code == 201, r.text
        frames = ws.sync()
        kinds = [f["type"] for f in frames]
        for kind in ("trade", "ticker", "fill", "user_order", "market_position"):
            assert kind in kinds, kinds
        fill = next(f["msg"] for f in frames if f["type"] == "fill")
        assert fill["order_id"] == r.json()["order_id"] and fill["is_taker"] is True
        assert fill["book_side"] == "bid" and fill["yes_price_dollars"] == m["yes_ask_dollars"]
        order_msg = [f["msg"] for f in frames if f["type"] == "user_order"][-1]
        assert order_msg["status"] in ("executed", "canceled")
        trades = [f["msg"] for f in frames if f["type"] == "trade"]
        assert {tr["trade_id"] for tr in trades} >= {fill["trade_id"]}
        assert ws.frames[0]["type"] == "subscribed"  # the other account sees none of it
        assert [f["type"] for f in ws2.sync()] == []
        ex.advance(2 * 86_400)
        frames = ws.sync(timeout=30)
        events = {
            f["msg"].get("event_type", f["type"])
            for f in frames
            if f["type"] in ("market_lifecycle_v2", "event_lifecycle")
        }
        assert events >= {"event_lifecycle", "created", "activated", "determined", "settled"}
        settled = [f for f in frames if f["type"] == "market_position" and f["msg"]["market_ticker"] == t]
        assert settled and settled[-1]["msg"]["position_fp"] == "0.00"


# -- heartbeats and faults -------------------------------------------------------------------------
class RawClient:
    """A bare sans-I/O client that records control frames (the sync client answers pings silently)."""

    def __init__(self, ex, acct) -> None:
        self.proto = ClientProtocol(parse_uri(ex.ws_url))
        self.sock = socket.create_connection((ex.host, ex.port))
        req = self.proto.connect()
        for k, v in ws_headers(acct).items():
            req.headers[k] = v
        self.proto.send_request(req)
        self.flush()
        self.pings: list[tuple[float, bytes]] = []
        self.texts: list[tuple[float, str]] = []
        self.closed_frame = None

    def flush(self) -> None:
        data = b"".join(self.proto.data_to_send())
        if data:
            self.sock.sendall(data)

    def send_text(self, text: str) -> None:
        self.proto.send_text(text.encode())
        self.flush()

    def pump(self, seconds: float) -> bool:
        """Read for ``seconds``; False once the server closed the TCP connection."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return False
            self.proto.receive_data(data)
            for ev in self.proto.events_received():
                now = time.monotonic()
                if getattr(ev, "opcode", None) == Opcode.PING:
                    self.pings.append((now, bytes(ev.data)))
                elif getattr(ev, "opcode", None) == Opcode.TEXT:
                    self.texts.append((now, bytes(ev.data).decode()))
                elif getattr(ev, "opcode", None) == Opcode.CLOSE:
                    self.closed_frame = ev
            self.flush()
        return True

    def close(self) -> None:
        self.sock.close()


def test_heartbeat_pings_and_stall(ex, acct):
    raw = RawClient(ex, acct)
    try:
        assert raw.pump(1.0)
        assert len(raw.pings) >= 2 and {p for _, p in raw.pings} == {b"heartbeat"}
        gaps = [b - a for (a, _), (b, _) in zip(raw.pings, raw.pings[1:], strict=False)]
        assert all(0.2 < g < 0.6 for g in gaps), gaps
        raw.send_text(orjson.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["trade"]}}).decode())
        assert raw.pump(0.3) and raw.texts
        raw.pings.clear()
        start = time.monotonic()
        ex.set_faults(ws_stall_seconds=1.2)
        raw.send_text(orjson.dumps({"id": 2, "cmd": "list_subscriptions"}).decode())
        assert raw.pump(2.0)
        answer_at = next(t for t, text in raw.texts if '"id":2' in text)
        assert answer_at - start >= 1.1  # nothing, not even a ping, during the stall
        assert all(t - start >= 1.1 for t, _ in raw.pings) and raw.pings
        assert ex.state()["faults"]["ws_stall_seconds"] == 0.0
    finally:
        raw.close()


def test_cut_drops_the_connection_without_a_close_frame(ex, acct):
    with WsClient(ex.ws_url, acct) as ws, WsClient(ex.ws_url, acct) as ws2:
        ws.command("subscribe", {"channels": ["trade"]})
        ex.set_faults(ws_cut_connections=1)
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=5)
        assert e.value.rcvd is None  # no close frame: an abnormal closure
        assert ws2.command("list_subscriptions")[0]["type"] == "ok"  # only one connection was cut
    assert ex.state()["faults"]["ws_cut_connections"] == 0


def test_a_consumer_that_falls_behind_is_dropped_with_error_25():
    with LocalExchange(seed=4, size="tiny", ws_heartbeat=5, ws_max_queue=50) as ex:
        acct = ex.create_account()
        with WsClient(ex.ws_url, acct) as ws:
            ws.command("subscribe", {"channels": ["trade", "ticker"]})
            ex.set_faults(ws_stall_seconds=1.0)
            ex.advance(86_400)  # far more than 50 frames while the connection is stalled
            got = []
            with pytest.raises(ConnectionClosed) as e:
                while True:
                    got.append(ws.recv(timeout=10))
            assert got[-1] == {"type": "error", "msg": {"code": 25, "msg": "Subscription buffer overflow"}}
            assert len(got) <= 51
            assert e.value.rcvd is not None and e.value.rcvd.code == 1008
        deadline = time.monotonic() + 5
        while ex.api.ws.conns and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ex.api.ws.conns == [] and ex.api.ws.feed.subs == []


def test_the_websocket_of_an_exchange_in_a_child_process():
    with LocalExchange(seed=7, size="tiny", subprocess=True, ws_heartbeat=2) as ex:
        acct = ex.create_account()
        with WsClient(ex.ws_url, acct) as ws:
            assert ws.command("subscribe", {"channels": ["trade"]})[0]["type"] == "subscribed"
            ex.advance(3 * 3600)  # over HTTP: the child advances in a worker thread and keeps sending
            assert {f["type"] for f in ws.sync()} == {"trade"}
            ex.set_faults(ws_cut_connections=1)
            with pytest.raises(ConnectionClosed) as e:
                ws.recv(timeout=5)
            assert e.value.rcvd is None
