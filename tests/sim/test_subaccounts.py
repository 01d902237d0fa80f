"""Subaccounts end to end (spec v3.21 CreateSubaccount, GetSubaccountBalances, ApplySubaccountTransfer,
GetSubaccountTransfers): the local exchange keeps each subaccount's cash and positions apart, answers the
``subaccount`` parameter with each endpoint's default (balance and positions: 0; fills, orders, settlements: all),
and the client's subaccount methods drive it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.errors import BadRequestError
from kalshi_extract.settings import Settings


def _client(ex, tmp_path, balance_cents=100_000):
    acct = ex.create_account(balance_cents=balance_cents)
    return KalshiClient(Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path))))


def buy(client, ticker: str, price: str, count: str, subaccount: int | None = None) -> None:
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
    client.post("/portfolio/events/orders", body)


def open_market(client) -> dict:
    return min(
        (
            m
            for m in client.get_markets(status="open")
            if Decimal("0.05") <= Decimal(m["yes_ask_dollars"]) <= Decimal("0.95")
        ),
        key=lambda m: m["close_time"],
    )


def test_create_transfer_and_balances(fresh_exchange, tmp_path):
    with _client(fresh_exchange, tmp_path) as c:
        assert [b["subaccount_number"] for b in c.get_subaccount_balances()] == [0]
        assert c.create_subaccount() == 1
        assert c.create_subaccount() == 2
        assert c.get_subaccount_numbers() == [0, 1, 2]
        tid = c.transfer_between_subaccounts(0, 1, 25_000)
        c.transfer_between_subaccounts(0, 1, 25_000, client_transfer_id=tid)  # idempotent: not applied twice
        c.transfer_between_subaccounts(1, 2, 1_050)
        balances = {b["subaccount_number"]: b["balance"] for b in c.get_subaccount_balances()}
        assert balances == {0: "750.0000", 1: "239.5000", 2: "10.5000"}
        assert set(c.get_subaccount_balances()[0]) == {"subaccount_number", "balance", "updated_ts"}
        # balance "defaults to 0"; ?subaccount=n reads one
        assert c.get_balance()["balance"] == 75_000
        assert c.get_balance(subaccount=1)["balance"] == 23_950
        transfers = list(c.get_subaccount_transfers())
        assert [(t["from_subaccount"], t["to_subaccount"], t["amount_cents"]) for t in transfers] == [
            (1, 2, 1_050),
            (0, 1, 25_000),
        ]
        assert set(transfers[0]) == {
            "transfer_id",
            "from_subaccount",
            "to_subaccount",
            "amount_cents",
            "created_ts",
        }
        pages = list(c.paginate("/portfolio/subaccounts/transfers", {"limit": 1}, "transfers"))
        assert [p.items[0]["transfer_id"] for p in pages] == [t["transfer_id"] for t in transfers]
        # bad input: a one-line 400, nothing moved
        with pytest.raises(BadRequestError, match="insufficient"):
            c.transfer_between_subaccounts(2, 0, 1_051)
        with pytest.raises(BadRequestError, match="does not exist"):
            c.transfer_between_subaccounts(0, 3, 1)
        with pytest.raises(BadRequestError, match="does not exist"):
            c.get_balance(subaccount=5)
        with pytest.raises(ValueError, match="amount_cents"):
            c.transfer_between_subaccounts(0, 1, 0)
        assert {b["subaccount_number"]: b["balance"] for b in c.get_subaccount_balances()} == balances
        assert [n["subaccount_number"] for n in c.get_subaccount_netting()] == [0, 1, 2]
        c.set_subaccount_netting(2, False)
        assert [n["enabled"] for n in c.get_subaccount_netting()] == [True, True, False]


def test_orders_trade_from_their_subaccount(fresh_exchange, tmp_path):
    ex = fresh_exchange
    with _client(ex, tmp_path) as c:
        c.create_subaccount()
        c.transfer_between_subaccounts(0, 1, 30_000)
        m = open_market(c)
        t, price = m["ticker"], m["yes_ask_dollars"]
        buy(c, t, price, "2.00")  # primary
        buy(c, t, price, "3.00", subaccount=1)
        with pytest.raises(BadRequestError, match="subaccount"):
            buy(c, t, price, "1.00", subaccount=7)
        # fills and orders default to all subaccounts and say which one; ?subaccount narrows
        fills = list(c.get_fills(ticker=t))
        by_sub = {}
        for f in fills:
            by_sub[f["subaccount_number"]] = by_sub.get(f["subaccount_number"], 0) + Decimal(f["count_fp"])
        assert by_sub == {0: Decimal("2.00"), 1: Decimal("3.00")}
        assert {f["subaccount_number"] for f in c.get_fills(ticker=t, subaccount=1)} == {1}
        assert sorted(o["subaccount_number"] for o in c.get_orders(ticker=t)) == [0, 1]
        assert [o["subaccount_number"] for o in c.get_orders(ticker=t, subaccount=0)] == [0]
        # positions default to subaccount 0
        (p0,) = [p for p in c.get_positions() if p["ticker"] == t]
        (p1,) = [p for p in c.get_positions(subaccount=1) if p["ticker"] == t]
        assert (p0["position_fp"], p1["position_fp"]) == ("2.00", "3.00")
        # the subaccount paid for its own fills (cost + fees), the primary's cash is untouched by them
        cost1 = sum(
            Decimal(f["yes_price_dollars"]) * Decimal(f["count_fp"]) + Decimal(f["fee_cost"])
            for f in fills
            if f["subaccount_number"] == 1
        )
        bal = {b["subaccount_number"]: Decimal(b["balance"]) for b in c.get_subaccount_balances()}
        assert bal[1] == Decimal("300.0000") - cost1.quantize(Decimal("0.0001"))
        # settlement: one per subaccount holding the market; ?subaccount tells them apart
        ex.advance(8 * 86_400)
        assert len([s for s in c.get_settlements() if s["ticker"] == t]) == 2
        (s1,) = [s for s in c.get_settlements(subaccount=1) if s["ticker"] == t]
        assert s1["yes_count_fp"] == "3.00"
        (s0,) = [s for s in c.get_settlements(subaccount=0) if s["ticker"] == t]
        assert s0["yes_count_fp"] == "2.00"


def test_the_lake_keys_every_private_row_by_subaccount(fresh_exchange, tmp_path):
    """Positions and balance (default 0) are pulled per discovered subaccount; settlements (rows without a
    subaccount) likewise; fills and orders land the API's subaccount_number; the two subaccount streams land."""
    from kalshi_extract.ingest.plan import PORTFOLIO_STREAMS
    from kalshi_extract.ingest.pull import Selection, pull
    from kalshi_extract.lake.store import Lake

    ex = fresh_exchange
    acct = ex.create_account(balance_cents=100_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path), KALSHI_ACCOUNT="a1"))
    lake = Lake.from_settings(settings)

    def table(stream):
        return lake.read(stream).to_pylist()

    with KalshiClient(settings) as c:
        c.create_subaccount()
        c.transfer_between_subaccounts(0, 1, 30_000)
        m = open_market(c)
        t, price = m["ticker"], m["yes_ask_dollars"]
        buy(c, t, price, "2.00")
        buy(c, t, price, "3.00", subaccount=1)
        res = pull(c, lake, list(PORTFOLIO_STREAMS), Selection())
        assert res.ok, [(s.stream, s.error) for s in res.streams]
        pos = {(r["subaccount_number"], r["ticker"]): r["position_fp"] for r in table("positions")}
        assert pos == {(0, t): Decimal("2.00"), (1, t): Decimal("3.00")}
        assert {r["subaccount_number"] for r in table("event_positions")} == {0, 1}
        bal = {r["subaccount_number"]: r["balance"] for r in table("balance")}
        sb = {r["subaccount_number"]: r["balance"] for r in table("subaccount_balances")}
        assert set(bal) == set(sb) == {0, 1}
        assert all(Decimal(bal[n]) / 100 == sb[n].quantize(Decimal("0.01"), "ROUND_DOWN") for n in bal)
        assert [
            (r["from_subaccount"], r["to_subaccount"], r["amount_cents"])
            for r in table("subaccount_transfers")
        ] == [(0, 1, 30_000)]
        assert sorted({r["subaccount_number"] for r in table("fills")}) == [0, 1]
        assert sorted(r["subaccount_number"] for r in table("orders")) == [0, 1]
        # both subaccounts settle the same market at the same time: two rows, told apart by subaccount_number
        ex.advance(8 * 86_400)
        res = pull(c, lake, ["settlements", "positions", "balance"], Selection())
        assert res.ok, [(s.stream, s.error) for s in res.streams]
        sett = sorted(
            (r["subaccount_number"], r["yes_count_fp"]) for r in table("settlements") if r["ticker"] == t
        )
        assert sett == [(0, Decimal("2.00")), (1, Decimal("3.00"))]
        # a second run lands no settlement twice
        assert pull(c, lake, ["settlements"], Selection()).ok
        assert len([r for r in table("settlements") if r["ticker"] == t]) == 2
