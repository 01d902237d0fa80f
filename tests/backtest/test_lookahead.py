"""No look-ahead: a strategy only ever sees the past, and its decisions before any time T are the same whether
or not the data after T exists."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from kalshi_lake.backtest import Strategy, load_replay_data, make_strategy, run_backtest
from tests.backtest.lakegen import synthetic_lake

START = datetime(2026, 11, 1, tzinfo=UTC)
CUT = datetime(2026, 11, 3, 13, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lookahead") / "lake"
    synthetic_lake(root, n_markets=9, n_trades=3000, days=5, books_every=20, start=START)
    return root


class Spy(Strategy):
    """Records everything it is shown and trades on it (books, candles, trades) so decisions depend on data."""

    name = "spy"

    def on_start(self, ctx):
        self.seen = []
        self.last_candle = {}

    def _see(self, ctx, kind, ev):
        assert ev.ts <= ctx.now, f"{kind} from the future: {ev.ts} > {ctx.now}"
        if self.seen:
            assert ctx.now >= self.seen[-1][1], "time went backwards"
        info = ctx.market(ev.ticker)
        assert not any(
            f.name in ("result", "status", "settlement_value_dollars") for f in dataclasses.fields(info)
        )
        last = ctx.last_price(ev.ticker)
        self.seen.append((kind, ctx.now, ev.ticker, last))

    def on_trade(self, ctx, t):
        self._see(ctx, "trade", t)
        c = self.last_candle.get(t.ticker)
        if c is not None and t.yes_price < c and ctx.position_centi(t.ticker) < 2000:
            ctx.buy(t.ticker, 1, t.yes_price_dollars, time_in_force="gtc")
        elif c is not None and t.yes_price > c and ctx.position_centi(t.ticker) > 0:
            ctx.sell(t.ticker, 1, t.yes_price_dollars, time_in_force="ioc")

    def on_book(self, ctx, book):
        self._see(ctx, "book", book)
        if book.best_yes_ask is not None and book.best_yes_ask < 300_000:
            ctx.buy(book.ticker, 2, f"{book.best_yes_ask / 1e6:.2f}", time_in_force="ioc")

    def on_candle(self, ctx, candle):
        self._see(ctx, "candle", candle)
        if candle.price_close is not None:
            self.last_candle[candle.ticker] = candle.price_close

    def on_settlement(self, ctx, s):
        self._see(ctx, "settlement", s)
        assert ctx.is_settled(s.ticker) and ctx.position_centi(s.ticker) == 0


def test_events_arrive_in_time_order_and_never_from_the_future(lake):
    spy = Spy()
    r = run_backtest(spy, lake)
    kinds = {k for k, *_ in spy.seen}
    assert kinds == {"trade", "book", "candle", "settlement"}
    times = [t for _k, t, *_ in spy.seen]
    assert times == sorted(times)
    assert r.metrics.n_fills > 10  # the spy really trades, so the next test compares real decisions


def _decisions(result, before_us):
    orders = [
        (o.placed_ts, o.ticker, o.action, o.outcome, o.count, o.price, o.time_in_force)
        for o in result.state.orders
        if o.placed_ts < before_us
    ]
    fills = [
        (f.ts, f.ticker, f.book_side, f.count, f.yes_price, f.is_taker, f.fee)
        for f in result.state.fills
        if f.ts < before_us
    ]
    seen = [s for s in getattr(result, "_spy_seen", [])]
    return orders, fills, seen


@pytest.mark.parametrize("strategy", ["spy", "threshold", "longshot_fade"])
def test_decisions_before_a_cut_do_not_depend_on_data_after_it(lake, strategy):
    cut_us = int(CUT.timestamp()) * 1_000_000

    def run(end):
        s = Spy() if strategy == "spy" else make_strategy(strategy)
        r = run_backtest(s, lake, end=end)
        if strategy == "spy":
            r._spy_seen = [x for x in s.seen if x[1] < cut_us]
        return r

    full, cut = run(None), run(CUT)
    assert full.state.events > cut.state.events  # the cut really removed data
    assert _decisions(full, cut_us) == _decisions(cut, cut_us)
    assert len(_decisions(full, cut_us)[0]) > 0


def test_the_outcome_is_not_in_what_the_strategy_can_reach(lake):
    data = load_replay_data(str(lake))
    # the engine keeps outcomes apart from the MarketInfo the strategy gets
    assert all(not hasattr(m, "result") for m in data.markets)
    assert sum(o is not None for o in data.outcomes) > 0
    # a window that ends before the settlements replays none of them
    early = load_replay_data(str(lake), end=START.replace(day=2))
    assert all(o is None for o in early.outcomes)


def test_an_early_close_is_not_revealed_by_the_market_terms(tmp_path):
    from datetime import timedelta
    from decimal import Decimal

    from tests.backtest.lakegen import market, trade, write_stream

    t0 = datetime(2026, 11, 5, 12, tzinfo=UTC)
    root = tmp_path / "lake"
    scheduled = market("S-E-M", "S-E", close=t0 + timedelta(days=2), status="active")
    scheduled["updated_time"] = t0 - timedelta(days=1)
    # later the market closed early (and settled); the lake's latest row carries the new close_time
    early = market(
        "S-E-M",
        "S-E",
        close=t0 + timedelta(hours=3),
        result="yes",
        value=Decimal(1),
        settle=t0 + timedelta(hours=4),
    )
    write_stream(root, "markets", [scheduled])
    write_stream(root, "markets", [early], run_id="later")
    write_stream(
        root,
        "trades",
        [trade("S-E-M", t0, "0.5", 1), trade("S-E-M", t0 + timedelta(hours=3, minutes=30), "0.5", 1)],
    )

    class Look(Strategy):
        name = "look"

        def on_start(self, ctx):
            self.closes = []
            self.orders = []

        def on_trade(self, ctx, t):
            self.closes.append(ctx.market(t.ticker).close_time_us)
            self.orders.append(ctx.buy(t.ticker, 1, "0.40"))

    s = Look()
    run_backtest(s, root)
    assert set(s.closes) == {int((t0 + timedelta(days=2)).timestamp()) * 1_000_000}  # what was known
    assert s.orders[0].status == "canceled" and "closed" in s.orders[1].reason  # the engine still enforces it
