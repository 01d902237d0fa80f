"""Scalar settlements with fractional holdings and `void` settlements, computed by hand.

Kalshi pays a settlement rounded DOWN to whole cents per position and charges the remainder as a settlement fee
(docs market_settlement: 2.5 YES at a 0.4567 settlement is worth 1.14175 -> 1.14 paid, 0.00175 fee). The record's
`value` is whole cents per YES contract (46 here), so the exact value is the market's `settlement_value_dollars`.

SC1 scalar settling at 0.4567: buy 2.5 YES @0.40 (fee .02) -> realized 2.5 x (.4567 - .40) = 0.14175, payout
    1.14175 exact, 1.14 paid (revenue 114). Before the fix: value 46 -> realized 0.15 and the payout check failed
    by 0.01.
SC2 scalar settling at 0.37: buy 2.5 NO @0.37 (ask @0.63, fee .02) -> realized 2.5 x (.63 - .37) = 0.65, payout
    2.5 x .63 = 1.575, 1.57 paid (revenue 157). Before the fix the check failed by 0.005.
V1 void, settled: buy 3 YES @0.40 (fee .03), sell 1 @0.50 (fee .01) -> closed lot realized 0.10; the open 2 @0.40
    are returned at cost: payout 0.80 (revenue 80), realized on them 0 -> realized 0.10, total 0.06.
V2 void, settled: buy 2 NO @0.30 (ask @0.70, fee .02) -> returned at cost 2 x .30 = 0.60 (revenue 60); realized 0,
    total -0.02.
V3 void, determined, not yet paid, no record: buy 1 YES @0.30 -> not settled, unrealized 0 (it comes back at cost),
    mark_source 'void', no mark price.
"""

from __future__ import annotations

import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, fill, market, write_stream


def settlement(ticker, result, revenue, value, yes=0, yes_cost="0", no=0, no_cost="0"):
    return {
        "ticker": ticker,
        "event_ticker": "EV-" + ticker,
        "market_result": result,
        "yes_count_fp": D(yes),
        "yes_total_cost_dollars": D(yes_cost),
        "no_count_fp": D(no),
        "no_total_cost_dollars": D(no_cost),
        "revenue": revenue,
        "value": value,
        "settled_time": at(days=2),
        "fee_cost": D(0),
    }


def write_lake(root):
    write_stream(
        root,
        "fills",
        [
            fill("a1", "SC1", "bid", "2.5", "0.40", "0.02", 0),
            fill("b1", "SC2", "ask", "2.5", "0.63", "0.02", 0),
            fill("v1", "V1", "bid", 3, "0.40", "0.03", 0),
            fill("v2", "V1", "ask", 1, "0.50", "0.01", 5),
            fill("w1", "V2", "ask", 2, "0.70", "0.02", 0),
            fill("x1", "V3", "bid", 1, "0.30", "0", 0),
        ],
    )
    fin = {"status": "finalized", "settlement_ts": at(days=2)}
    write_stream(
        root,
        "markets",
        [
            market(
                "SC1",
                "EV-SC1",
                result="scalar",
                market_type="scalar",
                settlement_value_dollars=D("0.4567"),
                **fin,
            ),
            market(
                "SC2",
                "EV-SC2",
                result="scalar",
                market_type="scalar",
                settlement_value_dollars=D("0.37"),
                **fin,
            ),
            market("V1", "EV-V1", result="void", **fin),
            market("V2", "EV-V2", result="void", **fin),
            market("V3", "EV-V3", status="determined", result="void", last_price_dollars=D("0.90")),
        ],
    )
    write_stream(
        root,
        "settlements",
        [
            settlement("SC1", "scalar", 114, 46, yes="2.5", yes_cost="1.00"),
            settlement("SC2", "scalar", 157, 37, no="2.5", no_cost="0.925"),
            settlement("V1", "void", 80, None, yes=2, yes_cost="0.80"),
            settlement("V2", "void", 60, None, no=2, no_cost="0.60"),
        ],
    )


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("settle") / "lake"
    write_lake(root)
    c = warehouse.build_in_memory(root, run_tests=True)  # the build's checks pass on these cases
    yield c
    c.close()


def pnl(con):
    return {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, settled, settlement_value_dollars, position_fp, realized_pnl_dollars, "
            "unrealized_pnl_dollars, fees_dollars, total_pnl_dollars, payout_dollars from fct_pnl"
        ).fetchall()
    }


def test_fractional_scalar_uses_the_exact_settlement_value(con):
    rows = pnl(con)
    assert rows["SC1"] == (True, D("0.4567"), D(0), D("0.14175"), D(0), D("0.02"), D("0.12175"), D("1.14175"))
    assert rows["SC2"] == (True, D("0.37"), D(0), D("0.65"), D(0), D("0.02"), D("0.63"), D("1.575"))


def test_payout_is_compared_to_the_cent_rounded_down_as_kalshi_pays(con):
    rec = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, our_payout_dollars, our_payout_paid_dollars, payout_rounding_dollars, "
            "payout_diff_dollars from fct_pnl_reconciliation where in_settlements"
        ).fetchall()
    }
    assert rec["SC1"] == (D("1.14175"), D("1.14"), D("0.00175"), D(0))
    assert rec["SC2"] == (D("1.575"), D("1.57"), D("0.005"), D(0))
    assert rec["V1"] == (D("0.80"), D("0.80"), D(0), D(0))
    assert rec["V2"] == (D("0.60"), D("0.60"), D(0), D(0))


def test_void_returns_open_positions_at_cost(con):
    rows = pnl(con)
    assert rows["V1"] == (True, None, D(0), D("0.10"), D(0), D("0.04"), D("0.06"), D("0.80"))
    assert rows["V2"] == (True, None, D(0), D(0), D(0), D("0.02"), D("-0.02"), D("0.60"))
    assert rows["V3"][:6] == (False, None, D(1), D(0), D(0), D(0))
    assert con.execute(
        "select mark_price_dollars, mark_source from fct_pnl where ticker = 'V3'"
    ).fetchone() == (
        None,
        "void",
    )
    assert con.execute(
        "select ticker, is_void from int_pnl_settlements where ticker like 'V%' order by 1"
    ).fetchall() == [("V1", True), ("V2", True), ("V3", True)]


def test_daily_pnl_books_void_and_scalar_settlements(con):
    """Day 1 (11-20): V1's closed lot .10, fees .10. Day 3 (11-22): SC1 .14175 + SC2 .65 + voids 0."""
    rows = con.execute(
        "select pnl_date::varchar, realized_pnl_dollars, fees_dollars from fct_pnl_daily "
        "where realized_pnl_dollars <> 0 or fees_dollars <> 0 order by 1"
    ).fetchall()
    assert rows == [("2026-11-20", D("0.10"), D("0.10")), ("2026-11-22", D("0.79175"), D(0))]
