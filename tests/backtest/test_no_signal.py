"""Done-when of issue #14: a strategy with no information makes no money, and its mirror, which pays the
spread, loses about the spread and the fees — on a generated lake (fast) and on the demo lake (slow)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_lake.backtest import BacktestConfig, Strategy, run_backtest
from kalshi_lake.backtest.events import ASK, BID
from tests.backtest.lakegen import synthetic_lake


class NoSignal(Strategy):
    """Buy YES right after a print whose taker sold (at the bid), sell right after one whose taker bought (at
    the ask), immediate-or-cancel at the print's price. ``pay_spread`` flips it: buy after a buyer's print
    (at the ask), sell after a seller's (at the bid)."""

    name = "no_signal"
    defaults = {"size": Decimal("1"), "pay_spread": False}

    def on_trade(self, ctx, t):
        if t.is_block or not t.taker_side:
            return
        buy = (t.taker_side == BID) if self.params["pay_spread"] else (t.taker_side == ASK)
        order = ctx.buy if buy else ctx.sell
        order(t.ticker, self.params["size"], t.yes_price_dollars, time_in_force="ioc")


def check(lake_root):
    free = run_backtest(NoSignal(), lake_root, config=BacktestConfig())
    paying = run_backtest(NoSignal(pay_spread=True), lake_root, config=BacktestConfig())
    # no information, no money: at best it breaks even (it can only trade where a quote says it may)
    assert free.metrics.pnl <= 0, free.metrics
    # the mirror trades, and loses: the round trips cost the spread, plus fees on every fill
    m = paying.metrics
    assert m.n_fills > 20
    assert m.pnl < -m.fees_paid, m
    return free, paying


def test_no_signal_makes_no_money_on_a_generated_lake(tmp_path):
    synthetic_lake(tmp_path, n_markets=12, n_trades=6000, days=6, books_every=0)
    free, paying = check(tmp_path)
    assert all(f.price_source == "print" for f in paying.state.fills)


@pytest.mark.slow
def test_no_signal_makes_no_money_on_the_demo_lake(demo_lake):
    check(demo_lake / "lake")
