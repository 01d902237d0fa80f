"""Order groups per subaccount (spec v3.21), end to end through the order module and the CLI against the local
exchange: a group belongs to the subaccount it was created for; list/get default to all subaccounts, delete/reset/
trigger to 0; update-limit has no subaccount; an order joins only a group of its own subaccount."""

from __future__ import annotations

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.errors import BadRequestError, NotFoundError, OrderValidationError
from kalshi_extract.orders.front import Orders
from kalshi_extract.orders.journal import MemoryJournal
from kalshi_extract.settings import Settings
from tests.orders.helpers import open_markets, resting_price


@pytest.fixture
def trader(fresh_exchange, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=10_000_00)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        assert c.create_subaccount() == 1
        c.transfer_between_subaccounts(0, 1, 2_000_00)
        yield acct, c, Orders(c, journal=MemoryJournal())


def test_groups_belong_to_a_subaccount(trader):
    _, c, orders = trader
    groups = orders.groups
    g1 = groups.create(2, subaccount=1)
    g0 = groups.create(5)
    assert {g["id"] for g in groups.list()} == {g0, g1}  # list defaults to all subaccounts
    assert [g["id"] for g in groups.list(subaccount=1)] == [g1]
    assert [g["id"] for g in groups.list(subaccount=0)] == [g0]
    assert groups.get(g1)["contracts_limit_fp"] == "2.00"  # get defaults to all subaccounts
    with pytest.raises(NotFoundError):
        groups.get(g1, subaccount=0)
    with pytest.raises(BadRequestError, match="subaccount"):
        groups.create(3, subaccount=7)  # not created
    with pytest.raises(OrderValidationError, match="Nothing was sent"):
        groups.create(3, subaccount=64)

    b = open_markets(c, 1)[0]
    price = resting_price(b)
    with pytest.raises(
        NotFoundError, match="order group"
    ):  # the primary's order cannot join subaccount 1's group
        orders.buy(b["ticker"], "yes", 1, price, order_group_id=g1)
    rest = orders.buy(b["ticker"], "yes", 1, price, order_group_id=g1, subaccount=1)
    assert rest.status == "resting"
    assert orders.get_order(rest.order_id)["subaccount_number"] == 1

    with pytest.raises(NotFoundError):  # trigger "defaults to 0"
        groups.trigger(g1)
    assert orders.get_order(rest.order_id)["status"] == "resting"
    groups.trigger(g1, subaccount=1)
    assert orders.get_order(rest.order_id)["status"] == "canceled"
    with pytest.raises(NotFoundError):
        groups.reset(g1)
    groups.reset(g1, subaccount=1)
    groups.update_limit(g1, 4)  # UpdateOrderGroupLimit has no subaccount parameter
    assert groups.get(g1, subaccount=1)["contracts_limit_fp"] == "4.00"
    with pytest.raises(NotFoundError):
        groups.delete(g1)
    groups.delete(g1, subaccount=1)
    assert [g["id"] for g in groups.list()] == [g0]


def test_order_groups_cli_subaccount(fresh_exchange, make_cli, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=10_000_00)
    with KalshiClient(Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))) as c:
        c.create_subaccount()
    cli = make_cli(acct)
    g1 = cli.ok("order-groups", "create", "5", "--subaccount", "1").stdout.strip()
    g0 = cli.ok("order-groups", "create", "3").stdout.strip()
    assert [g["id"] for g in cli.json("order-groups", "list", "--subaccount", "1")] == [g1]
    assert {g["id"] for g in cli.json("order-groups", "list")} == {g0, g1}
    assert cli("order-groups", "reset", g1).exit_code == 1  # reset defaults to subaccount 0
    cli.ok("order-groups", "reset", g1, "--subaccount", "1")
    cli.ok("order-groups", "trigger", g1, "--subaccount", "1")
    cli.ok("order-groups", "delete", g1, "--subaccount", "1")
    assert [g["id"] for g in cli.json("order-groups", "list")] == [g0]
