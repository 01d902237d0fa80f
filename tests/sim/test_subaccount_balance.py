"""fct_balance_reconciliation per subaccount, end to end against the local exchange: two subaccounts, transfers
between them (spec v3.21 ApplySubaccountTransfer), a deposit (the primary account's) and buys in each; every
subaccount's day is explained to the cent, checked against numbers computed by hand."""

from __future__ import annotations

from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.plan import PORTFOLIO_STREAMS
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from tests.sim.test_subaccounts import buy, open_market

CENT = Decimal("0.01")
COLUMNS = (
    "subaccount_number reconciliation start_balance_dollars deposits_dollars withdrawals_dollars "
    "transfers_in_dollars transfers_out_dollars realized_pnl_dollars fees_dollars open_cost_change_dollars "
    "expected_balance_dollars balance_dollars difference_dollars assumed_subaccount_records pending_flows"
).split()


def test_each_subaccount_reconciles_with_transfers_as_flows(fresh_exchange, tmp_path):
    from kalshi_lake import warehouse

    ex = fresh_exchange
    acct = ex.create_account(balance_cents=100_000)  # $1,000.00 in the primary account
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path), KALSHI_ACCOUNT="a1"))
    lake = Lake.from_settings(settings)
    with KalshiClient(settings) as c:

        def run():
            res = pull(c, lake, list(PORTFOLIO_STREAMS), Selection())
            assert res.ok, [(s.stream, s.error) for s in res.streams]

        assert c.create_subaccount() == 1
        run()  # day 0: both anchors ($1,000.00 and $0.00)
        ex.advance(86_400)
        # day 1: $300.00 to subaccount 1, a $50.00 deposit (lands in 0), 2 bought in 0 and 3 in 1
        c.transfer_between_subaccounts(0, 1, 30_000)
        ex.cash_flow(acct.key_id, "deposit", 5_000)
        m = open_market(c)
        t, price = m["ticker"], Decimal(m["yes_ask_dollars"])
        buy(c, t, m["yes_ask_dollars"], "2.00")
        buy(c, t, m["yes_ask_dollars"], "3.00", subaccount=1)
        fills = list(c.get_fills(ticker=t))
        assert {Decimal(f["yes_price_dollars"]) for f in fills} == {price}  # one price level
        qty = {n: sum(Decimal(f["count_fp"]) for f in fills if f["subaccount_number"] == n) for n in (0, 1)}
        fee = {n: sum(Decimal(f["fee_cost"]) for f in fills if f["subaccount_number"] == n) for n in (0, 1)}
        assert qty == {0: Decimal("2.00"), 1: Decimal("3.00")}
        day1 = {n: c.get_balance(subaccount=n)["balance"] for n in (0, 1)}
        run()
        ex.advance(86_400)
        # day 2: $100.00 back from 1 to 0, nothing else (the market is still open)
        c.transfer_between_subaccounts(1, 0, 10_000)
        day2 = {n: c.get_balance(subaccount=n)["balance"] for n in (0, 1)}
        run()

    build = warehouse.build(settings)
    assert build.ok, str(build)
    con = warehouse.connect(str(settings.warehouse_path))
    rows = [
        dict(zip(COLUMNS, r, strict=True))
        for r in con.execute(
            f"select {', '.join(COLUMNS)} from fct_balance_reconciliation order by snapshot_ts, subaccount_number"
        ).fetchall()
    ]
    assert [(r["subaccount_number"], r["reconciliation"]) for r in rows[:2]] == [(0, "anchor"), (1, "anchor")]
    assert [r["balance_dollars"] for r in rows[:2]] == [Decimal("1000"), Decimal("0")]
    by = {(i // 2, r["subaccount_number"]): r for i, r in enumerate(rows)}
    assert len(rows) == 6 and len(by) == 6

    # day 1, by hand
    s0, s1 = by[1, 0], by[1, 1]
    exp0 = Decimal("1000") + Decimal("50") - Decimal("300") - fee[0] - qty[0] * price
    exp1 = Decimal("0") + Decimal("300") - fee[1] - qty[1] * price
    assert (s0["start_balance_dollars"], s0["deposits_dollars"], s0["transfers_in_dollars"]) == (
        Decimal("1000"),
        Decimal("50"),
        0,
    )
    assert (s0["transfers_out_dollars"], s0["fees_dollars"], s0["open_cost_change_dollars"]) == (
        Decimal("300"),
        fee[0],
        qty[0] * price,
    )
    assert (s1["start_balance_dollars"], s1["deposits_dollars"], s1["transfers_in_dollars"]) == (
        0,
        0,
        Decimal("300"),
    )
    assert (s1["transfers_out_dollars"], s1["fees_dollars"], s1["open_cost_change_dollars"]) == (
        0,
        fee[1],
        qty[1] * price,
    )
    for r, exp, n in ((s0, exp0, 0), (s1, exp1, 1)):
        assert r["expected_balance_dollars"] == exp
        assert r["balance_dollars"] == Decimal(day1[n]) / 100 == exp.quantize(CENT, rounding="ROUND_FLOOR")
        assert r["difference_dollars"] == r["balance_dollars"] - exp
        assert r["reconciliation"] == ("match" if r["difference_dollars"] == 0 else "cent_rounding")
        assert (r["realized_pnl_dollars"], r["assumed_subaccount_records"], r["withdrawals_dollars"]) == (
            0,
            0,
            0,
        )

    # day 2: the transfer alone; start = day 1's balance as shown (whole cents), so it matches exactly
    s0, s1 = by[2, 0], by[2, 1]
    assert (s0["transfers_in_dollars"], s0["transfers_out_dollars"]) == (Decimal("100"), 0)
    assert (s1["transfers_in_dollars"], s1["transfers_out_dollars"]) == (0, Decimal("100"))
    assert s0["expected_balance_dollars"] == Decimal(day1[0]) / 100 + 100 == Decimal(day2[0]) / 100
    assert s1["expected_balance_dollars"] == Decimal(day1[1]) / 100 - 100 == Decimal(day2[1]) / 100
    assert [r["reconciliation"] for r in (s0, s1)] == ["match", "match"]
    assert all(r["pending_flows"] == 0 for r in rows)
