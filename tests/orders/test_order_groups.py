"""Order groups end to end: the seven operations through the order module and the CLI against the local exchange,
whose engine enforces the cap (fills capped, the group's orders canceled, new orders refused until reset)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.errors import KalshiLakeError, OrderValidationError
from kalshi_extract.orders.front import Orders
from kalshi_extract.orders.groups import contracts_limit
from kalshi_extract.orders.journal import MemoryJournal
from kalshi_extract.settings import Settings
from tests.orders.helpers import open_markets, resting_price


@pytest.fixture
def trader(fresh_exchange, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=10_000_00)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        yield acct, c, Orders(c, journal=MemoryJournal())


def _cross(m: dict) -> Decimal:
    return min(Decimal(m["yes_ask_dollars"]) + Decimal("0.05"), Decimal("0.99"))


def test_a_group_caps_matched_contracts_and_blocks_until_reset(trader):
    _, c, orders = trader
    groups = orders.groups
    gid = groups.create(2)
    assert [g["id"] for g in groups.list()] == [gid]
    assert groups.get(gid)["contracts_limit_fp"] == "2.00"
    a, b = open_markets(c, 2)[:2]
    rest = orders.buy(b["ticker"], "yes", 3, resting_price(b), order_group_id=gid)  # rests in the group
    assert rest.status == "resting"

    taken = orders.buy(a["ticker"], "yes", 4, _cross(a), time_in_force="ioc", order_group_id=gid)
    assert Decimal(taken.fill_count) == 2  # capped at the group's limit, though the book had more
    assert orders.get_order(rest.order_id)["status"] == "canceled"  # the group was triggered
    assert set(groups.get(gid)["orders"]) == {rest.order_id, taken.order_id}
    assert orders.get_order(taken.order_id)["order_group_id"] == gid
    with pytest.raises(KalshiLakeError, match="order group"):
        orders.buy(b["ticker"], "yes", 1, resting_price(b), order_group_id=gid)

    groups.reset(gid)
    again = orders.buy(b["ticker"], "yes", 1, resting_price(b), order_group_id=gid)
    assert again.status == "resting"
    groups.trigger(gid)
    assert orders.get_order(again.order_id)["status"] == "canceled"
    groups.reset(gid)
    groups.update_limit(gid, 7)
    assert groups.get(gid)["contracts_limit_fp"] == "7.00"
    last = orders.buy(b["ticker"], "yes", 1, resting_price(b), order_group_id=gid)
    groups.delete(gid)
    assert orders.get_order(last.order_id)["status"] == "canceled"
    assert groups.list() == []
    with pytest.raises(KalshiLakeError):
        groups.get(gid)


def test_a_limit_that_is_not_whole_contracts_is_refused_before_sending():
    for bad in ("0", "1.5", "-2", "ten", 2.0, True):
        with pytest.raises(OrderValidationError, match="Nothing was sent"):
            contracts_limit(bad)
    assert contracts_limit("3") == 3 and contracts_limit(Decimal("4.00")) == 4


def test_order_groups_cli(fresh_exchange, make_cli):
    acct = fresh_exchange.create_account(balance_cents=10_000_00)
    cli = make_cli(acct)
    gid = cli.ok("order-groups", "create", "5").stdout.strip()
    assert [g["id"] for g in cli.json("order-groups", "list")] == [gid]
    assert "5.00" in cli.ok("order-groups", "show", gid).stdout
    cli.ok("order-groups", "limit", gid, "9")
    cli.ok("order-groups", "trigger", gid)
    cli.ok("order-groups", "reset", gid)
    cli.ok("order-groups", "delete", gid)
    assert cli.json("order-groups", "list") == []
    bad = cli("order-groups", "create", "2.5")
    assert bad.exit_code == 1 and "whole number" in bad.output
    for sub in ("list", "show", "create", "limit", "reset", "trigger", "delete"):
        res = cli("order-groups", sub, "--help")
        assert res.exit_code == 0 and "Example: kalshi-lake order-groups" in " ".join(res.output.split()), sub
