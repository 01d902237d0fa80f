"""fct_balance_reconciliation per subaccount on a hand-made lake: a settlement record stamped with its subaccount
is explained in that subaccount; one landed before settlements were pulled per subaccount (no subaccount_number,
taken as 0) leaves its interval 'not_comparable_subaccounts', since it may be another subaccount's."""

from __future__ import annotations

import pyarrow as pa

from kalshi_lake import warehouse

from .lakegen import D, at, write_stream

SUB = {"subaccount_number": pa.int64()}


def _settlement(ticker, revenue, cost, fee, subaccount_number):
    return {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_result": "yes",
        "yes_count_fp": D(revenue // 100),
        "yes_total_cost_dollars": D(cost),
        "no_count_fp": D(0),
        "no_total_cost_dollars": D(0),
        "revenue": revenue,
        "value": 100,
        "fee_cost": D(fee),
        "settled_time": at(days=0.5),
        "subaccount_number": subaccount_number,
    }


def test_settlement_records_reconcile_in_their_subaccount(tmp_path):
    root = tmp_path / "lake"
    write_stream(
        root,
        "balance",
        [
            {"balance": b, "snapshot_ts": at(days=d), "subaccount_number": n}
            for n, d, b in ((0, 0, 1_000_000), (0, 1, 1_000_100), (1, 0, 0), (1, 1, 490))
        ],
        extra_columns=SUB,
    )
    write_stream(
        root,
        "settlements",
        [
            # subaccount 1: 5 YES that cost $2.00 pay $5.00, fee $0.10 -> cash +4.90
            _settlement("KXA-26-T1", 500, "2.00", "0.10", 1),
            # landed before per-subaccount pulls: taken as subaccount 0's, +$1.00
            _settlement("KXB-26-T1", 100, "0.50", "0", None),
        ],
        extra_columns=SUB,
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = con.execute(
        "select subaccount_number, reconciliation, realized_pnl_dollars, fees_dollars, open_cost_change_dollars,"
        " expected_balance_dollars, balance_dollars, assumed_subaccount_records"
        " from fct_balance_reconciliation order by subaccount_number, balance_date"
    ).fetchall()
    assert rows == [
        (0, "anchor", 0, 0, 0, None, D("10000"), 0),
        (0, "not_comparable_subaccounts", D("0.50"), 0, D("-0.50"), D("10001"), D("10001"), 1),
        (1, "anchor", 0, 0, 0, None, D("0"), 0),
        (1, "match", D("3"), D("0.10"), D("-2"), D("4.90"), D("4.90"), 0),
    ]
