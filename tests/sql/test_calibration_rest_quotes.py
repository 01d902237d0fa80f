"""fct_calibration_prices: the REST quote at an instant is its best-ranked source's (order book over market snapshot
over candle), mid or not (#20: the model no longer deduplicates every quote per instant up front; its lookups
pick the best-ranked quote of the latest instant themselves).

Market Y opens at minute 0 and closes at day 8: 7d -> minute 1440, 24h -> 10080, 1h -> 11460.
  minute 10       one-sided order book + two-sided candle: the book ranks first, no mid: not priced
  minute 30       two-sided candle .50 / .60 alone: the first priced instant -> open .55 (candle)
  minute 1439.5   two-sided book .40 / .50 + candle .10 / .20: the book -> 7d .45 (orderbook, 30 s old)
  minute 5000     trade .33
  minute 10079.5  empty book + two-sided candle: the book ranks first, no mid -> 24h falls back to the trade
  minute 11460    two-sided book .60 / .70 exactly at the 1h as_of -> 1h .65 (age 0); minute 11470 never read
"""

from __future__ import annotations

import pytest

from kalshi_lake import warehouse

from . import lakegen
from .lakegen import D, at, book, market, write_stream

T = "KXR-Y"


def candle(minutes, bid, ask):
    return {
        "ticker": T,
        "series_ticker": "KXR",
        "period_interval": 60,
        "end_period_ts": at(minutes),
        "yes_bid_close_dollars": D(bid),
        "yes_ask_close_dollars": D(ask),
        "volume_fp": D(0),
    }


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("restquotes") / "lake"
    write_stream(root, "markets", [market(T, "KXR-E", open_time=at(0), close_time=at(days=8))])
    write_stream(
        root,
        "orderbook_snapshots",
        book(T, 10, yes=[(".20", 5)])
        + book(T, 1439.5, yes=[(".40", 5)], no=[(".50", 5)])
        + book(T, 10079.5)
        + book(T, 11460, yes=[(".60", 5)], no=[(".30", 5)])
        + book(T, 11470, yes=[(".10", 5)], no=[(".10", 5)]),
    )
    write_stream(
        root,
        "candlesticks",
        [
            candle(10, ".30", ".40"),
            candle(30, ".50", ".60"),
            candle(1439.5, ".10", ".20"),
            candle(10079.5, ".70", ".80"),
        ],
    )
    write_stream(root, "trades", [lakegen.trade("y1", T, 5000, ".33")])
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def test_best_ranked_rest_quote_of_an_instant(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select horizon, implied_probability, price_source, quote_source, price_observed_at, price_age_seconds "
            "from fct_calibration_prices"
        ).fetchall()
    }
    assert rows["open"] == (D(".55"), "mid", "candle", at(30), D(0))
    assert rows["7d"] == (D(".45"), "mid", "orderbook", at(1439.5), D(30))
    assert rows["24h"] == (D(".33"), "trade", "trade", at(5000), D((10080 - 5000) * 60))
    assert rows["1h"] == (D(".65"), "mid", "orderbook", at(11460), D(0))
