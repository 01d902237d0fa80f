"""Each fill rule pinned on a hand-built lake: fills from the other side only, stale quotes never fill, the
source order and provenance, L2 replay of the recorded book (levels walked, liquidity used up and restored),
queue models, latency both ways, participation and position limits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from kalshi_lake.backtest import BacktestConfig, run_backtest
from tests.backtest.lakegen import book_rows, market, trade, write_stream, ws_delta, ws_snapshot
from tests.backtest.test_fill_model import OnNth, at, fills, make_lake

M = "S-E-M"


def secs(s: float):
    return at(0) + timedelta(seconds=s)


def taker_fills(result):
    return [(f.book_side, f.count, f.yes_price, f.price_source) for f in result.state.fills]


def test_a_taker_never_buys_at_the_bid_nor_sells_at_the_ask(tmp_path):
    lake = make_lake(tmp_path, [trade(M, at(0), "0.40", 10, "ask"), trade(M, at(1), "0.60", 10, "bid")])
    # after a seller's print at 0.40 (a bid) a buy at 0.40 finds no ask; after a buyer's at 0.60, a sell no bid
    s = OnNth({1: [("buy", 1, "0.40", "yes", "ioc")], 2: [("sell", 1, "0.60", "yes", "ioc")]})
    r = run_backtest(s, lake)
    assert r.state.fills == []
    assert r.metrics.refusals == {
        "unfilled at arrival: no fresh quote on the ask": 1,
        "unfilled at arrival: no fresh quote on the bid": 1,
    }
    # the same prints are evidence for the side their taker hit
    s = OnNth({1: [("sell", 1, "0.40", "yes", "ioc")], 2: [("buy", 1, "0.60", "yes", "ioc")]})
    assert taker_fills(run_backtest(s, lake)) == [
        ("ask", 100, 400_000, "print"),
        ("bid", 100, 600_000, "print"),
    ]


def test_a_join_the_bid_order_never_fills_at_once_against_a_bid_print(tmp_path):
    lake = make_lake(tmp_path, [trade(M, at(0), "0.40", 10, "ask"), trade(M, at(1), "0.40", 5, "bid")])
    s = OnNth({1: [("buy", 2, "0.40")]})  # joins the bid the seller just hit; gtc
    r = run_backtest(s, lake, config=BacktestConfig(queue="front"))
    # it rests; a buyer's print at 0.40 (a taker on our side) never fills a bid, even first in line
    assert r.state.fills == [] and s.orders[0].status == "canceled"


def test_stale_quotes_never_fill(tmp_path):
    lake = make_lake(
        tmp_path,
        [trade(M, secs(0), "0.50", 10, "bid"), trade(M, secs(6), "0.70", 1, "ask")],
        books=[book_rows(M, secs(0), [("0.48", 10)], [("0.50", 10)])],
    )
    # 6 s after the book and the buyer's print: nothing younger than the default 5 s on the ask
    s = OnNth({2: [("buy", 1, "0.55", "yes", "ioc")]})
    r = run_backtest(s, lake)
    assert r.state.fills == []
    assert r.metrics.refusals == {"unfilled at arrival: no fresh quote on the ask": 1}
    # allowed 10 s, the book (first in the order of sources) fills it, 6 s old
    r = run_backtest(
        OnNth({2: [("buy", 1, "0.55", "yes", "ioc")]}), lake, config=BacktestConfig(max_quote_age_s=10)
    )
    (f,) = r.state.fills
    assert (f.yes_price, f.price_source, f.quote_age_us) == (500_000, "book", 6_000_000)


def test_sources_in_order_market_row_then_candle_then_print(tmp_path):
    write_stream(tmp_path, "series", [{"ticker": "S", "fee_type": "quadratic", "fee_multiplier": D(1)}])
    write_stream(tmp_path, "events", [{"event_ticker": "S-E", "series_ticker": "S"}])
    row = market(M, "S-E", close=at(120), result="yes", value=D(1), settle=at(130))
    quote = {**row, "yes_bid_dollars": D("0.45"), "yes_ask_dollars": D("0.52"), "yes_ask_size_fp": D(3)}
    quote["_loaded_at"] = secs(10)
    write_stream(tmp_path, "markets", [row])
    write_stream(tmp_path, "markets", [quote], run_id="pull-2")
    write_stream(
        tmp_path,
        "candlesticks",
        [{"ticker": M, "period_interval": 1, "end_period_ts": secs(19), "yes_ask_close_dollars": D("0.53")}],
    )
    write_stream(
        tmp_path,
        "trades",
        [
            trade(M, secs(10), "0.51", 9, "ask"),  # the markets row seen now: ask 0.52 × 3
            trade(
                M, secs(20), "0.51", 9, "ask"
            ),  # the candle's ask close 0.53 (1 s old), no size: 1 contract
            trade(M, secs(40), "0.54", 9, "bid"),  # only the buyer's print: ask 0.54 × 9
        ],
    )
    s = OnNth({n: [("buy", 5, "0.60", "yes", "ioc")] for n in (1, 2, 3)})
    r = run_backtest(s, tmp_path)
    assert [(f.count, f.yes_price, f.price_source, f.quote_age_us) for f in r.state.fills] == [
        (300, 520_000, "market", 0),
        (100, 530_000, "candle", 1_000_000),
        (500, 540_000, "print", 0),
    ]


def ws_lake(tmp_path, trades, ws_rows, coverage=()):
    lake = make_lake(tmp_path, trades)
    write_stream(lake, "ws_book", ws_rows)
    if coverage:
        write_stream(lake, "ws_coverage", list(coverage))
    return lake


def test_l2_replay_walks_levels_and_never_reuses_what_it_took(tmp_path):
    snap = ws_snapshot(M, secs(0), 1, yes=[("0.45", 10)], no=[("0.50", 4), ("0.49", 3), ("0.40", 50)])
    lake = ws_lake(
        tmp_path,
        [trade(M, secs(1), "0.47", 1, "ask"), trade(M, secs(2), "0.47", 1, "ask")],
        snap,
    )
    # YES asks 0.50 × 4, 0.51 × 3, 0.60 × 50: buy 10 up to 0.55 walks two levels, 3 left unfilled (ioc);
    # a second buy finds those levels used up; the recorded book is live, so its age is not a limit
    s = OnNth({1: [("buy", 10, "0.55", "yes", "ioc")], 2: [("buy", 2, "0.55", "yes", "ioc")]})
    r = run_backtest(s, lake, config=BacktestConfig(max_quote_age_s=0))
    assert taker_fills(r) == [("bid", 400, 500_000, "ws_book"), ("bid", 300, 510_000, "ws_book")]
    assert [f.quote_age_us for f in r.state.fills] == [1_000_000, 1_000_000]
    assert s.orders[1].filled == 0


def test_l2_liquidity_we_took_comes_back_as_the_recorded_book_moves(tmp_path):
    rows = ws_snapshot(M, secs(0), 1, yes=[("0.45", 10)], no=[("0.50", 4)])
    rows += [
        ws_delta(M, secs(2), 2, "no", "0.50", 3),  # 3 more offered at 0.50 (a YES ask): new, visible
        ws_delta(M, secs(4), 3, "no", "0.50", -5),  # 5 leave: the 3 we had not taken, then 2 of ours
        ws_delta(M, secs(6), 4, "no", "0.50", 5),  # 5 arrive: the level (7) less ours still there (2)
    ]
    trades = [trade(M, secs(t), "0.47", 1, "ask") for t in (1, 3, 5, 7)]
    lake = ws_lake(tmp_path, trades, rows)
    s = OnNth({n: [("buy", 10, "0.55", "yes", "ioc")] for n in (1, 2, 3, 4)})
    r = run_backtest(s, lake)
    assert [(f.count, f.yes_price) for f in r.state.fills] == [(400, 500_000), (300, 500_000), (500, 500_000)]


def test_a_coverage_gap_makes_the_recorded_book_unusable_until_the_next_snapshot(tmp_path):
    rows = ws_snapshot(M, secs(0), 1, yes=[], no=[("0.50", 4)])
    rows += ws_snapshot(M, secs(30), 9, yes=[], no=[("0.48", 4)], conn="c2")
    gap = {"at": secs(10), "event": "gap", "ticker": M, "connection_id": "c1", "reason": "seq_gap"}
    trades = [trade(M, secs(t), "0.47", 1, "ask") for t in (5, 20, 40)]
    lake = ws_lake(tmp_path, trades, rows, coverage=[gap])
    s = OnNth({n: [("buy", 1, "0.55", "yes", "ioc")] for n in (1, 2, 3)})
    r = run_backtest(s, lake)
    # the gap is placed at the last frame c1 delivered before it (the snapshot at 0 s): what it lost may have been
    # sent any time after, so the 5 s order already finds the book unusable; c2's snapshot at 30 s serves the last
    assert [(f.yes_price, f.price_source) for f in r.state.fills] == [(520_000, "ws_book")]
    assert r.metrics.refusals == {"unfilled at arrival: no fresh quote on the ask": 2}


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("through", []),
        ("front", [300, 200]),  # first in line: the 3 printed at our price fill 3, then the rest
        # 5 displayed ahead on arrival; 3 + 4 printed at 0.40 → 5 ahead consumed, 2 fill us, then 3 more
        ("risk_averse", [200, 300]),
        ("back", [200, 300]),
        # as risk_averse, but the level fell 10 → 6 with no print between: 4 cancels, half taken from ahead
        # (5 → 3): the 3 sellers clear it, the 4 then fill us, the 9 the last one
        ("prob", [400, 100]),
    ],
)
def test_queue_models(tmp_path, queue, expected):
    rows = ws_snapshot(M, secs(0), 1, yes=[("0.40", 5)], no=[("0.55", 10)])
    rows += [
        ws_delta(M, secs(2), 2, "yes", "0.40", 5),  # 5 join behind us (level 10)
        ws_delta(M, secs(3), 3, "yes", "0.40", -4),  # 4 leave (level 6): cancels, no print explains them
    ]
    trades = [
        trade(M, secs(1), "0.42", 1, "ask"),  # we join the 0.40 bid with 5 displayed ahead
        trade(M, secs(4), "0.40", 3, "bid"),  # a buyer at our price: never fills a bid
        trade(M, secs(5), "0.40", 3, "ask"),  # sellers at our price
        trade(M, secs(6), "0.40", 4, "ask"),
        trade(M, secs(7), "0.40", 9, "ask"),
    ]
    lake = ws_lake(tmp_path, trades, rows)
    s = OnNth({1: [("buy", 5, "0.40")]})
    r = run_backtest(s, lake, config=BacktestConfig(queue=queue))
    got = [f.count // 100 * 100 for f in r.state.fills]
    assert [f.count for f in r.state.fills] == got
    assert got == expected, [(f.ts, f.count) for f in r.state.fills]


def test_unknown_queue_is_not_the_front_before_the_first_book(tmp_path):
    lake = make_lake(
        tmp_path,
        [
            trade(M, at(0), "0.45", 1, "ask"),
            trade(M, at(1), "0.40", 5, "ask"),  # at our price, no book seen yet: unknown queue, no fill
            trade(M, at(3), "0.40", 2, "ask"),  # after the book (4 at 0.40 ahead): consumes 2 of them
            trade(M, at(4), "0.40", 5, "ask"),  # 2 more ahead, then 3 to us
        ],
        books=[book_rows(M, at(2), [("0.40", 4)], [("0.55", 10)])],
    )
    r_front = run_backtest(OnNth({1: [("buy", 5, "0.40")]}), lake, config=BacktestConfig(queue="front"))
    r_back = run_backtest(OnNth({1: [("buy", 5, "0.40")]}), lake, config=BacktestConfig(queue="back"))
    assert [f.count for f in r_front.state.fills] == [500]
    assert [f.count for f in r_back.state.fills] == [300]


@pytest.mark.parametrize(
    ("config", "expected_ms"),
    [
        ({}, 0),
        ({"latency_ms": 100}, 100),
        ({"feed_latency_ms": 100}, 100),
        ({"latency_ms": 2000, "feed_latency_ms": 2000}, None),
    ],
)
def test_feed_and_order_latency_both_delay_the_order(tmp_path, config, expected_ms):
    lake = make_lake(
        tmp_path,
        [trade(M, secs(0), "0.50", 10, "bid"), trade(M, secs(10), "0.50", 10, "bid")],
        books=[book_rows(M, secs(0), [("0.48", 10)], [("0.50", 10)]), book_rows(M, secs(3.5), [], [])],
    )
    r = run_backtest(OnNth({1: [("buy", 2, "0.55", "yes", "ioc")]}), lake, config=BacktestConfig(**config))
    if expected_ms is None:  # 4 s later the book (seen at 3.5 s) has no asks: nothing
        assert r.state.fills == []
    else:
        (f,) = r.state.fills
        assert f.ts - int(secs(0).timestamp() * 1_000_000) == expected_ms * 1000


def test_participation_cap_and_position_limits(tmp_path):
    lake = make_lake(tmp_path, [trade(M, at(0), "0.50", 10, "bid"), trade(M, at(1), "0.30", 10, "ask")])
    s = OnNth({1: [("buy", 8, "0.50", "yes", "ioc"), ("buy", 8, "0.35")]})
    r = run_backtest(s, lake, config=BacktestConfig(max_participation="0.25"))
    assert [f.count for f in r.state.fills] == [250, 250]  # a quarter of each 10-lot print
    s = OnNth({1: [("buy", 8, "0.50", "yes", "ioc"), ("buy", 8, "0.35"), ("sell", 3, "0.70")]})
    r = run_backtest(s, lake, config=BacktestConfig(max_position=10))
    assert [o.status for o in s.orders] == ["filled", "rejected", "canceled"]
    assert s.orders[1].reason == "position limit per market"
    assert r.metrics.refusals["rejected: position limit per market"] == 1
    assert fills(r) == [("bid", 8, 500_000, True)]
