"""Every trading command end to end against the local exchange on loopback (typer's CliRunner, account env)."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow.dataset as ds
import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.settings import Settings
from tests.orders.helpers import open_markets, resting_price

pytestmark = pytest.mark.slow


def _client(acct) -> KalshiClient:
    return KalshiClient(Settings.load(environ=acct.env))


def _journal(lake_dir) -> list[dict]:
    root = lake_dir / "lake" / "order_events"
    if not root.exists():
        return []
    return ds.dataset(str(root), format="parquet", partitioning="hive").to_table().to_pylist()


@pytest.fixture
def trader(exchange, make_cli):
    acct = exchange.create_account(balance_cents=10_000_00)
    with _client(acct) as c:
        markets = open_markets(c)
    assert len(markets) >= 2, "the local exchange should have open two-sided markets"
    cli = make_cli(acct)
    return acct, cli, markets


def test_every_command_has_help_and_example():
    from typer.testing import CliRunner

    from kalshi_lake.cli import app
    from kalshi_lake.cli.trading_cmd import COMMANDS

    runner = CliRunner()
    for cmd in COMMANDS:
        res = runner.invoke(app, [cmd.__name__, "--help"])
        assert res.exit_code == 0, cmd.__name__
        assert "Example: kalshi-lake " + cmd.__name__ in " ".join(res.output.split()), cmd.__name__


def test_market_data_commands(trader):
    acct, cli, markets = trader
    m = markets[0]
    found = cli.json("search", m["ticker"][-8:], "--status", "open")
    assert m["ticker"] in [x["ticker"] for x in found]
    series = m["event_ticker"].split("-")[0]
    by_series = cli.json("search", m["ticker"].lower(), "--series", series, "--status", "all", "--limit", "5")
    assert [x["ticker"] for x in by_series] == [m["ticker"]]
    assert cli.json("search", "no-such-market-text-anywhere") == []
    assert cli.json("market", m["ticker"])["ticker"] == m["ticker"]
    res = cli("market", "KXNOPE-1")
    assert res.exit_code == 1 and "unknown ticker" in res.stderr
    book = cli.json("orderbook", m["ticker"])
    assert Decimal(book["best_yes_ask"]) == Decimal(1) - Decimal(book["best_no_bid"])
    assert Decimal(book["best_yes_bid"]) < Decimal(book["best_yes_ask"])
    out = cli.ok("orderbook", m["ticker"]).output
    assert "YES bid" in out and "NO bid" in out
    assert cli.ok("market", m["ticker"]).output.count(m["ticker"]) >= 1


def test_crossing_buy_fills_and_shows_in_positions_fills_and_journal(trader, tmp_path, exchange):
    acct, cli, markets = trader
    m = markets[0]
    ask = Decimal(cli.json("orderbook", m["ticker"])["best_yes_ask"])
    cents = str(int(ask * 100)) if ask * 100 == int(ask * 100) else f"{ask}"
    before = Decimal(cli.json("balance")["balance_dollars"])
    out = cli.json("buy", m["ticker"], "yes", "2", cents)
    res = out["result"]
    assert out["request"]["side"] == "bid" and Decimal(out["request"]["price"]) == ask
    assert Decimal(res["fill_count"]) == 2 and res["status"] == "executed" and res["outcome"] == "accepted"
    pos = {p["ticker"]: p for p in cli.json("positions")}
    assert Decimal(pos[m["ticker"]]["position_fp"]) == 2
    fills = cli.json("fills", "--ticker", m["ticker"])
    mine = [f for f in fills if f["order_id"] == res["order_id"]]
    assert sum(Decimal(f["count_fp"]) for f in mine) == 2
    assert all(f["book_side"] == "bid" for f in mine)
    fees = sum(Decimal(f["fee_cost"]) for f in mine)
    cost = sum(Decimal(f["count_fp"]) * Decimal(f["yes_price_dollars"]) for f in mine)
    after = Decimal(cli.json("balance")["balance_dollars"])
    assert before - after == cost + fees
    journal = [e for e in _journal(tmp_path / "data") if e["client_order_id"] == res["client_order_id"]]
    assert [e["phase"] for e in sorted(journal, key=lambda e: e["ts"])] == ["intent", "sent", "accepted"]
    assert {e["_account"] for e in journal} == {"default"}
    # the table form works too, and a NO buy is an ask at 1 - q
    bid = Decimal(cli.json("orderbook", m["ticker"])["best_yes_bid"])
    no_price = Decimal(1) - bid
    out = cli.json("buy", m["ticker"], "no", "1", f"{no_price}")
    assert out["request"]["side"] == "ask" and Decimal(out["request"]["price"]) == bid
    assert Decimal(out["result"]["fill_count"]) == 1
    pos = {p["ticker"]: p for p in cli.json("positions")}
    assert Decimal(pos[m["ticker"]]["position_fp"]) == 1  # YES and NO net within a market
    assert m["ticker"] in cli.ok("positions").output
    assert "balance" in cli.ok("balance").output


def test_resting_order_lifecycle_orders_amend_decrease_cancel(trader, exchange):
    acct, cli, markets = trader
    m = markets[1]
    low = resting_price({"yes_bid_dollars": cli.json("orderbook", m["ticker"])["best_yes_bid"]})
    placed = cli.json("buy", m["ticker"], "yes", "5", str(int(low * 100)))["result"]
    oid = placed["order_id"]
    assert placed["status"] == "resting"
    resting = cli.json("orders", "--status", "resting")
    assert oid in [o["order_id"] for o in resting]
    assert oid[:8] in cli.ok("orders").output  # tables show ids as 8 characters; --json in full
    new_price = max(Decimal("0.01"), low - Decimal("0.01"))
    cli.ok("amend", oid, "--price", str(int(new_price * 100)), "--count", "6")
    o = next(o for o in exchange.orders(acct.key_id) if o["order_id"] == oid)
    assert Decimal(o["yes_price_dollars"]) == new_price
    assert Decimal(o["remaining_count_fp"]) == 6
    cli.ok("decrease", oid, "--by", "2")
    o = next(o for o in exchange.orders(acct.key_id) if o["order_id"] == oid)
    assert Decimal(o["remaining_count_fp"]) == 4
    cli.ok("decrease", oid, "--to", "3")
    o = next(o for o in exchange.orders(acct.key_id) if o["order_id"] == oid)
    assert Decimal(o["remaining_count_fp"]) == 3
    dry = cli.ok("cancel", oid, "--dry-run").output
    assert "DELETE" in dry and oid in dry
    res = cli("cancel", oid[:4] + "zz")
    assert res.exit_code == 1 and "no resting order id starts with" in res.stderr
    assert cli.json("cancel", oid[:8])["order_id"] == oid  # the id's start, as the orders table shows it
    o = next(o for o in exchange.orders(acct.key_id) if o["order_id"] == oid)
    assert o["status"] == "canceled"
    # cancel --all
    ids = [
        cli.json("buy", m["ticker"], "yes", "1", str(int(low * 100)))["result"]["order_id"] for _ in range(2)
    ]
    cli.ok("cancel", "--all")
    statuses = {o["order_id"]: o["status"] for o in exchange.orders(acct.key_id)}
    assert all(statuses[i] == "canceled" for i in ids)
    assert cli.json("orders", "--status", "resting") == []


def test_sell_reduces_position_and_settlements_lists(trader, exchange):
    acct, cli, markets = trader
    m = markets[0]
    ask = Decimal(cli.json("orderbook", m["ticker"])["best_yes_ask"])
    bought = Decimal(
        cli.json("buy", m["ticker"], "yes", "3", f"{ask}", "--tif", "ioc")["result"]["fill_count"]
    )
    assert bought >= 2
    bid = Decimal(cli.json("orderbook", m["ticker"])["best_yes_bid"])
    out = cli.json("sell", m["ticker"], "yes", "2", f"{bid}", "--tif", "ioc")
    assert out["request"]["side"] == "ask" and out["request"]["time_in_force"] == "immediate_or_cancel"
    pos = {p["ticker"]: p for p in cli.json("positions")}
    sold = Decimal(out["result"]["fill_count"])
    assert sold > 0 and Decimal(pos[m["ticker"]]["position_fp"]) == bought - sold
    assert isinstance(cli.json("settlements"), list)
    assert "settlements" in cli.ok("settlements").output
    assert "fills" in cli.ok("fills").output


def test_tables_fit_80_columns_and_show_money_exactly(trader, make_cli):
    acct, cli, markets = trader
    m = markets[0]
    ask = Decimal(cli.json("orderbook", m["ticker"])["best_yes_ask"])
    cli.json("buy", m["ticker"], "yes", "2", f"{ask}")
    narrow = make_cli(acct, COLUMNS="80")
    for args in (
        ["fills"],
        ["positions"],
        ["orders"],
        ["settlements"],
        ["balance"],
        ["search", m["ticker"][:8]],
        ["orderbook", m["ticker"]],
        ["market", m["ticker"]],
        ["buy", m["ticker"], "yes", "1", "1"],
    ):
        out = narrow.ok(*args).output
        assert all(len(line) <= 80 for line in out.splitlines()), (args, out)
        assert "…" not in out, (args, out)  # nothing cut short
    assert (
        re.search(r"price_ranges +0\.00–1\.00 by 0\.01\b", narrow.ok("market", m["ticker"]).output)
        or "by 0.001" in narrow.ok("market", m["ticker"]).output
    )  # the tick grid in words, not JSON
    out = narrow.ok("fills", "--ticker", m["ticker"]).output
    assert m["ticker"] in out  # tickers never fold
    shown = {Decimal(t.replace(",", "")) for t in out.split() if re.fullmatch(r"-?[\d,]+\.\d+", t)}
    for f in cli.json("fills", "--ticker", m["ticker"]):
        assert Decimal(f["fee_cost"]) in shown, out  # exact (a fee never folds over two lines)
        assert f["fee_cost"].endswith("00") is False or f["fee_cost"] not in out  # "0.001400" shows as 0.0014
    # a NO buy at q rests as an ask at 1 - q: the table says so in YES terms, never "sell NO"
    ask_at = min(Decimal("0.99"), (ask + Decimal("0.05")).quantize(Decimal("0.01")))
    placed = cli.json("buy", m["ticker"], "no", "1", f"{Decimal(1) - ask_at}")["result"]
    row = next(line for line in narrow.ok("orders").output.splitlines() if placed["order_id"][:8] in line)
    assert f"sell YES @ {ask_at}" in row and "NO @" not in row, row
    cli.ok("cancel", placed["order_id"])
    pos = {p["ticker"]: p for p in cli.json("positions")}[m["ticker"]]
    held = Decimal(pos["position_fp"])
    assert f"{held.normalize():f} YES" in narrow.ok("positions").output


def test_empty_lists_say_so_in_a_sentence(exchange, make_cli):
    cli = make_cli(exchange.create_account(balance_cents=100_00))  # a new account: nothing yet
    for args, sentence in (
        (["fills"], "no fills"),
        (["settlements"], "no settlements yet"),
        (["positions"], "no positions open"),
        (["orders", "--status", "resting"], "no orders with status resting"),
        (["orders", "--pending"], "nothing to resolve"),
    ):
        out = cli.ok(*args).output
        assert sentence in out and len(out.strip().splitlines()) == 1 and "─" not in out, (args, out)
        assert cli.json(*args) == []


def test_selling_more_than_you_hold_says_it_buys_the_other_side(trader):
    acct, cli, markets = trader
    m = markets[1]
    out = cli.json("sell", m["ticker"], "yes", "3", "0.99", "--dry-run")  # a new account holds nothing
    assert any("you hold 0 YES, so 3 of these 3 buy NO at $0.01 instead" in n for n in out["notes"]), out[
        "notes"
    ]
    text = cli.ok("sell", m["ticker"], "yes", "3", "0.99", "--dry-run").output
    assert "note: you hold 0 YES" in text
