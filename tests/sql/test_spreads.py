"""fct_spreads, fct_spreads_daily, fct_effective_spreads(_daily), fct_market_daily against hand-computed rows.

S1 order-book snapshots (bids only; yes_ask = 1 - best NO bid), minutes after 12:00 UTC 2026-11-20:
  t0  yes .40x10 .42x5 / no .55x7 .50x3 -> bid .42 (5) ask .45 (7) spread .03 mid .435  two_sided, held 60 s
  t1  yes empty        / no .55x7       -> ask .45 only                                ask_only, held 120 s
  t3  both sides empty                                                                 empty, held 60 s
  t4  yes .40x1        / no .58x2       -> bid .40 ask .42 spread .02 mid .41          two_sided, held 60 s
  t5  yes .40x1        / no .56x2       -> bid .40 ask .44 spread .04 mid .42          two_sided, last (held 0)
  daily: time-weighted (.03x60 + .02x60) / 120 = .025; mean (.03+.02+.04)/3 = .03; median .03
S2 market snapshots: t0 bid 0.0000 (size 0) ask .60 -> ask_only; t10 bid .30 ask 1.0000 (size 0) -> bid_only;
  t20 status closed -> not a quote; t30 bid .30 ask .34 -> spread .04 mid .32
S1 trades: tr0 t-1 .50x1 (no mid yet), tr1 t0.5 .45x10 taker bid (mid .435: eff .03),
  tr2 t2 .43x5 taker ask (latest mid still t0's .435: eff .01, age 120 s), tr3 t4.5 .40x5 taker ask (mid .41: .02)
  effective daily: mean (.03+.01+.02)/3 = .02; volume-weighted (.30+.05+.10)/20 = .0225; median .02
  market daily: open .50 high .50 low .40 close .40 volume 21 notional 9.15 vwap 9.15/21 = .435714 (6 dp)
"""

from __future__ import annotations

import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, market, write_stream


def trade(tid, minutes, price, count, taker_book_side):
    return {
        "trade_id": tid,
        "ticker": "S1",
        "count_fp": D(count),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes" if taker_book_side == "bid" else "no",
        "taker_book_side": taker_book_side,
        "created_time": at(minutes),
        "is_block_trade": False,
    }


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("spreads") / "lake"
    rows = (
        book("S1", 0, yes=[("0.40", 10), ("0.42", 5)], no=[("0.55", 7), ("0.50", 3)])
        + book("S1", 1, no=[("0.55", 7)])
        + book("S1", 3)
        + book("S1", 4, yes=[("0.40", 1)], no=[("0.58", 2)])
        + book("S1", 5, yes=[("0.40", 1)], no=[("0.56", 2)])
    )
    write_stream(root, "orderbook_snapshots", rows)
    write_stream(
        root,
        "markets",
        [
            market(
                "S2",
                "EV-S",
                minutes=0,
                yes_bid_dollars=D(0),
                yes_bid_size_fp=D(0),
                yes_ask_dollars=D("0.60"),
                yes_ask_size_fp=D(10),
            ),
            market(
                "S2",
                "EV-S",
                minutes=10,
                yes_bid_dollars=D("0.30"),
                yes_bid_size_fp=D(5),
                yes_ask_dollars=D(1),
                yes_ask_size_fp=D(0),
            ),
            market(
                "S2",
                "EV-S",
                minutes=20,
                status="closed",
                yes_bid_dollars=D("0.30"),
                yes_bid_size_fp=D(5),
                yes_ask_dollars=D("0.31"),
                yes_ask_size_fp=D(1),
            ),
            market(
                "S2",
                "EV-S",
                minutes=30,
                yes_bid_dollars=D("0.30"),
                yes_bid_size_fp=D(5),
                yes_ask_dollars=D("0.34"),
                yes_ask_size_fp=D(4),
            ),
        ],
    )
    write_stream(
        root,
        "trades",
        [
            trade("tr0", -1, "0.50", 1, "bid"),
            trade("tr1", 0.5, "0.45", 10, "bid"),
            trade("tr2", 2, "0.43", 5, "ask"),
            trade("tr3", 4.5, "0.40", 5, "ask"),
        ],
    )
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def test_orderbook_spreads_one_sided_and_empty(con):
    rows = con.execute(
        "select extract('minute' from observed_at)::int, yes_bid_dollars, yes_ask_dollars, spread_dollars, "
        "mid_dollars, yes_bid_size_fp, yes_ask_size_fp, book_state from fct_spreads where ticker = 'S1' "
        "order by observed_at"
    ).fetchall()
    assert rows == [
        (0, D("0.42"), D("0.45"), D("0.03"), D("0.435"), D(5), D(7), "two_sided"),
        (1, None, D("0.45"), None, None, D(0), D(7), "ask_only"),
        (3, None, None, None, None, D(0), D(0), "empty"),
        (4, D("0.40"), D("0.42"), D("0.02"), D("0.41"), D(1), D(2), "two_sided"),
        (5, D("0.40"), D("0.44"), D("0.04"), D("0.42"), D(1), D(2), "two_sided"),
    ]
    depth = con.execute(
        "select yes_bid_depth_fp, no_bid_depth_fp from fct_spreads where ticker = 'S1' "
        "order by observed_at limit 1"
    ).fetchone()
    assert depth == (D(15), D(10))


def test_market_snapshot_spreads(con):
    rows = con.execute(
        "select extract('minute' from observed_at)::int, yes_bid_dollars, yes_ask_dollars, spread_dollars, "
        "mid_dollars, book_state from fct_spreads where ticker = 'S2' order by observed_at"
    ).fetchall()
    assert rows == [
        (0, None, D("0.60"), None, None, "ask_only"),
        (10, D("0.30"), None, None, None, "bid_only"),
        (30, D("0.30"), D("0.34"), D("0.04"), D("0.32"), "two_sided"),
    ]


def test_depth_at_the_best_levels(con):
    """Within 2c of the best: t0 bids .42x5 + .40x10 = 15, NO bids .55x7 (.50 is 5c away) = 7; t1 no YES bids = 0;
    t4 1 / 2. Only REST order books have levels: market snapshots have none (null)."""
    rows = con.execute(
        "select ticker, observed_at, yes_bid_depth_2c_fp, yes_ask_depth_2c_fp from fct_spreads "
        "where ticker = 'S1' order by observed_at"
    ).fetchall()
    assert [rows[0], rows[1], rows[3]] == [
        ("S1", at(0), D(15), D(7)),
        ("S1", at(1), D(0), D(7)),
        ("S1", at(4), D(1), D(2)),
    ]
    assert con.execute(
        "select distinct yes_bid_depth_2c_fp from fct_spreads where source = 'market'"
    ).fetchall() == [(None,)]


def test_spreads_daily_time_weighted_and_median(con):
    row = con.execute(
        "select observations, two_sided_observations, one_sided_observations, empty_observations, "
        "observed_seconds, two_sided_seconds, time_weighted_spread_dollars, mean_spread_dollars, "
        "median_spread_dollars, min_spread_dollars, max_spread_dollars from fct_spreads_daily "
        "where ticker = 'S1' and source = 'orderbook'"
    ).fetchone()
    # #15: t5, the last quote, holds to the end of its UTC day (was weight 0): 12:05 -> 24:00 = 42900 s, open-ended
    # time-weighted (.03 x 60 + .02 x 60 + .04 x 42900) / 43020 = .039958
    assert row == (5, 3, 1, 1, 43200, 43020, D("0.039958"), D("0.03"), D("0.03"), D("0.02"), D("0.04"))
    assert con.execute(
        "select open_ended_seconds from fct_spreads_daily where ticker = 'S1' and source = 'orderbook'"
    ).fetchone() == (42900,)
    # source and age: the only source of S1 is the preferred one; the oldest quote is t5 at midnight (42900 s)
    assert con.execute(
        "select is_preferred_source, max_quote_age_seconds from fct_spreads_daily "
        "where ticker = 'S1' and source = 'orderbook'"
    ).fetchone() == (True, 42900)
    # relative spreads .03/.435 = .068966, .02/.41 = .048780, .04/.42 = .095238, weighted the same way:
    # (.068966 x 60 + .048780 x 60 + .095238 x 42900) / 43020 = .095137
    assert con.execute(
        "select time_weighted_relative_spread from fct_spreads_daily where ticker = 'S1' and source = 'orderbook'"
    ).fetchone() == (D("0.095137"),)


def test_effective_spreads(con):
    rows = con.execute(
        "select trade_id, mid_dollars, effective_spread_dollars, signed_effective_spread_dollars, "
        "mid_age_seconds, taker_book_side from fct_effective_spreads order by created_time"
    ).fetchall()
    assert rows == [
        ("tr0", None, None, None, None, "bid"),
        ("tr1", D("0.435"), D("0.03"), D("0.03"), 30, "bid"),
        ("tr2", None, None, None, 60, "ask"),  # #15: the latest quote (t1) is one-sided: not matched
        ("tr3", D("0.41"), D("0.02"), D("0.02"), 30, "ask"),
    ]
    daily = con.execute(
        "select trade_count, trades_with_mid, taker_bid_trades, taker_ask_trades, volume_fp, "
        "mean_effective_spread_dollars, volume_weighted_effective_spread_dollars, "
        "median_effective_spread_dollars from fct_effective_spreads_daily"
    ).fetchall()
    # over tr1 and tr3: mean (.03 + .02) / 2, volume-weighted (.30 + .10) / 15
    assert daily == [(4, 2, 2, 2, D(21), D("0.025"), D("0.026667"), D("0.025"))]


def test_market_daily_ohlc_vwap(con):
    row = con.execute(
        "select trade_date::varchar, open_dollars, high_dollars, low_dollars, close_dollars, vwap_dollars, "
        "volume_fp, notional_dollars, trade_count from fct_market_daily where ticker = 'S1'"
    ).fetchone()
    assert row == (
        "2026-11-20",
        D("0.50"),
        D("0.50"),
        D("0.40"),
        D("0.40"),
        D("0.435714"),
        D(21),
        D("9.15"),
        4,
    )


def test_candle_closes_quote_backfilled_history(tmp_path):
    """C1 has no snapshots, only candles: the hourly candle ending at t60 closes bid .30 / ask .36 (spread .06,
    mid .33), the daily candle ending at the same instant is ignored (shortest period wins), the hourly candle
    ending at t120 has no bid (0.0000): ask_only. A trade at t90 @ .35 finds the candle's mid .33, 1800 s old:
    stale (more than max_mid_age_seconds), so not measured."""
    root = tmp_path / "lake"
    candle = lambda minutes, interval, bid, ask: {  # noqa: E731
        "ticker": "C1",
        "series_ticker": "KXC",
        "period_interval": interval,
        "end_period_ts": at(minutes),
        "yes_bid_close_dollars": D(bid),
        "yes_ask_close_dollars": D(ask),
        "volume_fp": D(0),
    }
    write_stream(
        root,
        "candlesticks",
        [candle(60, 60, "0.30", "0.36"), candle(60, 1440, "0.10", "0.90"), candle(120, 60, "0", "0.40")],
    )
    t = trade("c-t1", 90, "0.35", 2, "bid")
    t["ticker"] = "C1"
    write_stream(root, "trades", [t])
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = con.execute(
        "select extract('minute' from observed_at)::int + 60 * (extract('hour' from observed_at)::int - 12), "
        "source, yes_bid_dollars, yes_ask_dollars, spread_dollars, mid_dollars, yes_bid_size_fp, book_state "
        "from fct_spreads order by observed_at"
    ).fetchall()
    assert rows == [
        (60, "candle", D("0.30"), D("0.36"), D("0.06"), D("0.33"), None, "two_sided"),
        (120, "candle", None, D("0.40"), None, None, None, "ask_only"),
    ]
    # #15: a 30-minute-old candle close is not the prevailing mid (max_mid_age_seconds 60): stale, not measured
    assert con.execute(
        "select mid_status, mid_dollars, mid_source, effective_spread_dollars, mid_age_seconds "
        "from fct_effective_spreads"
    ).fetchone() == ("stale", None, "candle", None, 1800)


def test_spreads_daily_weights_midnight_to_first_quote_and_the_last_quote(tmp_path):
    """W order book: 11-20 12:00 spread .02, 18:00 .04; 11-21 06:00 .06 (the last).
    11-20: .02 x 6 h + .04 x 6 h -> .03 over 43200 s. 11-21: the .04 quote carries 00:00 -> 06:00 (was dropped), .06
    holds 06:00 -> 24:00 (the last quote: was weight 0; open-ended 64800 s) -> (.04 x 6 + .06 x 18) / 24 = .055."""
    root = tmp_path / "lake"
    write_stream(
        root,
        "orderbook_snapshots",
        [
            {**r, "ticker": "W"}
            for r in book("S", 0, yes=[("0.49", 1)], no=[("0.49", 1)])
            + book("S", 360, yes=[("0.48", 1)], no=[("0.48", 1)])
            + book("S", 1080, yes=[("0.47", 1)], no=[("0.47", 1)])
        ],
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = con.execute(
        "select observed_date::varchar, observations, observed_seconds, two_sided_seconds, open_ended_seconds, "
        "time_weighted_spread_dollars, mean_spread_dollars from fct_spreads_daily order by observed_date"
    ).fetchall()
    assert rows == [
        ("2026-11-20", 2, 43200, 43200, 0, D("0.03"), D("0.03")),
        ("2026-11-21", 1, 86400, 86400, 64800, D("0.055"), D("0.06")),
    ]
