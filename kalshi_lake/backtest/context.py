"""The strategy's view of a run: ``ctx`` in every handler.

Only the past and present are reachable: the clock, the account (cash, equity, positions, open orders), the
last trade and latest book snapshot of a market, and its static terms. Orders go through the engine's checks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from kalshi_lake.backtest.data import MarketInfo
from kalshi_lake.backtest.events import Book, Order, OrderRequest, us_to_datetime
from kalshi_lake.backtest.money import centi_to_contracts, units_to_dollars

if TYPE_CHECKING:
    from kalshi_lake.backtest.engine import Engine


class Context:
    """The strategy's view of the run (passed to every handler as ``ctx``)."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine

    # -- time and account -------------------------------------------------------------------------------------
    @property
    def now(self) -> int:
        """Current replay time, µs since epoch (UTC)."""
        return self._e.now

    @property
    def time(self):
        return us_to_datetime(self._e.now)

    @property
    def cash(self) -> Decimal:
        return units_to_dollars(self._e.cash)

    @property
    def equity(self) -> Decimal:
        return units_to_dollars(self._e.cash + self._e.positions_value)

    def position(self, ticker: str) -> Decimal:
        """Signed YES-equivalent contracts held (negative = NO)."""
        return centi_to_contracts(self.position_centi(ticker))

    def position_centi(self, ticker: str) -> int:
        i = self._e.index.get(ticker)
        return self._e.books[i].pos if i is not None else 0

    def positions(self) -> dict[str, Decimal]:
        return {b.ticker: centi_to_contracts(b.pos) for b in self._e.books if b.pos}

    def open_orders(self, ticker: str | None = None) -> list[Order]:
        """Resting orders, plus orders still in flight under ``latency_ms``."""
        books = self._e.books if ticker is None else [self._e.books[self._e.index[ticker]]]
        flying = [
            o
            for _t, _i, o, cancel in self._e._pending
            if not cancel and o.status == "open" and ticker in (None, o.ticker)
        ]
        return [o for b in books for o in b.resting] + flying

    # -- market data (past and present only) ------------------------------------------------------------------
    def market(self, ticker: str) -> MarketInfo:
        """Static terms of a market (no status, result or settlement value)."""
        return self._e.infos[self._e.index[ticker]]

    @property
    def tickers(self) -> list[str]:
        return [m.ticker for m in self._e.infos]

    def last_price(self, ticker: str) -> int | None:
        """Last traded YES price so far, micro-dollars (None before the first trade)."""
        return self._e.books[self._e.index[ticker]].last_price

    def book(self, ticker: str) -> Book | None:
        """The latest L2 book so far (the recorded WebSocket book while whole, else the latest REST snapshot),
        minus what our own fills took from it; None before the first."""
        q = self._e.books[self._e.index[ticker]].quotes
        l2 = q.ws if q.ws.whole else q.rest
        return None if l2.ts is None else l2.to_book(ticker)

    def is_settled(self, ticker: str) -> bool:
        return self._e.books[self._e.index[ticker]].settled

    # -- orders -----------------------------------------------------------------------------------------------
    def buy(self, ticker, count, price, outcome="yes", time_in_force="gtc") -> Order:
        """Buy ``count`` contracts of ``outcome`` at a limit ``price`` (dollars, Decimal or str)."""
        return self.submit(OrderRequest(ticker, "buy", count, price, outcome, time_in_force))

    def sell(self, ticker, count, price, outcome="yes", time_in_force="gtc") -> Order:
        """Sell ``count`` contracts of ``outcome`` at a limit ``price`` (dollars)."""
        return self.submit(OrderRequest(ticker, "sell", count, price, outcome, time_in_force))

    def submit(self, request: OrderRequest) -> Order:
        return self._e.submit(request)

    def cancel(self, order: Order | int) -> bool:
        """Cancel a resting order; False if it is no longer open."""
        return self._e.cancel(order if isinstance(order, int) else order.order_id)
