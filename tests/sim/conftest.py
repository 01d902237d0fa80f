"""A traded-and-settled world shared by the contract and invariant tests of the local exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from kalshi_sim import LocalExchange
from tests.sim.helpers import SimClient, order


@dataclass
class Scenario:
    ex: LocalExchange
    a: SimClient
    b: SimClient
    anon: SimClient
    tickers: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    responses: list = field(default_factory=list)  # (method, template, status, body)


def _ask_price(m):
    return m["yes_ask_dollars"]


def run_scenario(ex: LocalExchange) -> Scenario:
    a_acct = ex.create_account(balance_cents=500_000)
    b_acct = ex.create_account(balance_cents=500_000)
    sc = Scenario(ex, SimClient(ex.base_url, a_acct), SimClient(ex.base_url, b_acct), SimClient(ex.base_url))
    a, b = sc.a, sc.b

    def rec(method, template, r):
        sc.responses.append((method, template, r.status_code, r.json() if r.content else None))
        return r

    picked = []
    for series in ("KXBTC", "KXHIGHNY", "KXFEDDECISION", "KXPAYROLLS", "KXINXD"):
        ms = a.get_json("/markets", {"status": "open", "series_ticker": series, "limit": 100})["markets"]
        ms = [m for m in ms if m["yes_ask_dollars"] not in ("1.0000",) and m["yes_bid_dollars"] != "0.0000"]
        ms.sort(key=lambda m: m["close_time"])
        picked += ms[:2]
    for m in picked:
        t = m["ticker"]
        sc.tickers.append(t)
        # A lifts the offer (taker vs background makers)
        r = rec(
            "post",
            "/portfolio/events/orders",
            a.post("/portfolio/events/orders", order(t, "bid", "4.00", _ask_price(m), "immediate_or_cancel")),
        )
        assert r.status_code == 201, r.text
        # A improves the best bid by a tick (when the spread allows) and B hits it: a user ↔ user trade
        book = a.get_json(f"/markets/{t}/orderbook")["orderbook_fp"]
        tick = Decimal("0.01") if m["price_level_structure"] == "linear_cent" else Decimal("0.001")
        bid = Decimal(book["yes_dollars"][-1][0])
        ask = 1 - Decimal(book["no_dollars"][-1][0])
        if m["price_level_structure"] == "tapered_deci_cent" and Decimal("0.1") <= bid < Decimal("0.9"):
            tick = Decimal("0.01")
        best_bid = f"{bid + tick:.4f}" if bid + tick < ask else f"{bid:.4f}"
        r = rec(
            "post",
            "/portfolio/events/orders",
            a.post("/portfolio/events/orders", order(t, "bid", "2.50", best_bid)),
        )
        assert r.status_code == 201, r.text
        sc.order_ids.append(r.json()["order_id"])
        r = rec(
            "post",
            "/portfolio/events/orders",
            b.post("/portfolio/events/orders", order(t, "ask", "1.50", best_bid, "immediate_or_cancel")),
        )
        assert r.status_code == 201, r.text
        # A sells one contract back into the bid (closes part of the position: realized P&L)
        mm = a.get_json(f"/markets/{t}")["market"]
        r = rec(
            "post",
            "/portfolio/events/orders",
            a.post(
                "/portfolio/events/orders",
                order(t, "ask", "1.00", mm["yes_bid_dollars"], "immediate_or_cancel"),
            ),
        )
        assert r.status_code == 201, r.text
    t0 = sc.tickers[0]
    m0 = a.get_json(f"/markets/{t0}")["market"]
    # B: resting ask far away, amend, decrease, cancel
    r = rec(
        "post",
        "/portfolio/events/orders",
        b.post("/portfolio/events/orders", order(t0, "ask", "5.00", "0.9800")),
    )
    oid = r.json()["order_id"]
    rec(
        "post",
        "/portfolio/events/orders/{order_id}/amend",
        b.post(
            f"/portfolio/events/orders/{oid}/amend",
            {"ticker": t0, "side": "ask", "price": "0.9700", "count": "6.00"},
        ),
    )
    rec(
        "post",
        "/portfolio/events/orders/{order_id}/decrease",
        b.post(f"/portfolio/events/orders/{oid}/decrease", {"reduce_by": "1.00"}),
    )
    rec("delete", "/portfolio/events/orders/{order_id}", b.delete(f"/portfolio/events/orders/{oid}"))
    r = rec(
        "post",
        "/portfolio/events/orders/batched",
        b.post(
            "/portfolio/events/orders/batched",
            {
                "orders": [
                    order(t0, "bid", "1.00", "0.0100"),
                    order(t0, "bid", "1.00", "0.0200"),
                    order(t0, "bid", "1.00", "0.0250"),
                ]
            },
        ),
    )
    ids = [o["order_id"] for o in r.json()["orders"] if o.get("order_id")]
    rec(
        "delete",
        "/portfolio/events/orders/batched",
        b.delete(
            "/portfolio/events/orders/batched", json={"orders": [{"order_id": ids[0]}, {"order_id": "nope"}]}
        ),
    )
    # B rests a bid that background takers will hit later (maker fills over time)
    rec(
        "post",
        "/portfolio/events/orders",
        b.post("/portfolio/events/orders", order(t0, "bid", "3.00", m0["yes_bid_dollars"])),
    )
    rec(
        "post",
        "/portfolio/events/orders",
        a.post("/portfolio/events/orders", order(t0, "bid", "1.00", "0.9900", "fill_or_kill")),
    )
    ex.advance(6 * 3600)
    ex.advance(2 * 86_400)
    rec("delete", "/portfolio/events/orders", b.delete("/portfolio/events/orders"))
    ex.advance(5 * 86_400)
    return sc


@pytest.fixture(scope="package")
def scenario():
    with LocalExchange(seed=11, size="small") as ex:
        yield run_scenario(ex)
