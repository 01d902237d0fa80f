"""KalshiStream against a scripted WebSocket server on loopback: signed upgrade, commands, seq faults, reconnects,
slow consumers. Timeouts are shrunk so every test takes well under a few seconds."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi_extract.errors import AuthenticationError, WebSocketError, retriable
from kalshi_extract.settings import Settings
from kalshi_extract.ws import (
    Disconnected,
    Gap,
    KalshiStream,
    Message,
    OrderbookDelta,
    OrderbookSnapshot,
    Reconnected,
    SlowConsumer,
    StreamOptions,
)
from tests.ws.scripted_server import ScriptedServer

FAST = StreamOptions(
    ping_interval=0.2,
    ping_timeout=0.3,
    command_timeout=2.0,
    open_timeout=2.0,
    close_timeout=0.2,
    backoff_initial=0.01,
    backoff_max=0.05,
)


@pytest.fixture(scope="module")
def key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private, pem


def _settings(server: ScriptedServer, pem: str | None) -> Settings:
    if pem is None:
        return Settings(env="local", api_url=server.api_url)
    return Settings(env="local", api_url=server.api_url, api_key_id="key-1", private_key=pem)


async def _take(stream: KalshiStream, n: int, timeout: float = 3.0) -> list:
    return [await asyncio.wait_for(stream.__anext__(), timeout) for _ in range(n)]


async def _until(stream: KalshiStream, done, timeout: float = 5.0) -> list:
    """Items up to and including the first for which ``done(item)``."""
    items = []
    while True:
        items.append(await asyncio.wait_for(stream.__anext__(), timeout))
        if done(items[-1]):
            return items


def _run(coro):
    asyncio.run(asyncio.wait_for(coro, 20))


def test_signed_upgrade_and_every_command(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                (hs,) = server.handshakes
                assert hs["KALSHI-ACCESS-KEY"] == "key-1" and hs["KALSHI-ACCESS-TIMESTAMP"].isdigit()
                book, trades = await stream.subscribe(["orderbook_delta", "trade"], ["A", "B"])
                assert (book.channel, book.sid, book.state, book.markets) == (
                    "orderbook_delta",
                    1,
                    "active",
                    ("A", "B"),
                )
                assert (trades.channel, trades.sid) == ("trade", 2)
                subs = server.commands_on(1, "subscribe")
                assert [c["params"] for c in subs] == [
                    {"channels": ["orderbook_delta"], "market_tickers": ["A", "B"]},
                    {"channels": ["trade"], "market_tickers": ["A", "B"]},
                ]
                assert len({c["id"] for c in subs}) == 2
                snaps = await _take(stream, 2)
                assert [(type(s), s.market_ticker, s.seq) for s in snaps] == [
                    (OrderbookSnapshot, "A", 1),
                    (OrderbookSnapshot, "B", 2),
                ]
                assert snaps[0].yes == ((Decimal("0.4700"), Decimal("3.00")),) and snaps[0].connection_id == 1
                (one,) = await stream.subscribe("ticker", "C")
                (everything,) = await stream.subscribe("market_lifecycle_v2")
                assert server.commands_on(1, "subscribe")[2]["params"] == {
                    "channels": ["ticker"],
                    "market_ticker": "C",
                }
                assert server.commands_on(1, "subscribe")[3]["params"] == {
                    "channels": ["market_lifecycle_v2"]
                }
                assert {(s["channel"], s["sid"]) for s in await stream.list_subscriptions()} == {
                    ("orderbook_delta", 1),
                    ("trade", 2),
                    ("ticker", 3),
                    ("market_lifecycle_v2", 4),
                }

                await stream.add_markets(book, ["C"])
                assert book.markets == ("A", "B", "C")
                added = await _take(stream, 1)
                assert (added[0].market_ticker, added[0].seq) == ("C", 3)
                await stream.delete_markets(book, "A")
                assert book.markets == ("B", "C")
                await stream.get_snapshot(book)
                again = await _take(stream, 2)
                assert [(s.market_ticker, s.seq) for s in again] == [("B", 4), ("C", 5)]
                updates = server.commands_on(1, "update_subscription")
                assert [(u["params"]["action"], u["params"]["market_tickers"]) for u in updates] == [
                    ("add_markets", ["C"]),
                    ("delete_markets", ["A"]),
                    ("get_snapshot", ["B", "C"]),
                ]
                assert all(u["params"]["sids"] == [1] for u in updates)

                await stream.unsubscribe(trades, one)
                assert [u["params"] for u in server.commands_on(1, "unsubscribe")] == [
                    {"sids": [2]},
                    {"sids": [3]},
                ]
                assert stream.subscriptions == (book, everything) and trades.state == "closed"

                with pytest.raises(WebSocketError) as refused:
                    await stream.subscribe(["nope"], "A")
                assert refused.value.code == 8 and refused.value.command == "subscribe"
                assert not retriable(refused.value) and "Unknown channel" in str(refused.value)
                assert stream.subscriptions == (book, everything)
                # a delta still flows after all that, in order, with exact values
                await server.delta(server.conns[0], 1, "B", "-2.00")
                (delta,) = await _take(stream, 1)
                assert (
                    isinstance(delta, OrderbookDelta) and delta.delta == Decimal("-2.00") and delta.seq == 6
                )
            assert stream.stats.gaps == 0 and stream.stats.reconnects == 0

    _run(scenario())


def test_a_bad_signature_is_refused_and_nothing_secret_is_shown(key, caplog):
    private, pem = key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    caplog.set_level(logging.DEBUG)

    async def scenario():
        async with ScriptedServer(other.public_key()) as server:
            stream = KalshiStream(_settings(server, pem), options=FAST)
            with pytest.raises(AuthenticationError) as exc:
                await stream.connect()
            assert exc.value.status == 401 and not retriable(exc.value)
            signature = server.handshakes[0]["KALSHI-ACCESS-SIGNATURE"]
            for text in (str(exc.value), repr(exc.value), repr(stream), caplog.text):
                assert signature not in text and "PRIVATE KEY" not in text

    _run(scenario())


def test_unsigned_connection_for_public_channels(key):
    async def scenario():
        async with ScriptedServer(require_auth=False) as server:
            async with KalshiStream(_settings(server, None), options=FAST) as stream:
                (trades,) = await stream.subscribe("trade")
                assert trades.sid == 1 and "KALSHI-ACCESS-KEY" not in server.handshakes[0]
                await server.send(server.conns[0], {"type": "brand_new_thing", "sid": 1, "msg": {"x": "1.5"}})
                (unknown,) = await _take(stream, 1)
                assert (
                    type(unknown) is Message
                    and unknown.type == "brand_new_thing"
                    and unknown.data == {"x": "1.5"}
                )

    _run(scenario())


def test_seq_gap_reports_the_interval_and_takes_fresh_snapshots(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                (book,) = await stream.subscribe("orderbook_delta", ["A", "B"])
                await _take(stream, 2)  # the snapshots, seq 1 and 2
                conn = server.conns[0]
                await server.delta(conn, 1, "A")  # 3
                await server.delta(conn, 1, "B", seq=5)  # 4 never sent
                items = await _until(
                    stream, lambda i: isinstance(i, OrderbookSnapshot) and i.market_ticker == "B"
                )
                delta3, gap, delta5, snap_a, snap_b = items
                assert (delta3.seq, delta5.seq) == (3, 5)
                assert isinstance(gap, Gap) and (gap.sid, gap.channel, gap.markets) == (
                    1,
                    "orderbook_delta",
                    ("A", "B"),
                )
                assert (gap.expected, gap.got, gap.reason, gap.resync, gap.connection_id) == (
                    4,
                    5,
                    "seq_gap",
                    "get_snapshot",
                    1,
                )
                assert gap.at.tzinfo is not None
                (request,) = server.commands_on(1, "update_subscription")
                assert request["params"] == {
                    "sids": [1],
                    "market_tickers": ["A", "B"],
                    "action": "get_snapshot",
                }
                assert (snap_a.market_ticker, snap_a.seq, snap_b.seq) == ("A", 6, 7)
                await server.delta(conn, 1, "A")  # 8: in order again, no new gap
                (delta8,) = await _take(stream, 1)
                assert delta8.seq == 8 and stream.stats.gaps == 1

    _run(scenario())


def test_a_duplicate_is_not_delivered_and_resyncs_the_sid(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                await stream.subscribe("orderbook_delta", ["A"])
                await _take(stream, 1)
                conn = server.conns[0]
                await server.delta(conn, 1, "A", "1.00")  # 2
                await server.delta(conn, 1, "A", "9.00", seq=2)  # repeated
                items = await _until(stream, lambda i: isinstance(i, OrderbookSnapshot))
                assert [type(i) for i in items] == [OrderbookDelta, Gap, OrderbookSnapshot]
                assert items[0].delta == Decimal("1.00")
                gap = items[1]
                assert (gap.reason, gap.expected, gap.got, gap.markets) == ("duplicate", 3, 2, ("A",))
                assert stream.stats.duplicates == 1 and items[2].seq == 3

    _run(scenario())


async def _reconnect_case(server: ScriptedServer, stream: KalshiStream, fault) -> list:
    """Subscribe book+trades on A, B; send deltas; apply ``fault``; return everything up to the new snapshots."""
    book, trades = await stream.subscribe(["orderbook_delta", "trade"], ["A", "B"])
    first = server.conns[0]
    sent = [await server.delta(first, 1, m) for m in ("A", "B", "A")]
    assert sent == [3, 4, 5]
    fault(first)
    items = await _until(
        stream, lambda i: isinstance(i, OrderbookSnapshot) and i.connection_id == 2 and i.market_ticker == "B"
    )
    second = server.conns[1]
    await server.wait_for(lambda: trades.connection_id == 2 and trades.state == "active")
    assert len(server.handshakes) == 2 and all("KALSHI-ACCESS-SIGNATURE" in h for h in server.handshakes)
    # re-subscribed exactly what was wanted, on the new connection, with new sids
    assert [c["params"] for c in server.commands_on(2, "subscribe")] == [
        {"channels": ["orderbook_delta"], "market_tickers": ["A", "B"]},
        {"channels": ["trade"], "market_tickers": ["A", "B"]},
    ]
    assert (book.sid, trades.sid, book.state, book.connection_id) == (1, 2, "active", 2)
    assert set(second.subs) == {1, 2}
    # nothing of the first connection delivered twice, nothing silently lost
    deltas = [(i.connection_id, i.sid, i.seq) for i in items if isinstance(i, OrderbookDelta)]
    assert deltas == [(1, 1, 3), (1, 1, 4), (1, 1, 5)]
    snaps = [(i.connection_id, i.market_ticker) for i in items if isinstance(i, OrderbookSnapshot)]
    assert snaps == [(1, "A"), (1, "B"), (2, "A"), (2, "B")]
    disconnected = [i for i in items if isinstance(i, Disconnected)]
    reconnected = [i for i in items if isinstance(i, Reconnected)]
    gaps = [i for i in items if isinstance(i, Gap)]
    assert len(disconnected) == len(reconnected) == 1 and disconnected[0].connection_id == 1
    assert reconnected[0].connection_id == 2 and reconnected[0].attempts >= 1
    assert reconnected[0].reason == disconnected[0].reason and reconnected[0].downtime_s >= 0
    assert {(g.channel, g.markets, g.reason, g.resync) for g in gaps} == {
        ("orderbook_delta", ("A", "B"), "disconnected", "resubscribe"),
        ("trade", ("A", "B"), "disconnected", "resubscribe"),
    }
    book_gap = next(g for g in gaps if g.channel == "orderbook_delta")
    assert (book_gap.sid, book_gap.expected, book_gap.got) == (1, 6, None)
    order = [type(i) for i in items]
    assert order.index(Disconnected) < order.index(Gap) < order.index(Reconnected)
    assert stream.stats.reconnects == 1
    # and the new connection flows
    await server.delta(second, 1, "A")
    (after,) = await _take(stream, 1)
    assert (after.connection_id, after.seq) == (2, 3)
    return disconnected


def test_a_cut_without_close_frame_reconnects_and_resubscribes(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                (lost,) = await _reconnect_case(server, stream, server.cut)
                assert not lost.clean and lost.reason == "connection lost without a close frame"

    _run(scenario())


def test_a_close_frame_reconnects(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:

            def close(conn):
                asyncio.get_running_loop().create_task(conn.ws.close(1001, "going away"))

            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                (lost,) = await _reconnect_case(server, stream, close)
                assert lost.clean and lost.code == 1001 and "going away" in lost.reason

    _run(scenario())


def test_a_stall_past_the_heartbeat_timeout_reconnects(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                (lost,) = await _reconnect_case(server, stream, server.stall)
                assert not lost.clean and lost.reason.startswith("heartbeat timeout")

    _run(scenario())


def test_a_revoked_key_on_reconnect_ends_the_iteration(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                await stream.subscribe("trade", "A")
                server.reject_all = True
                server.cut(server.conns[0])
                with pytest.raises(AuthenticationError):
                    await _until(stream, lambda i: False)
                assert [type(i) for i in await _drain(stream)] == []

    _run(scenario())


async def _drain(stream: KalshiStream) -> list:
    items = []
    try:
        while True:
            items.append(await asyncio.wait_for(stream.__anext__(), 1))
    except AuthenticationError:
        return items


def test_a_slow_consumer_is_reported_and_memory_stays_bounded(key):
    private, pem = key
    options = StreamOptions(**{**FAST.__dict__, "max_queue": 4})

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=options) as stream:
                await stream.subscribe("orderbook_delta", ["A"])  # its snapshot is queued: 1
                conn = server.conns[0]
                for _ in range(20):
                    await server.delta(conn, 1, "A")  # seq 2..21; 3 fit, 17 dropped
                await server.wait_for(lambda: stream.stats.messages == 21)
                assert stream.stats.dropped == 17 and stream.stats.slow_consumer == 1
                assert stream.queue_depth == 4  # bounded: nothing more is held
                items = await _until(stream, lambda i: isinstance(i, OrderbookSnapshot) and i.seq > 1)
                kinds = [type(i) for i in items]
                assert kinds == [OrderbookSnapshot, OrderbookDelta, OrderbookDelta, OrderbookDelta] + [
                    SlowConsumer,
                    Gap,
                    OrderbookSnapshot,
                ]
                slow, gap = items[4], items[5]
                assert slow.dropped == 17 and slow.sids == (1,) and slow.since <= slow.at
                assert (gap.reason, gap.sid, gap.markets, gap.resync) == (
                    "slow_consumer",
                    1,
                    ("A",),
                    "get_snapshot",
                )
                assert [i.seq for i in items if isinstance(i, OrderbookDelta)] == [2, 3, 4]
                assert items[-1].seq == 22  # the fresh snapshot continues the sid's count: no false gap
                assert stream.stats.gaps == 1

    _run(scenario())


def test_a_refused_get_snapshot_falls_back_to_resubscribing(key):
    private, pem = key

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            server.refuse_actions.add("get_snapshot")
            async with KalshiStream(_settings(server, pem), options=FAST) as stream:
                (book,) = await stream.subscribe("orderbook_delta", ["A"])
                await _take(stream, 1)
                conn = server.conns[0]
                await server.delta(conn, 1, "A", seq=3)  # 2 never sent
                items = await _until(stream, lambda i: isinstance(i, OrderbookSnapshot))
                assert [type(i) for i in items] == [Gap, OrderbookDelta, OrderbookSnapshot]
                assert [c["params"] for c in server.commands_on(1, "unsubscribe")] == [{"sids": [1]}]
                assert (book.sid, book.state, items[-1].sid, items[-1].seq) == (2, "active", 2, 1)
                await server.delta(conn, 2, "A")
                (after,) = await _take(stream, 1)
                assert (after.sid, after.seq) == (2, 2) and stream.stats.gaps == 1

    _run(scenario())


def test_a_frame_that_is_not_json_is_kept(key):
    async def scenario():
        async with ScriptedServer(require_auth=False) as server:
            async with KalshiStream(_settings(server, None), options=FAST) as stream:
                await stream.subscribe("trade")
                await server.conns[0].ws.send("not json {")
                (bad,) = await _take(stream, 1)
                assert bad.type == "invalid" and bad.data == {"text": "not json {"} and bad.parse_error

    _run(scenario())


def test_subscribe_during_an_outage_waits_for_the_reconnect(key):
    private, pem = key
    slow = StreamOptions(**{**FAST.__dict__, "backoff_initial": 0.3, "backoff_max": 0.3})

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=slow) as stream:
                await stream.subscribe("trade", "A")
                server.cut(server.conns[0])
                await _until(stream, lambda i: isinstance(i, Disconnected))
                assert not stream.connected
                (ticker,) = await stream.subscribe("ticker", "B")  # made on the new connection
                assert (ticker.connection_id, ticker.state) == (2, "active")
                assert [c["params"]["channels"] for c in server.commands_on(2, "subscribe")] == [
                    ["trade"],
                    ["ticker"],
                ]
                assert server.commands_on(1, "subscribe")[1:] == []

    _run(scenario())


def test_trades_dropped_for_a_slow_consumer_are_reported_not_resubscribed(key):
    private, pem = key
    options = StreamOptions(**{**FAST.__dict__, "max_queue": 2})

    async def scenario():
        async with ScriptedServer(private.public_key()) as server:
            async with KalshiStream(_settings(server, pem), options=options) as stream:
                (trades,) = await stream.subscribe("trade", "A")
                conn = server.conns[0]
                for n in range(5):
                    frame = {
                        "trade_id": f"t{n}",
                        "market_ticker": "A",
                        "yes_price_dollars": "0.3600",
                        "no_price_dollars": "0.6400",
                        "count_fp": "1.00",
                        "ts_ms": 1781159387000 + n,
                    }
                    await server.send(conn, {"type": "trade", "sid": 1, "msg": frame})
                await server.send(conn, {"type": "trade", "sid": 1, "msg": {**frame, "trade_id": "t0"}})
                await server.send(conn, {"type": "trade", "sid": 1, "msg": {**frame, "trade_id": "t3"}})
                await server.wait_for(lambda: stream.stats.messages == 7)
                items = await _take(stream, 4)
                assert [getattr(i, "trade_id", None) for i in items[:2]] == ["t0", "t1"]
                slow, gap = items[2:]
                # t2..t4 and t3 again dropped (t3 was never delivered, so it is not a duplicate); t0 again is one
                assert isinstance(slow, SlowConsumer) and slow.dropped == 4 and stream.stats.duplicates == 1
                assert (gap.reason, gap.channel, gap.markets, gap.resync) == (
                    "slow_consumer",
                    "trade",
                    ("A",),
                    "none",
                )
                await asyncio.sleep(0.05)
                assert server.commands_on(1, "unsubscribe") == [] and trades.sid == 1

    _run(scenario())


def test_a_trade_repeated_by_the_server_is_delivered_once(key):
    async def scenario():
        async with ScriptedServer(require_auth=False) as server:
            async with KalshiStream(_settings(server, None), options=FAST) as stream:
                await stream.subscribe("trade", "A")
                msg = {
                    "trade_id": "t1",
                    "market_ticker": "A",
                    "yes_price_dollars": "0.3600",
                    "no_price_dollars": "0.6400",
                    "count_fp": "2.00",
                    "ts_ms": 1781159387000,
                }
                for trade_id in ("t1", "t1", "t2"):
                    await server.send(
                        server.conns[0], {"type": "trade", "sid": 1, "msg": {**msg, "trade_id": trade_id}}
                    )
                items = await _take(stream, 2)
                assert [i.trade_id for i in items] == ["t1", "t2"] and stream.stats.duplicates == 1

    _run(scenario())
