"""Quoted and effective spreads by time to close, and the relative spread, against hand-computed rows.

Market K1 closes at 14:00 UTC 2026-11-20 (T0 = 12:00). Order-book quotes (yes_ask = 1 - best NO bid):
  q1  12:00 yes .40x10 / no .50x4 -> spread .10, mid .45, relative .222222
  q1b 12:01 yes .42x10 / no .50x4 -> spread .08, mid .46, relative .173913
  q2  13:30 yes .45x2  / no .51x6 -> spread .04, mid .47, relative .085106
  q3  13:50 both sides empty (the last quote: held to the close, 600 s open-ended)
Buckets (t in [close - hi, close - lo)):
  1h-6h  [08:00, 13:00): q1 60 s, q1b 3540 s -> spread (.10x60 + .08x3540) / 3600 = .080333,
         relative (.222222x60 + .173913x3540) / 3600 = .174718, sizes 10 / 4, oldest quote 3540 s (q1b at 13:00)
  15m-1h [13:00, 13:45): q1b 1800 s, q2 900 s -> (.08x1800 + .04x900) / 2700 = .066667,
         relative (.173913x1800 + .085106x900) / 2700 = .144311, sizes 19800/2700 = 7.33 / 12600/2700 = 4.67,
         oldest 5340 s (q1b at 13:30)
  0-15m  [13:45, 14:00): q2 300 s two-sided, q3 600 s empty (open-ended) -> .04, .085106, sizes 2 / 6, oldest 1200 s
Trades: tr1 12:00:30 taker buys @.50: mid .45 (30 s) -> signed 2 x .05 = .10, relative .10/.45 = .222222; at +1 min
  (12:01:30) the mid is q1b's .46 (30 s old): realized 2 x (.50 - .46) = .08, impact 2 x (.46 - .45) = .02.
  tr2 13:30:30 taker sells @.46: mid .47 -> signed -2 x (.46 - .47) = .02, relative .042553.
  tr4 13:40 @.47: the latest quote is 10 min old -> stale, counted. tr3 14:05 (after the close): q3 empty -> one_sided.
Market W1 (same close): at 13:40 an order-book quote .40 / .50 (spread .10) and a recorded WebSocket snapshot
  .45 / .50 (spread .05), whole until the recorder stops at 13:55. 15m-1h: both held 300 s, the ws_book row is the
  preferred one; 0-15m: the order book held 900 s two-sided, the ws_book top 600 s two-sided then 300 s unknown.
"""

from __future__ import annotations

import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, coverage, market, write_stream, ws_snapshot


def trade(tid, minutes, price, side):
    return {
        "trade_id": tid,
        "ticker": "K1",
        "count_fp": D(1),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes" if side == "bid" else "no",
        "taker_book_side": side,
        "created_time": at(minutes),
        "is_block_trade": False,
    }


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("byclose") / "lake"
    write_stream(
        root,
        "orderbook_snapshots",
        book("K1", 0, yes=[("0.40", 10)], no=[("0.50", 4)])
        + book("K1", 1, yes=[("0.42", 10)], no=[("0.50", 4)])
        + book("K1", 90, yes=[("0.45", 2)], no=[("0.51", 6)])
        + book("K1", 110),
    )
    write_stream(
        root,
        "markets",
        [
            market("K1", "EV-K", status="closed", minutes=200, close_time=at(120)),
            market("W1", "EV-W", status="closed", minutes=200, close_time=at(120)),
        ],
    )
    write_stream(root, "orderbook_snapshots", book("W1", 100, yes=[("0.40", 1)], no=[("0.50", 1)]))
    write_stream(root, "ws_book", ws_snapshot("W1", 100, "c1", 1, 1, yes=[("0.45", 3)], no=[("0.50", 2)]))
    write_stream(
        root,
        "ws_coverage",
        [
            coverage(99, "started"),
            coverage(99, "connected", connection_id="c1"),
            coverage(100, "whole", "W1", "c1", 1),
            coverage(115, "stopped"),
        ],
    )
    write_stream(
        root,
        "trades",
        [
            trade("tr1", 0.5, "0.50", "bid"),
            trade("tr2", 90.5, "0.46", "ask"),
            trade("tr4", 100, "0.47", "bid"),
            trade("tr3", 125, "0.47", "bid"),
        ],
    )
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def test_relative_spread_per_quote(con):
    assert con.execute(
        "select relative_spread from fct_spreads where ticker = 'K1' order by observed_at"
    ).fetchall() == [(D("0.222222"),), (D("0.173913"),), (D("0.085106"),), (None,)]


def test_quoted_spread_by_time_to_close(con):
    assert con.execute(
        "select close_bucket, source, is_preferred_source, observations, two_sided_observations, observed_seconds, "
        "two_sided_seconds, open_ended_seconds, time_weighted_spread_dollars, time_weighted_relative_spread, "
        "time_weighted_bid_size_fp, time_weighted_ask_size_fp, max_quote_age_seconds "
        "from fct_spreads_by_close where ticker = 'K1' order by bucket_order"
    ).fetchall() == [
        ("1h-6h", "orderbook", True, 2, 2, 3600, 3600, 0, D("0.080333"), D("0.174718"), D(10), D(4), 3540),
        (
            "15m-1h",
            "orderbook",
            True,
            1,
            1,
            2700,
            2700,
            0,
            D("0.066667"),
            D("0.144311"),
            D("7.33"),
            D("4.67"),
            5340,
        ),
        ("0-15m", "orderbook", True, 1, 0, 900, 300, 600, D("0.04"), D("0.085106"), D(2), D(6), 1200),
    ]


def test_effective_spread_by_time_to_close(con):
    assert con.execute(
        "select close_bucket, trade_count, trades_with_mid, trades_without_fresh_mid, "
        "mean_signed_effective_spread_dollars, mean_relative_effective_spread, trades_with_mid_1m, "
        "mean_realized_spread_1m_dollars, mean_price_impact_1m_dollars, mid_sources, max_mid_age_seconds, "
        "max_mid_age_limit_seconds from fct_effective_spreads_by_close where ticker = 'K1' order by bucket_order"
    ).fetchall() == [
        ("1h-6h", 1, 1, 0, D("0.10"), D("0.222222"), 1, D("0.08"), D("0.02"), "orderbook", 30, 60),
        ("15m-1h", 2, 1, 1, D("0.02"), D("0.042553"), 0, None, None, "orderbook", 30, 60),
        ("after_close", 1, 0, 1, None, None, 0, None, None, None, None, 60),
    ]


def test_the_recorded_websocket_top_is_the_preferred_source(con):
    assert con.execute(
        "select close_bucket, source, is_preferred_source, observations, observed_seconds, two_sided_seconds, "
        "time_weighted_spread_dollars from fct_spreads_by_close where ticker = 'W1' order by bucket_order, source"
    ).fetchall() == [
        ("15m-1h", "orderbook", False, 1, 300, 300, D("0.10")),
        ("15m-1h", "ws_book", True, 1, 300, 300, D("0.05")),
        ("0-15m", "orderbook", False, 0, 900, 900, D("0.10")),
        ("0-15m", "ws_book", True, 1, 900, 600, D("0.05")),
    ]
