"""WebSocket ``order_group_updates`` (AsyncAPI 2026-06-10) through the project's WebSocket client and order module
against the local exchange: one message per created, limit_updated, triggered, reset and deleted, with
``contracts_limit_fp`` on created and limit_updated, ``seq`` per subscription; a group reaching its limit on a fill
is announced as triggered; another account sees nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.orders.front import Orders
from kalshi_extract.orders.journal import MemoryJournal
from kalshi_extract.settings import Settings
from kalshi_extract.ws import KalshiStream
from tests.orders.helpers import open_markets


async def _collect(settings, act, n: int) -> list:
    out: list = []
    async with KalshiStream(settings) as stream:
        await stream.subscribe(["order_group_updates"], None)
        await asyncio.to_thread(act)
        while len([m for m in out if getattr(m, "type", None) == "order_group_updates"]) < n:
            out.append(await asyncio.wait_for(stream.__anext__(), 10))
    return [m for m in out if getattr(m, "type", None) == "order_group_updates"]


def test_order_group_updates(fresh_exchange, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=10_000_00)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    other = fresh_exchange.create_account(balance_cents=10_000_00)
    other_settings = Settings.load(environ=dict(other.env, KALSHI_LAKE_DIR=str(tmp_path / "o")))
    with KalshiClient(settings) as c, KalshiClient(other_settings) as oc:
        orders = Orders(c, journal=MemoryJournal())
        groups = orders.groups
        m = open_markets(c, 1)[0]
        ids: dict[str, str] = {}

        def act():
            Orders(oc, journal=MemoryJournal()).groups.create(3)  # another account's: not ours to see
            g = ids["g"] = groups.create(2)
            groups.update_limit(g, 5)
            groups.trigger(g)
            groups.reset(g)
            groups.delete(g)
            cap = ids["cap"] = groups.create(1)
            ask = min(Decimal(m["yes_ask_dollars"]) + Decimal("0.05"), Decimal("0.99"))
            orders.buy(m["ticker"], "yes", 3, ask, time_in_force="ioc", order_group_id=cap)

        msgs = asyncio.run(asyncio.wait_for(_collect(settings, act, 7), 30))
    bodies = [x.raw["msg"] for x in msgs]
    assert [(b["order_group_id"], b["event_type"]) for b in bodies] == [
        (ids["g"], "created"),
        (ids["g"], "limit_updated"),
        (ids["g"], "triggered"),
        (ids["g"], "reset"),
        (ids["g"], "deleted"),
        (ids["cap"], "created"),
        (ids["cap"], "triggered"),  # the taker order reached the limit
    ]
    assert [b.get("contracts_limit_fp") for b in bodies[:3]] == ["2.00", "5.00", None]
    assert all(isinstance(b["ts_ms"], int) for b in bodies)
    assert [x.raw["seq"] for x in msgs] == list(range(1, 8))
