"""``orderbook_delta`` tells a subscriber which of its own orders caused a change (AsyncAPI 2026-06-10:
``client_order_id`` and ``subaccount`` "present only when you caused this orderbook change"), end to end: orders
placed through the project's order module, deltas read by the project's WebSocket client, two accounts on one
market of the local exchange. Each sees its own client_order_id (and subaccount for a numbered one) on the deltas
of its place, cancel and taker match, and never the other account's; background flow carries neither."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.recorder_rows import message_rows
from kalshi_extract.orders.front import Orders
from kalshi_extract.orders.journal import MemoryJournal
from kalshi_extract.settings import Settings
from kalshi_extract.ws import KalshiStream, OrderbookDelta
from tests.orders.helpers import open_markets


def _coid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


async def _until(stream, done) -> list[OrderbookDelta]:
    out: list[OrderbookDelta] = []
    while not out or not done(out[-1]):
        item = await asyncio.wait_for(stream.__anext__(), 10)
        if isinstance(item, OrderbookDelta):
            out.append(item)
    return out


def test_own_deltas_carry_the_client_order_id_and_only_for_the_owner(fresh_exchange, tmp_path):
    ex = fresh_exchange
    a, b = (ex.create_account(balance_cents=10_000_00) for _ in range(2))
    sa = Settings.load(environ=dict(a.env, KALSHI_LAKE_DIR=str(tmp_path / "a")))
    sb = Settings.load(environ=dict(b.env, KALSHI_LAKE_DIR=str(tmp_path / "b")))
    with KalshiClient(sa) as ca, KalshiClient(sb) as cb:
        assert ca.create_subaccount() == 1
        ca.transfer_between_subaccounts(0, 1, 50_000)
        m = next(x for x in open_markets(ca, 50) if Decimal(x["yes_bid_dollars"]) >= Decimal("0.20"))
        t = m["ticker"]
        bid = Decimal(m["yes_bid_dollars"]).quantize(Decimal("0.01"))
        oa, ob = Orders(ca, journal=MemoryJournal()), Orders(cb, journal=MemoryJournal())
        ids = {k: _coid(k) for k in ("a-rest", "a-sub", "b-rest", "a-take", "a-end", "b-end")}

        def act():
            rest = oa.buy(t, "yes", 2, bid - Decimal("0.10"), client_order_id=ids["a-rest"])
            oa.buy(t, "yes", 3, bid - Decimal("0.11"), client_order_id=ids["a-sub"], subaccount=1)
            oa.cancel(rest.order_id)
            ob.buy(t, "yes", 4, bid - Decimal("0.12"), client_order_id=ids["b-rest"])
            ask = Decimal(m["yes_ask_dollars"])
            took = oa.buy(t, "yes", 1, ask, time_in_force="ioc", client_order_id=ids["a-take"])
            assert took.fill_count == 1
            ex.advance(600)  # background flow: may fill or move around our orders, never "caused" by us
            oa.buy(t, "yes", 1, bid - Decimal("0.13"), client_order_id=ids["a-end"])
            ob.buy(t, "yes", 1, bid - Decimal("0.14"), client_order_id=ids["b-end"])

        async def run():
            async with KalshiStream(sa) as wa, KalshiStream(sb) as wb:
                await wa.subscribe("orderbook_delta", [t])
                await wb.subscribe("orderbook_delta", [t])
                await asyncio.to_thread(act)
                da = await _until(wa, lambda d: d.client_order_id == ids["a-end"])
                db = await _until(wb, lambda d: d.client_order_id == ids["b-end"])
                return da, db

        da, db = asyncio.run(asyncio.wait_for(run(), 60))

    def p(x: str) -> Decimal:
        return bid - Decimal(x)

    seen_a = [(d.client_order_id, d.subaccount, d.side, d.price, d.delta) for d in da if d.client_order_id]
    assert seen_a[:3] == [
        (ids["a-rest"], None, "yes", p("0.10"), Decimal(2)),
        (ids["a-sub"], 1, "yes", p("0.11"), Decimal(3)),
        (ids["a-rest"], None, "yes", p("0.10"), Decimal(-2)),  # the cancel
    ]
    take = [x for x in seen_a if x[0] == ids["a-take"]]
    assert take and all(x[2] == "no" and x[4] < 0 for x in take)  # the resting NO bids it took
    assert sum(x[4] for x in take) == -1
    assert seen_a[-1] == (ids["a-end"], None, "yes", p("0.13"), Decimal(1))
    assert {x[0] for x in seen_a} == {ids["a-rest"], ids["a-sub"], ids["a-take"], ids["a-end"]}
    # B's order is on A's feed, anonymous; A's never carry B's id and vice versa
    assert any(d.client_order_id is None and d.price == p("0.12") and d.delta == 4 for d in da)
    seen_b = [(d.client_order_id, d.price, d.delta) for d in db if d.client_order_id]
    assert seen_b == [(ids["b-rest"], p("0.12"), Decimal(4)), (ids["b-end"], p("0.14"), Decimal(1))]
    assert any(d.client_order_id is None and d.price == p("0.11") and d.delta == 3 for d in db)
    for d in db:
        assert "client_order_id" not in d.raw["msg"] or d.client_order_id.startswith("b-")
        assert "subaccount" not in d.raw["msg"]
    # the field sits where the schema puts it, and a primary-account delta has no subaccount key
    rest = next(d for d in da if d.client_order_id == ids["a-rest"])
    assert list(rest.raw["msg"]) == [
        "market_ticker", "market_id", "price_dollars", "delta_fp", "side", "client_order_id", "ts", "ts_ms"
    ]  # fmt: skip
    # the recorder lands both in ws_book
    sub = next(d for d in da if d.client_order_id == ids["a-sub"])
    stream, rows = message_rows(sub, "c1")
    assert stream == "ws_book" and rows[0]["client_order_id"] == ids["a-sub"] and rows[0]["subaccount"] == 1
    assert not {k for k in rows[0] if k.startswith(("msg.", "_extra"))}
    stream, rows = message_rows(rest, "c1")
    assert rows[0]["client_order_id"] == ids["a-rest"] and rows[0].get("subaccount") is None
