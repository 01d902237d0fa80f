"""fct_pnl, fct_pnl_daily, fct_pnl_reconciliation against P&L computed by hand.

Account `default`, fills in YES-equivalent terms (bid = buy YES at p, ask = sell YES at p = buy NO at 1 - p):

M1 binary, settles YES (value 1):
  f1 bid 10 @0.40 fee .17 | f2 ask 4 @0.55 fee .07 -> closes 4 of f1: 4 x .15 = 0.60
  f3 ask 10 @0.60 fee .17 -> closes 6 of f1: 6 x .20 = 1.20, then FLIPS: opens short 4 @0.60
  f4 bid 2 @0.50 fee .04 -> closes 2 of the short: 2 x .10 = 0.20; short 2 @0.60 goes into settlement
  settlement at 1: 2 x (.60 - 1) = -0.80 -> realized 1.20, fees 0.45, total 0.75, payout 0 (NO lost)
  (cash check: -4.00 + 2.20 + 3.60 - 1.60 + 1.00 + 0 = 1.20)
M2 scalar, settles at 0.37:
  f5 ask 5 @0.30 fee .08 | f6 bid 3 @0.20 fee .03 -> closes 3: 3 x .10 = 0.30; short 2 @0.30 into settlement:
  2 x (.30 - .37) = -0.14 -> realized 0.16, fees 0.11, total 0.05, payout 2 x .63 = 1.26 (revenue 126 cents)
M3 open, book mid (0.45 + (1 - 0.50)) / 2 = 0.475:
  f7 bid 3 @0.40 fee .06 | f8 bid 2 @0.44 fee .04 | f9 ask 4 @0.46 fee .07 -> closes 3 @.40 (.18) + 1 @.44 (.02)
  realized 0.20; open long 1 @0.44: cost 0.44, unrealized .035; fees .17; total 0.065; position +1
M4 open, double flip with a fractional count, market-snapshot mid (0.20 + 0.26) / 2 = 0.23:
  f10 ask 2.5 @0.30 fee .05 (short 2.5) | f11 bid 4 @0.25 fee .05 -> closes 2.5: 2.5 x .05 = 0.125, opens long 1.5
  f12 ask 1 @0.28 fee .02 -> closes 1: 0.03; open long 0.5 @0.25: cost 0.125, unrealized 0.5 x (.23-.25) = -0.01
  realized 0.155, fees 0.12, total 0.025, position +0.5
M5 open short, no market data at all: f13 ask 2 @0.70 fee .01 -> position -2, cost 2 x .30 = 0.60, no mark
"""

from __future__ import annotations

import random
from datetime import timedelta

import pyarrow as pa
import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, fill, market, write_stream

M1, M2, M3, M4, M5 = "KXA-26NOV20-M1", "KXA-26NOV20-M2", "KXB-26NOV20-M3", "KXB-26NOV20-M4", "KXC-26NOV20-M5"

FILLS = [
    fill("f1", M1, "bid", 10, "0.40", "0.17", 0),
    fill("f2", M1, "ask", 4, "0.55", "0.07", 10),
    fill("f3", M1, "ask", 10, "0.60", "0.17", 20),
    fill("f4", M1, "bid", 2, "0.50", "0.04", 30),
    fill("f5", M2, "ask", 5, "0.30", "0.08", 40),
    fill("f6", M2, "bid", 3, "0.20", "0.03", 50),
    fill("f7", M3, "bid", 3, "0.40", "0.06", 60),
    fill("f8", M3, "bid", 2, "0.44", "0.04", 70),
    fill("f9", M3, "ask", 4, "0.46", "0.07", 80),
    fill("f10", M4, "ask", "2.5", "0.30", "0.05", 90),
    fill("f11", M4, "bid", 4, "0.25", "0.05", 95),
    fill("f12", M4, "ask", 1, "0.28", "0.02", 97),
    fill("f13", M5, "ask", 2, "0.70", "0.01", 99),
]

EXPECTED = {  # ticker: (position, cost basis, realized, unrealized, fees, total, settled, payout)
    M1: ("0", "0", "1.20", "0", "0.45", "0.75", True, "0"),
    M2: ("0", "0", "0.16", "0", "0.11", "0.05", True, "1.26"),
    M3: ("1", "0.44", "0.20", "0.035", "0.17", "0.065", False, "0"),
    M4: ("0.5", "0.125", "0.155", "-0.01", "0.12", "0.025", False, "0"),
    M5: ("-2", "0.60", "0", "0", "0.01", "-0.01", False, "0"),
}


def write_pnl_lake(root, m3_realized="0.20"):
    fills = FILLS[:]
    random.Random(3).shuffle(fills)  # file order must not matter (the API returns newest first)
    write_stream(root, "fills", fills[:7], run_id="r1")
    write_stream(root, "fills", fills[5:], run_id="r2")  # overlap: fills loaded twice are deduplicated
    write_stream(
        root,
        "markets",
        [
            market(
                M1,
                "KXA-26NOV20",
                status="finalized",
                result="yes",
                settlement_value_dollars=D(1),
                settlement_ts=at(days=2),
            ),
            market(
                M2,
                "KXA-26NOV20",
                status="finalized",
                result="scalar",
                market_type="scalar",
                settlement_value_dollars=D("0.37"),
                settlement_ts=at(days=2),
            ),
            market(M3, "KXB-26NOV20", last_price_dollars=D("0.46")),
            market(
                M4,
                "KXB-26NOV20",
                yes_bid_dollars=D("0.20"),
                yes_bid_size_fp=D(10),
                yes_ask_dollars=D("0.26"),
                yes_ask_size_fp=D(5),
                minutes=120,
            ),
        ],
    )
    write_stream(
        root,
        "orderbook_snapshots",
        book(M3, 100, yes=[("0.45", 10), ("0.44", 5)], no=[("0.50", 8), ("0.49", 2)]),
    )
    write_stream(
        root,
        "settlements",
        [
            {
                "ticker": M1,
                "event_ticker": "KXA-26NOV20",
                "market_result": "yes",
                "yes_count_fp": D(0),
                "no_count_fp": D(2),
                "revenue": 0,
                "value": 100,
                "settled_time": at(days=2),
                "fee_cost": D("0.45"),
            },
            {
                "ticker": M2,
                "event_ticker": "KXA-26NOV20",
                "market_result": "scalar",
                "yes_count_fp": D(0),
                "no_count_fp": D(2),
                "revenue": 126,
                "value": 37,
                "settled_time": at(days=2),
                "fee_cost": D("0.11"),
            },
        ],
    )
    write_stream(
        root,
        "positions",
        [
            {
                "ticker": M3,
                "position_fp": D(1),
                "market_exposure_dollars": D("0.44"),
                "realized_pnl_dollars": D(m3_realized),
                "fees_paid_dollars": D("0.17"),
                "snapshot_ts": at(200),
            },
            {
                "ticker": M1,
                "position_fp": D(0),
                "market_exposure_dollars": D(0),
                "realized_pnl_dollars": D("1.20"),
                "fees_paid_dollars": D("0.45"),
                "snapshot_ts": at(days=3),
            },
            # a snapshot older than the last fill is not comparable (M4's last fill is at minute 97)
            {
                "ticker": M4,
                "position_fp": D("-2.5"),
                "market_exposure_dollars": D("1.75"),
                "realized_pnl_dollars": D(0),
                "fees_paid_dollars": D("0.05"),
                "snapshot_ts": at(91),
            },
        ],
    )
    write_stream(
        root,
        "balance",
        [
            {"balance": 100_000, "portfolio_value": 250, "snapshot_ts": at(150)},
            {"balance": 99_000, "portfolio_value": 0, "snapshot_ts": at(10)},
        ],
    )


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("pnl") / "lake"
    write_pnl_lake(root)
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def test_fct_pnl_matches_hand_computed_rows(con):
    rows = con.execute(
        "select ticker, position_fp, cost_basis_dollars, realized_pnl_dollars, unrealized_pnl_dollars, "
        "fees_dollars, total_pnl_dollars, settled, payout_dollars from fct_pnl where account = 'default'"
    ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    assert set(got) == set(EXPECTED)
    for ticker, exp in EXPECTED.items():
        want = tuple(D(x) if isinstance(x, str) else x for x in exp)
        assert got[ticker] == want, ticker


def test_fct_pnl_metadata_and_marks(con):
    rows = dict(
        (r[0], r[1:])
        for r in con.execute(
            "select ticker, event_ticker, series_ticker, settlement_value_dollars, mark_price_dollars, mark_source, "
            "settled_position_fp, fill_count from fct_pnl"
        ).fetchall()
    )
    assert rows[M1] == ("KXA-26NOV20", "KXA", D(1), None, None, D(-2), 4)
    assert rows[M2][2] == D("0.37") and rows[M2][5] == D(-2)  # scalar settlement value
    assert rows[M3][2:5] == (None, D("0.475"), "mid")  # the order-book mid
    assert rows[M4][3:5] == (D("0.23"), "mid")  # the market-snapshot mid
    assert rows[M5][0:5] == (None, None, None, None, "none")  # no market data: no mark, unrealized 0


def test_fifo_lots_for_the_flip(con):
    lots = con.execute(
        "select lot_state, quantity_fp, buy_fill_id, buy_price_dollars, sell_fill_id, sell_price_dollars, "
        "closed_pnl_dollars from int_pnl_lots where ticker = ? order by lot_start_fp",
        [M1],
    ).fetchall()
    assert lots == [
        ("closed", D(4), "f1", D("0.40"), "f2", D("0.55"), D("0.60")),
        ("closed", D(6), "f1", D("0.40"), "f3", D("0.60"), D("1.20")),
        ("closed", D(2), "f4", D("0.50"), "f3", D("0.60"), D("0.20")),
        ("open_short", D(2), None, None, "f3", D("0.60"), None),
    ]


def test_fct_pnl_daily(con):
    """Open at the end of both days: M3 long 1 @.44 (mid .475: +.035), M4 long .5 @.25 (mid .23: -.01); M1, M2
    (open short into the 11-22 settlement) and M5 have no mid: not marked. mtm = cumulative net + .025, and on the
    last day it equals the sum of fct_pnl's totals (0.88)."""
    rows = con.execute(
        "select pnl_date::varchar, fill_count, realized_pnl_dollars, fees_dollars, net_pnl_dollars, "
        "cumulative_net_pnl_dollars, unrealized_pnl_dollars, mtm_pnl_dollars, equity_dollars "
        "from fct_pnl_daily order by pnl_date"
    ).fetchall()
    assert rows == [
        (
            "2026-11-20",
            13,
            D("2.655"),
            D("0.86"),
            D("1.795"),
            D("1.795"),
            D("0.025"),
            D("1.82"),
            D("1002.50"),
        ),
        # 11-21 has no activity: a row all the same (the equity curve needs every day)
        ("2026-11-21", 0, D(0), D(0), D(0), D("1.795"), D("0.025"), D("1.82"), None),
        ("2026-11-22", 0, D("-0.94"), D(0), D("-0.94"), D("0.855"), D("0.025"), D("0.88"), None),
    ]
    assert con.execute("select sum(total_pnl_dollars) from fct_pnl").fetchone() == (D("0.88"),)


def test_reconciliation_is_zero_where_comparable(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, positions_comparable, realized_pnl_diff_dollars, fees_diff_dollars, position_diff_fp, "
            "cost_basis_diff_dollars, payout_diff_dollars from fct_pnl_reconciliation"
        ).fetchall()
    }
    assert rows[M3] == (True, D(0), D(0), D(0), D(0), None)
    assert rows[M1] == (True, D(0), D(0), D(0), D(0), D(0))
    assert rows[M2][0] is False and rows[M2][5] == D(0)  # settlement only: payout 1.26 == 126 cents
    assert rows[M4][0] is False  # stale snapshot: not compared


def test_reconciliation_check_fails_and_names_rows(tmp_path):
    root = tmp_path / "lake"
    write_pnl_lake(root, m3_realized="0.21")
    con = warehouse.build_in_memory(root)  # builds; checks only on request
    result = warehouse.build_on(con, str(root))
    assert not result.ok
    [failure] = result.failures
    assert failure.name == "test_pnl_reconciliation_zero"
    assert failure.failing_rows == 1 and failure.rows[0][1] == M3
    text = str(failure)
    assert "test_pnl_reconciliation_zero" in text and M3 in text and "-0.010000" in text
    with pytest.raises(warehouse.WarehouseError, match="test_pnl_reconciliation_zero"):
        result.raise_for_failures()


def test_money_columns_are_decimal_everywhere(con):
    """Every money / count / probability column of every model (marts, staging views, sources) is DECIMAL."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and (column_name like '%_dollars' or column_name like '%_fp' "
        "or column_name in ('fee_cost', 'fee_multiplier', 'implied_probability', 'outcome', 'brier_score', "
        "'realized_frequency', 'mean_implied_probability', 'squared_error', 'bucket_low', 'bucket_high'))"
    ).fetchall()
    marts = {r[0] for r in rows if r[0].startswith(("fct_", "dim_", "int_"))}
    assert {"fct_pnl", "fct_pnl_daily", "fct_pnl_reconciliation", "fct_spreads", "fct_spreads_daily"} <= marts
    assert {"fct_effective_spreads", "fct_market_daily", "dim_markets", "fct_calibration"} <= marts
    assert len(rows) > 150
    bad = [r for r in rows if not r[2].startswith("DECIMAL")]
    assert bad == []
    cents = con.execute(
        "select distinct data_type from information_schema.columns "
        "where column_name in ('revenue', 'value', 'balance', 'portfolio_value', 'exchange_revenue_cents') "
        # SubaccountBalance.balance is FixedPointDollars in the spec: the lake keeps the API's name and type,
        # staging renames it balance_dollars
        "and table_name <> 'src_subaccount_balances'"
    ).fetchall()
    assert cents == [("BIGINT",)]  # integer cents stay integers


def test_same_instant_sweep_is_matched_in_price_priority_and_accounts_are_separate(tmp_path):
    """A taker buy sweeping asks at one instant fills .40 before .41 (whatever the fill ids say); a later
    sell of 2 @.50 closes the .40 lot: realized 2 x .10 = 0.20, open 2 @.41. Account `b` trades the same market
    the other way and is computed on its own: short 3 @.60 then buys 1 @.55 -> realized .05, short 2 open."""
    root = tmp_path / "lake"
    fills = [
        fill("s2", "SW", "bid", 2, "0.40", "0.01", 0),
        fill("s1", "SW", "bid", 2, "0.41", "0.01", 0),
        fill("s3", "SW", "ask", 2, "0.50", "0.01", 5),
        # our maker bids hit by one seller at one instant: highest bid first (.45 then .44)
        fill("m1", "SW2", "bid", 1, "0.44", "0", 0, is_taker=False),
        fill("m2", "SW2", "bid", 1, "0.45", "0", 0, is_taker=False),
        fill("m3", "SW2", "ask", 1, "0.50", "0", 5),
        fill("b1", "SW", "ask", 3, "0.60", "0.02", 1, account="b"),
        fill("b2", "SW", "bid", 1, "0.55", "0.01", 2, account="b"),
    ]
    write_stream(root, "fills", fills)
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select account, ticker, realized_pnl_dollars, position_fp, cost_basis_dollars from fct_pnl"
        ).fetchall()
    }
    assert rows[("default", "SW")] == (D("0.20"), D(2), D("0.82"))
    assert rows[("default", "SW2")] == (D("0.05"), D(1), D("0.44"))
    assert rows[("b", "SW")] == (D("0.05"), D(-2), D("0.80"))


def test_determined_market_is_marked_at_its_value_and_positions_compare_on_exchange_clock(tmp_path):
    """DT is determined YES (not yet paid): long 4 @.30 stays open, marked at 1 -> unrealized 2.80, not settled.
    The positions snapshot was taken (local clock) BEFORE the fill time but the exchange says it last updated the
    position at the fill: comparable, and equal. A second position row (XX) updated after our last fill, with a
    realized P&L we cannot explain (fills missing from the lake), must be flagged."""
    root = tmp_path / "lake"
    write_stream(
        root,
        "fills",
        [fill("d1", "DT", "bid", 4, "0.30", "0.05", 10), fill("x1", "XX", "bid", 1, "0.5", "0", 5)],
    )
    write_stream(
        root,
        "markets",
        [market("DT", "EV-DT", status="determined", result="yes", settlement_value_dollars=D(1))],
    )
    write_stream(
        root,
        "positions",
        [
            {
                "ticker": "DT",
                "position_fp": D(4),
                "market_exposure_dollars": D("1.20"),
                "realized_pnl_dollars": D(0),
                "fees_paid_dollars": D("0.05"),
                "last_updated_ts": at(10),
                "snapshot_ts": at(1),
            },
            {
                "ticker": "XX",
                "position_fp": D(0),
                "market_exposure_dollars": D(0),
                "realized_pnl_dollars": D("0.10"),
                "fees_paid_dollars": D(0),
                "last_updated_ts": at(30),
                "snapshot_ts": at(1),
            },
        ],
    )
    con = warehouse.build_in_memory(root)
    assert con.execute(
        "select settled, position_fp, unrealized_pnl_dollars, mark_price_dollars, mark_source from fct_pnl "
        "where ticker = 'DT'"
    ).fetchone() == (False, D(4), D("2.80"), D(1), "settlement_value")
    rec = dict(
        (r[0], r[1:])
        for r in con.execute(
            "select ticker, positions_comparable, realized_pnl_diff_dollars, position_diff_fp "
            "from fct_pnl_reconciliation"
        ).fetchall()
    )
    assert rec["DT"] == (True, D(0), D(0))
    assert rec["XX"] == (True, D("-0.10"), D(1))
    result = warehouse.build_on(con, str(root))
    assert [(f.name, [r[1] for r in f.rows]) for f in result.failures] == [
        ("test_pnl_reconciliation_zero", ["XX"])
    ]


def test_older_fills_without_book_side(tmp_path):
    """book_side missing: outcome_side decides (yes = bid); both missing: the legacy side/action (sell yes = ask).
    Buy 4 @.30 then sell 1 @.40: position 3, realized .10."""
    root = tmp_path / "lake"
    write_stream(
        root,
        "fills",
        [
            {**fill("o1", "OLD", "bid", 4, "0.30", "0", 0, side=None, action=None), "book_side": None},
            {
                **fill("o2", "OLD", "ask", 1, "0.40", "0", 1, side="yes", action="sell"),
                "book_side": None,
                "outcome_side": None,
            },
        ],
        extra_columns={"side": pa.string(), "action": pa.string()},
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute("select book_side from stg_fills order by fill_id").fetchall() == [("bid",), ("ask",)]
    assert con.execute("select position_fp, realized_pnl_dollars from fct_pnl").fetchone() == (
        D(3),
        D("0.10"),
    )


def test_a_settlement_without_fills_is_booked_from_the_record(tmp_path):
    """Kalshi's documented settlement sample: 10 YES costing 5.60 pay 1000 cents, fee 0.34 -> realized 4.40,
    total 4.06, pnl_source 'settlement'. A market with fills in the same lake keeps pnl_source 'fills'."""
    root = tmp_path / "lake"
    write_stream(root, "fills", [fill("a1", "HASFILLS", "bid", 1, "0.50", "0.01", 0)])
    write_stream(
        root,
        "settlements",
        [
            {
                "ticker": "HIGHNY-24JAN02-T55",
                "event_ticker": "HIGHNY-24JAN02",
                "market_result": "yes",
                "yes_count_fp": D(10),
                "yes_total_cost_dollars": D("5.60"),
                "no_count_fp": D(0),
                "no_total_cost_dollars": D(0),
                "revenue": 1000,
                "value": 100,
                "fee_cost": D("0.34"),
                "settled_time": at(days=1),
            },
        ],
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, pnl_source, series_ticker, settled_position_fp, realized_pnl_dollars, fees_dollars, "
            "total_pnl_dollars, payout_dollars, settlement_value_dollars from fct_pnl"
        ).fetchall()
    }
    assert rows["HIGHNY-24JAN02-T55"] == (
        "settlement",
        "HIGHNY",
        D(10),
        D("4.40"),
        D("0.34"),
        D("4.06"),
        D(10),
        D(1),
    )
    assert rows["HASFILLS"][0] == "fills"
    daily = con.execute(
        "select pnl_date::varchar, realized_pnl_dollars, fees_dollars from fct_pnl_daily order by 1"
    ).fetchall()
    assert daily == [("2026-11-20", D(0), D("0.01")), ("2026-11-21", D("4.40"), D("0.34"))]


def test_settled_time_is_null_until_the_market_is_settled(tmp_path):
    """An open market (close_time in 5 days) and a determined-but-unpaid market carry no settled_time, even though
    both have a close_time; a finalized market without a settlement record settles at its settlement_ts, one with
    neither settlement_ts nor record at its close_time; a settlement record's settled_time wins."""
    root = tmp_path / "lake"
    write_stream(
        root,
        "fills",
        [
            fill("o1", "OPEN", "bid", 1, "0.50", "0", 0),
            fill("d1", "DET", "bid", 1, "0.50", "0", 0),
            fill("f1", "FIN", "bid", 1, "0.50", "0", 0),
            fill("c1", "FINC", "bid", 1, "0.50", "0", 0),
            fill("r1", "REC", "bid", 1, "0.50", "0", 0),
        ],
    )
    write_stream(
        root,
        "markets",
        [
            market("OPEN", "EV-O"),
            market("DET", "EV-D", status="determined", result="yes", settlement_value_dollars=D(1)),
            market("FIN", "EV-F", status="finalized", result="no", settlement_ts=at(days=2)),
            market("FINC", "EV-C", status="finalized", result="yes"),
            market("REC", "EV-R", status="determined", result="yes", settlement_ts=at(days=3)),
        ],
    )
    write_stream(
        root,
        "settlements",
        [
            {
                "ticker": "REC",
                "event_ticker": "EV-R",
                "market_result": "yes",
                "yes_count_fp": D(1),
                "yes_total_cost_dollars": D("0.50"),
                "no_count_fp": D(0),
                "no_total_cost_dollars": D(0),
                "revenue": 100,
                "value": 100,
                "fee_cost": D(0),
                "settled_time": at(days=1),
            }
        ],
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = {r[0]: r[1:] for r in con.execute("select ticker, settled, settled_time from fct_pnl").fetchall()}
    assert rows == {
        "OPEN": (False, None),
        "DET": (False, None),
        "FIN": (True, at(days=2)),
        "FINC": (True, at(days=5)),
        "REC": (True, at(days=1)),
    }
    assert con.execute(
        "select count(*) from int_pnl_settlements where not settled and settled_time is not null"
    ).fetchone() == (0,)


def test_positions_snapshot_in_the_same_second_as_the_last_fill(tmp_path):
    """snapshot_ts has whole-second resolution (the exchange's Date header). Each market: buy 1 @.50 (ours: +1).
    SAME0: fill at 12:00:00.000, snapshot 12:00:00 without the fill (position 0): ambiguous second, positions
      differ -> not compared (a plain `>=` compared it and failed falsely).
    SAME7: fill at 12:00:00.700, snapshot 12:00:00 that already has it (position 1): ambiguous second, positions
      equal -> compared, zero differences (a plain `>=` skipped it).
    NEXT: fill at 12:00:00.700, snapshot 12:00:01 with realized .05 we cannot explain -> compared, flagged.
    EARLY: fill at 12:00:01.200, snapshot 12:00:00 with position 1 -> an earlier second is never compared."""
    ms = timedelta(milliseconds=1)
    root = tmp_path / "lake"
    write_stream(
        root,
        "fills",
        [
            fill("a", "SAME0", "bid", 1, "0.50", "0", 0),
            fill("b", "SAME7", "bid", 1, "0.50", "0", 0, created_time=at(0) + 700 * ms),
            fill("c", "NEXT", "bid", 1, "0.50", "0", 0, created_time=at(0) + 700 * ms),
            fill("d", "EARLY", "bid", 1, "0.50", "0", 0, created_time=at(0) + 1200 * ms),
        ],
    )

    def position(ticker, pos, realized, snapshot):
        return {
            "ticker": ticker,
            "position_fp": D(pos),
            "market_exposure_dollars": D("0.50") * pos,
            "realized_pnl_dollars": D(realized),
            "fees_paid_dollars": D(0),
            "snapshot_ts": snapshot,
        }

    write_stream(
        root,
        "positions",
        [
            position("SAME0", 0, "0", at(0)),
            position("SAME7", 1, "0", at(0)),
            position("NEXT", 1, "0.05", at(0) + 1000 * ms),
            position("EARLY", 1, "0", at(0)),
        ],
    )
    con = warehouse.build_in_memory(root)
    rec = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, positions_comparable, position_diff_fp, realized_pnl_diff_dollars "
            "from fct_pnl_reconciliation"
        ).fetchall()
    }
    assert rec == {
        "SAME0": (False, D(1), D(0)),
        "SAME7": (True, D(0), D(0)),
        "NEXT": (True, D(0), D("-0.05")),
        "EARLY": (False, D(0), D(0)),
    }
    result = warehouse.build_on(con, str(root))
    assert [(f.name, [r[1] for r in f.rows]) for f in result.failures] == [
        ("test_pnl_reconciliation_zero", ["NEXT"])
    ]


def test_fills_in_other_subaccounts_are_not_compared_against_subaccount_0_positions(tmp_path):
    """Positions snapshots are subaccount 0; fills cover all subaccounts. SUB: subaccount 0 buys 2 @.40, subaccount
    2 buys 3 @.50 -> fct_pnl holds 5 over both, the snapshot (position 2, exposure .80) is subaccount 0 alone: not
    compared, with a note (comparing would flag a position difference of 3). ZERO: only subaccount-0 fills (and one
    without subaccount_number) -> compared, equal."""
    root = tmp_path / "lake"
    write_stream(
        root,
        "fills",
        [
            fill("s0", "SUB", "bid", 2, "0.40", "0", 0, subaccount_number=0),
            fill("s2", "SUB", "bid", 3, "0.50", "0", 1, subaccount_number=2),
            fill("z0", "ZERO", "bid", 1, "0.30", "0", 0, subaccount_number=0),
            fill("zn", "ZERO", "bid", 1, "0.30", "0", 1),
        ],
        extra_columns={"subaccount_number": pa.int64()},
    )

    def position(ticker, pos, exposure):
        return {
            "ticker": ticker,
            "position_fp": D(pos),
            "market_exposure_dollars": D(exposure),
            "realized_pnl_dollars": D(0),
            "fees_paid_dollars": D(0),
            "snapshot_ts": at(10),
        }

    write_stream(root, "positions", [position("SUB", 2, "0.80"), position("ZERO", 2, "0.60")])
    con = warehouse.build_in_memory(root, run_tests=True)  # the zero-difference check passes
    rec = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, positions_comparable, has_other_subaccount_fills, positions_note, position_diff_fp, "
            "payout_diff_dollars from fct_pnl_reconciliation"
        ).fetchall()
    }
    note = "fills in subaccounts other than 0; positions cover subaccount 0 only"
    assert rec["SUB"] == (False, True, note, D(3), None)
    assert rec["ZERO"] == (True, False, None, D(0), None)


def test_a_difference_only_lot_matching_explains_is_reported_not_failed(tmp_path):
    """LM: buy 1 @.40, buy 1 @.60, sell 1 @.70. FIFO: realized .30, open 1 @.60 (cost .60). An exchange matching by
    average cost reports realized .20, exposure .50: realized and cost basis differ by .10 each, net cash
    (realized - cost basis = -.30) agrees -> 'lot_matching', the build passes. BAD: same fills, the exchange's realized
    .25 with exposure .50 -> net cash -.30 vs -.25: differs by -.05: 'mismatch', the build check fails. OK: tiny fractional
    difference 0.00005 (within tolerance 0.0001) -> 'match'."""
    root = tmp_path / "lake"
    fills = []
    for t in ("LM", "BAD"):
        fills += [
            fill(f"{t}1", t, "bid", 1, "0.40", "0", 0),
            fill(f"{t}2", t, "bid", 1, "0.60", "0", 1),
            fill(f"{t}3", t, "ask", 1, "0.70", "0", 2),
        ]
    fills.append(fill("ok1", "OK", "bid", "2.5", "0.4567", "0", 0))
    fills.append(fill("ok2", "OK", "ask", "1.5", "0.50", "0", 1))  # realized 1.5 x .0433 = 0.06495
    write_stream(root, "fills", fills)

    def position(ticker, pos, exposure, realized):
        return {
            "ticker": ticker,
            "position_fp": D(pos),
            "market_exposure_dollars": D(exposure),
            "realized_pnl_dollars": D(realized),
            "fees_paid_dollars": D(0),
            "snapshot_ts": at(10),
        }

    write_stream(
        root,
        "positions",
        [
            position("LM", 1, "0.50", "0.20"),
            position("BAD", 1, "0.50", "0.25"),
            position("OK", 1, "0.4567", "0.065"),
        ],
    )
    con = warehouse.build_in_memory(root)
    rec = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, positions_check, realized_pnl_diff_dollars, cost_basis_diff_dollars, "
            "net_cash_diff_dollars, tolerance_dollars from fct_pnl_reconciliation"
        ).fetchall()
    }
    assert rec["LM"] == ("lot_matching", D("0.10"), D("0.10"), D(0), D("0.0001"))
    assert rec["BAD"] == ("mismatch", D("0.05"), D("0.10"), D("-0.05"), D("0.0001"))
    assert rec["OK"] == ("match", D("-0.00005"), D(0), D("-0.00005"), D("0.0001"))
    result = warehouse.build_on(con, str(root))
    assert [(f.name, [r[1] for r in f.rows]) for f in result.failures] == [
        ("test_pnl_reconciliation_zero", ["BAD"])
    ]


def test_two_subaccounts_trading_the_same_ticker_are_separate_books(tmp_path):
    """Each subaccount is its own book. TWO: subaccount 0 buys 2 @.40 (t0); subaccount 1 buys 2 @.50 (t1) and
    sells 2 @.55 (t2). Per subaccount: subaccount 1 closes its own lot, realized 2 x .05 = 0.10; subaccount 0 keeps
    2 open @.40 (cost .80). (FIFO across subaccounts would close the .40 lot instead: realized .30, open cost 1.00.)
    SO: both subaccounts hold a settled market with no fills, settled at the same time: subaccount 0 1 YES costing
    .30 paid 100 cents, subaccount 1 2 YES costing .70 paid 200 cents (fee .01 each) -> the account's row sums
    both: settled 3, realized 3.00 - 1.00 = 2.00, fees .02. Before settlements were keyed by subaccount one of the
    two records was dropped. fct_pnl_subaccounts has each subaccount's own row (SO: 1.00 - .30 = .70 and
    2.00 - .70 = 1.30); fct_pnl is their sum."""
    root = tmp_path / "lake"
    write_stream(
        root,
        "fills",
        [
            fill("t0", "TWO", "bid", 2, "0.40", "0", 0, subaccount_number=0),
            fill("t1", "TWO", "bid", 2, "0.50", "0", 1, subaccount_number=1),
            fill("t2", "TWO", "ask", 2, "0.55", "0", 2, subaccount_number=1),
        ],
        extra_columns={"subaccount_number": pa.int64()},
    )

    def settlement(sub, count, cost, revenue):
        return {
            "ticker": "SO",
            "event_ticker": "SO-EV",
            "market_result": "yes",
            "yes_count_fp": D(count),
            "yes_total_cost_dollars": D(cost),
            "no_count_fp": D(0),
            "no_total_cost_dollars": D(0),
            "revenue": revenue,
            "value": 100,
            "fee_cost": D("0.01"),
            "settled_time": at(days=1),
            "subaccount_number": sub,
        }

    write_stream(
        root,
        "settlements",
        [settlement(0, 1, "0.30", 100), settlement(1, 2, "0.70", 200)],
        extra_columns={"subaccount_number": pa.int64()},
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    lots = con.execute(
        "select subaccount_number, lot_state, quantity_fp, buy_price_dollars, sell_price_dollars, closed_pnl_dollars "
        "from int_pnl_lots where ticker = 'TWO' order by subaccount_number, lot_start_fp"
    ).fetchall()
    assert lots == [
        (0, "open_long", D(2), D("0.40"), None, None),
        (1, "closed", D(2), D("0.50"), D("0.55"), D("0.10")),
    ]
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, realized_pnl_dollars, position_fp, cost_basis_dollars, settled_position_fp, fees_dollars "
            "from fct_pnl"
        ).fetchall()
    }
    assert rows["TWO"][:3] == (D("0.10"), D(2), D("0.80"))
    assert rows["SO"][0] == D("2.00") and rows["SO"][3:] == (D(3), D("0.02"))
    assert con.execute("select count(*) from stg_settlements where ticker = 'SO'").fetchone() == (2,)
    subs = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select subaccount_number, ticker, realized_pnl_dollars, position_fp, cost_basis_dollars, "
            "settled_position_fp, fees_dollars, pnl_source from fct_pnl_subaccounts"
        ).fetchall()
    }
    assert subs == {
        (0, "TWO"): (D(0), D(2), D("0.80"), D(0), D(0), "fills"),
        (1, "TWO"): (D("0.10"), D(0), D(0), D(0), D(0), "fills"),
        (0, "SO"): (D("0.70"), D(0), D(0), D(1), D("0.01"), "settlement"),
        (1, "SO"): (D("1.30"), D(0), D(0), D(2), D("0.01"), "settlement"),
    }
