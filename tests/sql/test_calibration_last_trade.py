"""fct_calibration_prices: "the last trade at or before as_of" when trades share an instant or their ids run
against time (#20: the model buckets trades by the next as_of of their market instead of sorting every trade).

Market X closes at day 8 (minute 11520) and opens at minute 0: 7d -> minute 1440, 24h -> 10080, 1h -> 11460.
  minute 5      x9 .10   (the highest trade_id, but the oldest trade: never the last one after minute 5)
  minute 1400   x1 .40, x2 .45 at the same instant: the higher trade_id x2 is the last trade -> 7d .45
  minute 1440   x0 .47   exactly at the 7d as_of: counts -> 7d .47 (age 0)
  minute 1500   x3 .50   between 7d and 24h: the last trade at 24h (age 143 h)
  minute 11500  x4 .90   after the 1h as_of: never read
open: the first trade, x9 .10 at minute 5.
"""

from __future__ import annotations

import pytest

from kalshi_lake import warehouse

from . import lakegen
from .lakegen import D, at, market, write_stream

CLOSE = at(days=8)


def trade(tid, minutes, price):
    return lakegen.trade(tid, "KXL-X", minutes, price)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("lasttrade") / "lake"
    write_stream(root, "markets", [market("KXL-X", "KXL-E", open_time=at(0), close_time=CLOSE)])
    trades = [
        trade("x9", 5, ".10"),
        trade("x1", 1400, ".40"),
        trade("x2", 1400, ".45"),
        trade("x0", 1440, ".47"),
        trade("x3", 1500, ".50"),
        trade("x4", 11500, ".90"),
    ]
    write_stream(root, "trades", trades)
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def prices(con, where=""):
    return {
        r[0]: r[1:]
        for r in con.execute(
            "select horizon, implied_probability, price_source, price_observed_at, price_age_seconds "
            f"from fct_calibration_prices {where}"
        ).fetchall()
    }


def test_last_trade_by_time_not_by_id(con):
    rows = prices(con)
    assert rows["open"] == (D(".10"), "trade", at(5), D(0))
    assert rows["7d"] == (D(".47"), "trade", at(1440), D(0))
    assert rows["24h"] == (D(".50"), "trade", at(1500), D((10080 - 1500) * 60))
    assert rows["1h"] == (D(".50"), "trade", at(1500), D((11460 - 1500) * 60))


def test_same_instant_keeps_the_highest_trade_id(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "markets", [market("KXL-X", "KXL-E", open_time=at(0), close_time=CLOSE)])
    write_stream(root, "trades", [trade("x9", 5, ".10"), trade("x1", 1400, ".40"), trade("x2", 1400, ".45")])
    c = warehouse.build_in_memory(root, run_tests=True)
    try:
        assert prices(c)["7d"] == (D(".45"), "trade", at(1400), D(40 * 60))
    finally:
        c.close()


def test_same_instant_prefers_a_priced_trade_to_a_higher_trade_id_without_a_price(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "markets", [market("KXL-X", "KXL-E", open_time=at(0), close_time=CLOSE)])
    unpriced = {**trade("x9", 1400, ".50"), "yes_price_dollars": None, "no_price_dollars": None}
    write_stream(root, "trades", [trade("x0", 5, ".10"), trade("x1", 1400, ".40"), unpriced])
    c = warehouse.build_in_memory(root, run_tests=False)  # (test_trades_sane names the trade without a price)
    try:
        assert prices(c)["7d"] == (D(".40"), "trade", at(1400), D(40 * 60))
    finally:
        c.close()
