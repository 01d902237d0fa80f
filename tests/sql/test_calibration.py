"""dim_markets and fct_calibration against hand-computed rows.

Series KXC (category Weather): C1 settles YES, last trade before close .85 (a later .99 trade after close is
ignored) -> bucket 8; C2 settles NO, last .15 -> bucket 1; C3 settles YES, last .82 -> bucket 8; C4 is still open
(not calibrated). Bucket 8: 2 markets, mean p .835, frequency 1, Brier (.15^2 + .18^2) / 2 = .02745.
Bucket 1: 1 market, p .15, frequency 0, Brier .0225.
"""

from __future__ import annotations

import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, market, write_stream


def trade(tid, ticker, minutes, price):
    return {
        "trade_id": tid,
        "ticker": ticker,
        "count_fp": D(1),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes",
        "taker_book_side": "bid",
        "created_time": at(minutes),
        "is_block_trade": False,
    }


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("calib") / "lake"
    close = at(60)
    write_stream(
        root,
        "series",
        [
            {
                "ticker": "KXC",
                "title": "C",
                "category": "Weather",
                "fee_type": "quadratic",
                "fee_multiplier": D(1),
            }
        ],
    )
    write_stream(root, "events", [{"event_ticker": "KXC-26NOV20", "series_ticker": "KXC", "title": "E"}])
    write_stream(
        root,
        "markets",
        [
            market(
                "KXC-26NOV20-C1",
                "KXC-26NOV20",
                status="finalized",
                result="yes",
                close_time=close,
                settlement_value_dollars=D(1),
            ),
            market("KXC-26NOV20-C2", "KXC-26NOV20", status="finalized", result="no", close_time=close),
            market("KXC-26NOV20-C3", "KXC-26NOV20", status="determined", result="yes", close_time=close),
            market("KXC-26NOV20-C4", "KXC-26NOV20", status="active", close_time=close),
            # an older observation of C1: stg_markets keeps the latest row only
            market("KXC-26NOV20-C1", "KXC-26NOV20", status="active", minutes=-60, close_time=close),
        ],
    )
    write_stream(
        root,
        "trades",
        [
            trade("a", "KXC-26NOV20-C1", 10, "0.70"),
            trade("b", "KXC-26NOV20-C1", 50, "0.85"),
            trade("c", "KXC-26NOV20-C1", 61, "0.99"),
            trade("d", "KXC-26NOV20-C2", 30, "0.15"),
            trade("e", "KXC-26NOV20-C3", 59, "0.82"),
            trade("f", "KXC-26NOV20-C4", 30, "0.50"),
        ],
    )
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def test_dim_markets(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, series_ticker, category, status, result, settlement_value_dollars, fee_type "
            "from dim_markets"
        ).fetchall()
    }
    assert rows["KXC-26NOV20-C1"] == ("KXC", "Weather", "finalized", "yes", D(1), "quadratic")
    assert rows["KXC-26NOV20-C2"][4] == D(0)  # from result when the value is absent
    assert rows["KXC-26NOV20-C4"][2:5] == ("active", None, None)
    assert len(rows) == 4


def test_calibration(con):
    rows = con.execute(
        "select level, category, series_ticker, bucket, markets, mean_implied_probability, realized_frequency, "
        "brier_score from fct_calibration order by level, bucket"
    ).fetchall()
    expected = []
    for level, cat, ser in (("all", "", ""), ("category", "Weather", ""), ("series", "Weather", "KXC")):
        expected += [
            (level, cat, ser, 1, 1, D("0.15"), D(0), D("0.0225")),
            (level, cat, ser, 8, 2, D("0.835"), D(1), D("0.02745")),
        ]
    assert rows == sorted(expected, key=lambda r: (r[0], r[3]))
