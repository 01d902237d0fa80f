"""Private WebSocket channels of an account with subaccounts, through the project's WebSocket client and the
recorder's row mapping against the local exchange: ``fill`` and ``market_position`` carry ``subaccount`` for a
numbered subaccount (AsyncAPI: optional), ``user_order`` its ``subaccount_number``; a position is the
subaccount's own; the primary's frames carry no ``subaccount``."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.recorder_rows import message_rows
from kalshi_extract.settings import Settings
from kalshi_extract.ws import KalshiStream


def _buy(client, ticker: str, price: str, count: str, subaccount: int | None = None) -> str:
    body = {
        "ticker": ticker,
        "side": "bid",
        "count": count,
        "price": price,
        "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross",
        "client_order_id": str(uuid.uuid4()),
    }
    if subaccount is not None:
        body["subaccount"] = subaccount
    out = client.post("/portfolio/events/orders", body)
    assert Decimal(out["fill_count"]) > 0, out
    return out["order_id"]


def _market(client) -> dict:
    return next(
        m
        for m in client.get_markets(status="open")
        if Decimal("0.05") <= Decimal(m["yes_ask_dollars"]) <= Decimal("0.95")
        and Decimal(m.get("yes_ask_size_fp") or "0") >= 5
    )


async def _collect(settings, act, want) -> list:
    """Subscribe the private channels, run ``act`` (blocking REST) and read messages until ``want(messages)``."""
    out: list = []
    async with KalshiStream(settings) as stream:
        await stream.subscribe(["fill", "user_orders", "market_positions"], None)
        await asyncio.to_thread(act)
        while not want(out):
            out.append(await asyncio.wait_for(stream.__anext__(), 10))
    return out


def test_private_frames_carry_the_subaccount(fresh_exchange, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=100_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        assert c.create_subaccount() == 1
        c.transfer_between_subaccounts(0, 1, 50_000)
        m = _market(c)
        t, ask = m["ticker"], m["yes_ask_dollars"]
        ids: dict[str, str] = {}

        def act():
            ids["sub"] = _buy(c, t, ask, "2.00", subaccount=1)
            ids["primary"] = _buy(c, t, "0.99", "1.00")

        def want(msgs) -> bool:
            kinds = {(getattr(x, "type", None), (x.data or {}).get("order_id")) for x in msgs}
            positions = [x for x in msgs if getattr(x, "type", None) == "market_position"]
            return (
                bool(ids)
                and {("fill", ids["sub"]), ("fill", ids["primary"])} <= kinds
                and len(positions) >= 2
            )

        msgs = asyncio.run(asyncio.wait_for(_collect(settings, act, want), 30))

    fills = {x.data["order_id"]: x for x in msgs if x.type == "fill"}
    assert fills[ids["sub"]].raw["msg"]["subaccount"] == 1
    assert "subaccount" not in fills[ids["primary"]].raw["msg"]
    orders = {x.data["order_id"]: x.raw["msg"] for x in msgs if x.type == "user_order"}
    assert orders[ids["sub"]]["subaccount_number"] == 1 and orders[ids["primary"]]["subaccount_number"] == 0
    positions = [x.raw["msg"] for x in msgs if x.type == "market_position"]
    by_sub = {p.get("subaccount", 0): p for p in positions if p["market_ticker"] == t}
    assert by_sub[1]["position_fp"] == "2.00"  # subaccount 1's own position, not the primary's
    assert by_sub[0]["position_fp"] == "1.00"
    # the recorder lands them keyed by subaccount (ws_fills.subaccount, ws_positions.subaccount)
    stream, rows = message_rows(fills[ids["sub"]], "c1")
    assert stream == "ws_fills" and rows[0]["subaccount"] == 1
    sub_pos = next(x for x in msgs if x.type == "market_position" and x.raw["msg"].get("subaccount") == 1)
    stream, rows = message_rows(sub_pos, "c1")
    assert stream == "ws_positions" and rows[0]["subaccount"] == 1
