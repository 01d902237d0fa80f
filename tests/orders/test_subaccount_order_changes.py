"""Changing an order that trades from a subaccount (spec v3.21), end to end through the order module against the
local exchange: V2 cancel, amend and decrease take ``subaccount`` (query, "Defaults to 0"), each batch-cancel item
its own ``subaccount`` (default 0). The order module sends the order's subaccount; a request addressed to another
subaccount finds no such order (404) and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.errors import NotFoundError
from kalshi_extract.orders.front import Orders
from kalshi_extract.orders.journal import MemoryJournal
from kalshi_extract.settings import Settings
from tests.orders.helpers import ORDER_PATH, open_markets, resting_price


@pytest.fixture
def trader(fresh_exchange, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=10_000_00)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        assert c.create_subaccount() == 1
        c.transfer_between_subaccounts(0, 1, 2_000_00)
        yield c, Orders(c, journal=MemoryJournal())


def test_cancel_amend_decrease_of_a_subaccount_order(trader):
    c, orders = trader
    m = open_markets(c, 1)[0]
    price = resting_price(m)
    res = orders.buy(m["ticker"], "yes", 4, price, subaccount=1)
    oid = res.order_id
    assert orders.get_order(oid)["subaccount_number"] == 1

    # addressed to subaccount 0 (the default): not found there, nothing changed
    with pytest.raises(NotFoundError):
        c.delete(f"{ORDER_PATH}/{oid}")
    with pytest.raises(NotFoundError):
        c.post(f"{ORDER_PATH}/{oid}/decrease", {"reduce_by": "1.00"})
    with pytest.raises(NotFoundError):
        c.post(f"{ORDER_PATH}/{oid}/decrease", {"reduce_by": "1.00"}, params={"subaccount": 0})
    assert orders.get_order(oid)["remaining_count_fp"] == "4.00"

    assert orders.decrease(oid, reduce_by=1).outcome == "accepted"
    assert orders.get_order(oid)["remaining_count_fp"] == "3.00"
    lower = price - Decimal("0.01")
    assert orders.amend(oid, price=lower).outcome == "accepted"
    assert Decimal(orders.get_order(oid)["yes_price_dollars"]) == lower
    assert orders.cancel(oid).outcome == "accepted"
    assert orders.get_order(oid)["status"] == "canceled"

    a = orders.buy(m["ticker"], "yes", 1, price, subaccount=1).order_id
    b = orders.buy(m["ticker"], "yes", 1, price, subaccount=1).order_id
    p = orders.buy(m["ticker"], "yes", 1, price).order_id  # the primary's
    wrong = orders.cancel_batch([a, b])  # items default to subaccount 0
    assert [r.outcome for r in wrong] == ["rejected", "rejected"]
    assert {orders.get_order(o)["status"] for o in (a, b)} == {"resting"}
    assert [r.outcome for r in orders.cancel_batch([a, b], subaccount=1)] == ["accepted", "accepted"]
    assert {orders.get_order(o)["status"] for o in (a, b)} == {"canceled"}
    assert orders.cancel(p).outcome == "accepted"  # the primary's orders need no subaccount
