"""Test strategies: each one tries hard to trade."""

from __future__ import annotations

from decimal import Decimal

from kalshi_lake.backtest import Strategy


class Greedy(Strategy):
    """Buys 3 YES at 0.99 (crosses any ask) on every trade and book, sells 3 at 0.01 every other trade."""

    name = "greedy"

    def on_start(self, ctx):
        self.n = 0
        self.rejects = []
        for t in ctx.tickers:
            ctx.buy(t, Decimal(1), Decimal("0.02"))  # rests
            ctx.buy(t, Decimal(10), Decimal("0.99"), time_in_force="ioc")  # over the position limit

    def on_trade(self, ctx, trade):
        self.n += 1
        if self.n % 2:
            ctx.buy(trade.ticker, Decimal(3), Decimal("0.99"), time_in_force="ioc")
        else:
            ctx.sell(trade.ticker, Decimal(3), Decimal("0.01"), time_in_force="ioc")
        ctx.buy(trade.ticker, Decimal(1), Decimal("0.02"))  # and rest a bid

    def on_reject(self, ctx, order):
        self.rejects.append(order.reason)


class RestOnce(Strategy):
    """Rests one bid at 0.02 on the first market unless it already has an order or a position there."""

    name = "rest_once"

    def on_start(self, ctx):
        t = ctx.tickers[0]
        if not ctx.open_orders(t) and ctx.position(t) == 0:
            ctx.buy(t, Decimal(2), Decimal("0.02"))


class OneEach(Strategy):
    """One order per market, ever, as far as it knows: on the first ``markets`` markets with no position and no
    open order, buys 1 YES — crossing at 0.99 (IOC) on even ones, resting at 0.02 on odd ones. Run it again
    after a crash and it places only what is missing, so a second order on a market means the runner lost one."""

    name = "one_each"
    defaults = {"markets": 6}

    def on_start(self, ctx):
        self._place(ctx)

    def on_book(self, ctx, book):
        self._place(ctx)

    def _place(self, ctx):
        self.done = getattr(self, "done", set())
        for i, t in enumerate(ctx.tickers[: int(self.params["markets"])]):
            if t in self.done or ctx.open_orders(t) or ctx.position(t) != 0:
                self.done.add(t)
                continue
            self.done.add(t)
            if i % 2 == 0:
                ctx.buy(t, Decimal(1), Decimal("0.99"), time_in_force="ioc")
            else:
                ctx.buy(t, Decimal(1), Decimal("0.02"))

    def on_reject(self, ctx, order):
        self.done.discard(order.ticker)  # refused (e.g. no book yet): try again on the next book
