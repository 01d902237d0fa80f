"""Maker/taker fee split and P&L attribution per market (entry edge, price move, unattributed, fees), by hand.

Market A1 (binary, settles YES: value 1), account default, all on 2026-11-20:
  12:00    book yes .48 / no .48 -> ask .52, mid .50
  12:00:30 a1 buy 2 YES @.45, maker (fee .01): mid .50, 30 s old -> edge 2 x (.50 - .45) = .10
  12:10    book yes .58 / no .38 -> ask .62, mid .60
  12:10:30 a2 sell 1 @.62, taker (fee .02): mid .60, 30 s old -> edge -1 x (.60 - .62) = .02
  12:30    a3 buy 1 @.70, taker (fee .03): the latest quote is 20 min old -> 'stale' (limit 60 s), no edge
FIFO lots: (0,1] a1 -> a2 closed: P&L .17 = edge (.50 - .45) + (.62 - .60) = .07, move .60 - .50 = .10
           (1,2] a1 open long, settled at 1: P&L .55 = edge .05 + move 1 - .50 = .50
           (2,3] a3 open long, settled at 1: P&L .30, unattributed (its fill had no fresh mid; not an edge of 0)
  -> edge .12, move .60, unattributed .30, fees .06 = maker .01 + taker .05; total .96 = fct_pnl's 1.02 - .06.
With max_mid_age_seconds = 1200 the 20-min-old mid is fresh for a3: edge 1 x (.60 - .70) = -.10, move 1 - .60 =
  .40 -> edge .02, move 1.00, unattributed 0; the total is unchanged.
Market C1 (active, an empty market snapshot at 12:00, no trade or price): c1 buy 1 @.30 at 12:40 with is_taker
  unknown (fee .01) -> fee 'other'; its mid is 'one_sided' (the 40-min-old snapshot); the open lot has no mark
  (unmarked_lots 1), P&L 0 - .01.
Market B1: a settlement record only (revenue 100 on 1 YES that cost .40, fee .01): realized .60 unattributed whole.
"""

from __future__ import annotations

import duckdb
import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, fill, market, write_stream


def write_lake(root):
    write_stream(
        root,
        "fills",
        [
            fill("a1", "A1", "bid", 2, "0.45", "0.01", 0.5, is_taker=False),
            fill("a2", "A1", "ask", 1, "0.62", "0.02", 10.5),
            fill("a3", "A1", "bid", 1, "0.70", "0.03", 30),
            fill("c1", "C1", "bid", 1, "0.30", "0.01", 40, is_taker=None),
        ],
    )
    write_stream(
        root,
        "orderbook_snapshots",
        book("A1", 0, yes=[("0.48", 5)], no=[("0.48", 5)])
        + book("A1", 10, yes=[("0.58", 5)], no=[("0.38", 5)]),
    )
    write_stream(
        root,
        "markets",
        [
            market(
                "A1",
                "EV-A1",
                status="finalized",
                result="yes",
                settlement_value_dollars=D(1),
                settlement_ts=at(days=2),
            ),
            market("C1", "EV-C1"),
        ],
    )
    write_stream(
        root,
        "settlements",
        [
            {
                "ticker": "B1",
                "event_ticker": "EV-B1",
                "market_result": "yes",
                "yes_count_fp": D(1),
                "yes_total_cost_dollars": D("0.40"),
                "no_count_fp": D(0),
                "no_total_cost_dollars": D(0),
                "revenue": 100,
                "value": 100,
                "settled_time": at(days=2),
                "fee_cost": D("0.01"),
            }
        ],
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("attr") / "lake"
    write_lake(root)
    return root


@pytest.fixture(scope="module")
def con(root):
    c = warehouse.build_in_memory(root, run_tests=True)  # the identity and fee-split checks pass
    yield c
    c.close()


def attribution(con, ticker):
    return con.execute(
        "select entry_edge_dollars, price_move_dollars, unattributed_pnl_dollars, fees_dollars, total_pnl_dollars, "
        "attributed_lots, unattributed_lots, unmarked_lots, fills_with_fresh_mid, fills_without_fresh_mid, "
        "mid_sources, max_mid_age_seconds from fct_pnl_attribution where ticker = ?",
        [ticker],
    ).fetchone()


def test_fees_split_by_maker_and_taker(con):
    assert con.execute(
        "select ticker, fee_date::varchar, maker_fill_count, taker_fill_count, unknown_liquidity_fill_count, "
        "maker_contracts_fp, taker_contracts_fp, maker_fees_dollars, taker_fees_dollars, other_fees_dollars, "
        "fees_dollars from fct_fees_daily order by ticker"
    ).fetchall() == [
        ("A1", "2026-11-20", 1, 2, 0, D(2), D(2), D("0.01"), D("0.05"), D(0), D("0.06")),
        ("B1", "2026-11-22", 0, 0, 0, D(0), D(0), D(0), D(0), D("0.01"), D("0.01")),
        ("C1", "2026-11-20", 0, 0, 1, D(0), D(0), D(0), D(0), D("0.01"), D("0.01")),
    ]
    assert con.execute(
        "select ticker, maker_fees_dollars, taker_fees_dollars, other_fees_dollars from fct_pnl order by ticker"
    ).fetchall() == [
        ("A1", D("0.01"), D("0.05"), D(0)),
        ("B1", D(0), D(0), D("0.01")),
        ("C1", D(0), D(0), D("0.01")),
    ]
    assert con.execute(
        "select pnl_date::varchar, maker_fees_dollars, taker_fees_dollars, other_fees_dollars, fees_dollars "
        "from fct_pnl_daily where fees_dollars <> 0 order by pnl_date"
    ).fetchall() == [
        ("2026-11-20", D("0.01"), D("0.05"), D("0.01"), D("0.07")),
        ("2026-11-22", D(0), D(0), D("0.01"), D("0.01")),
    ]


def test_fill_edges_state_the_mid_its_source_and_age(con):
    assert con.execute(
        "select fill_id, mid_status, mid_source, mid_age_seconds, mid_dollars, edge_per_contract_dollars, "
        "edge_dollars from fct_fill_edges order by fill_id"
    ).fetchall() == [
        ("a1", "matched", "orderbook", 30, D("0.50"), D("0.05"), D("0.10")),
        ("a2", "matched", "orderbook", 30, D("0.60"), D("0.02"), D("0.02")),
        ("a3", "stale", "orderbook", 1200, None, None, None),
        ("c1", "one_sided", "market", 2400, None, None, None),
    ]


def test_attribution_parts_sum_to_the_markets_pnl(con):
    assert attribution(con, "A1") == (
        D("0.12"),
        D("0.60"),
        D("0.30"),
        D("0.06"),
        D("0.96"),
        2,
        1,
        0,
        2,
        1,
        "orderbook",
        30,
    )
    assert con.execute("select total_pnl_dollars from fct_pnl where ticker = 'A1'").fetchone() == (D("0.96"),)
    assert attribution(con, "C1") == (D(0), D(0), D(0), D("0.01"), D("-0.01"), 0, 0, 1, 0, 1, None, None)
    assert attribution(con, "B1") == (D(0), D(0), D("0.60"), D("0.01"), D("0.59"), 0, 0, 0, 0, 0, None, None)


def test_max_mid_age_changes_which_fills_are_attributed(root):
    con = duckdb.connect(":memory:")
    con.execute("SET VARIABLE max_mid_age_seconds = 1200")
    result = warehouse.build_on(con, str(root))
    assert result.ok, result.failures
    assert attribution(con, "A1")[:7] == (D("0.02"), D("1.00"), D(0), D("0.06"), D("0.96"), 3, 0)
    assert con.execute(
        "select mid_status, edge_dollars from fct_fill_edges where fill_id = 'a3'"
    ).fetchone() == (
        "matched",
        D("-0.10"),
    )
