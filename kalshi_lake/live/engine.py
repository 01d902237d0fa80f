"""``LiveEngine``: the backtester's engine, fed live events instead of the lake, with the risk gate in front of
the exchange.

A strategy gets the backtester's own ``Context`` over this engine, so every ``ctx`` method means what it means
in a backtest (positions, cash, open orders, the book, ``ctx.now`` = the exchange time of the event). The engine
keeps the same per-market state (``MarketBook``: L2 books, marks, FIFO lots, resting orders) and is driven by
the runner (``runner.py``) one event at a time.

Where an order goes, after the engine's own checks (market, side, grid, closed, cash) — the one seam is
``_arrive``, "the order reaches the exchange":

1. the risk gate (``limits.py``) — refused → status ``rejected``, reason ``risk: …``, the strategy's
   ``on_reject`` is called, a ``refused`` row is recorded;
2. paper: the backtester's fill model against the live books (``Engine._arrive``: takes only the other side,
   rests the remainder as a maker filled by later prints through the queue model). Nothing is sent;
   live: the desk (``desk.py``) sends it through the order module (journal first, exactly once).

Live fills come from the exchange (the ``fill`` channel, de-duplicated by ``trade_id``) with the exchange's fee,
and positions are corrected to the exchange's ``post_position`` when it says otherwise.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa

from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.data import MarketOutcome, ReplayData
from kalshi_lake.backtest.engine import DAY_US, Engine
from kalshi_lake.backtest.events import Book, Fill, Order, Trade
from kalshi_lake.backtest.money import PRICE_SCALE, dollars_to_units
from kalshi_lake.backtest.portfolio import MarketBook
from kalshi_lake.backtest.quotes import PRINT
from kalshi_lake.backtest.strategy import Strategy
from kalshi_lake.live.limits import Exposure, Proposal, RiskGate
from kalshi_lake.live.markets import LiveMarkets

if TYPE_CHECKING:
    from kalshi_lake.live.desk import ExchangeDesk
    from kalshi_lake.live.record import LiveRecorder

_TRADES = pa.schema([(c, pa.int64()) for c in ("ts", "market", "price", "count", "side", "block")])


class LiveEngine(Engine):
    """One live or paper session's state (see the module docstring)."""

    def __init__(
        self,
        markets: LiveMarkets,
        strategy: Strategy,
        gate: RiskGate,
        recorder: LiveRecorder,
        *,
        mode: str,
        cash: Decimal,
        config: BacktestConfig | None = None,
        clock=time.monotonic,
    ) -> None:
        n = len(markets.infos)
        data = ReplayData(
            markets.infos,
            markets.fees,
            [None] * n,
            _TRADES.empty_table(),
            close_us=markets.close_us,
            grids=[m.price_ranges for m in markets.infos],
        )
        config = config or BacktestConfig()
        if cash > 0:
            config = BacktestConfig(**{**config.as_dict(), "initial_cash": cash})
        super().__init__(data, strategy, config)
        self.cash = self.initial_cash = dollars_to_units(cash)
        self.mode = mode
        self.gate = gate
        self.rec = recorder
        self.desk: ExchangeDesk | None = None
        self.clock = clock
        self.now = 0  # the exchange's clock: the server's Date, then each event's time (never backwards)
        self.rest_seen: list[float | None] = [None] * n  # our clock: last REST book of each market
        self.heard: float | None = None  # our clock: last item from the WebSocket
        self.connected = False
        self.trigger = "start"  # what the strategy is handling (recorded with its orders)
        self.unconfirmed: dict[
            int, int
        ] = {}  # live: order id → centi executed but whose fills are not in yet
        self.trade_ids: set[str] = set()  # public prints seen
        self.fill_ids: set[str] = set()  # our exchange fills seen: REST fill_id = WebSocket trade_id
        self.day: str | None = None
        self.day_start_equity = 0
        # live: exchange fills are caught up over REST from here (µs, exchange time) at each reconcile
        self.fills_since_us: int | None = None
        self.catching_up = (
            False  # a reconcile is replaying missed fills: the day does not roll on their times
        )
        self.started = False  # on_start has run: before that, on_fill is held and called right after it
        self.held_fills: list[Fill] = []
        self._want_reject = strategy.overrides("on_reject")

    # -- time ---------------------------------------------------------------------------------------------------
    def at(self, ts_us: int | None) -> None:
        """Move the exchange clock to an event's time (never backwards)."""
        if ts_us is not None and ts_us > self.now:
            self.now = ts_us

    @property
    def equity_units(self) -> int:
        return self.cash + self.positions_value

    def roll_day(self) -> None:
        if self.catching_up:
            return
        day = time.strftime("%Y-%m-%d", time.gmtime(self.now // 1_000_000))
        if day != self.day:
            self.day = day
            self.day_start_equity = self.equity_units
            self.gate.roll_day(day)

    # -- market data --------------------------------------------------------------------------------------------
    def data_age(self, mi: int) -> float | None:
        """Seconds since this market's book was last known current: the WebSocket book while it is whole and the
        connection is heard from, else the last REST snapshot; None before either."""
        now = self.clock()
        ages = []
        if self.books[mi].quotes.ws.whole and self.connected and self.heard is not None:
            ages.append(now - self.heard)
        if self.rest_seen[mi] is not None:
            ages.append(now - self.rest_seen[mi])
        return min(ages) if ages else None

    def ws_snapshot(self, mi: int, conn: str, yes, no, ts_us: int | None) -> None:
        self.at(ts_us)
        self.trigger = "book"
        self._on_ws(mi, ("snapshot", conn, yes, no))

    def ws_delta(self, mi: int, conn: str, side: str, price: int, change: int, ts_us: int | None) -> None:
        self.at(ts_us)
        self.trigger = "book"
        self._on_ws(mi, ("delta", conn, side, price, change))

    def ws_suspect(self, mi: int) -> None:
        self.books[mi].quotes.ws.whole = False

    def rest_book(self, mi: int, book: Book) -> None:
        self.rest_seen[mi] = self.clock()
        self.trigger = "book"
        self._on_book(mi, book._replace(ts=self.now))

    def trade(self, mi: int, ts_us: int | None, price: int, count: int, side: int, block: bool) -> None:
        """A public print: in paper mode it fills resting orders (the fill model); then the strategy sees it."""
        self.at(ts_us)
        self.roll_day()
        b = self.books[mi]
        if not block:
            cap = self.participation
            ours = count if cap is None else count * cap.numerator // cap.denominator
            if self.mode == "paper" and b.resting:
                self._match(b, price, count, side, self.config.queue, ours)
            if side:
                b.quotes.top[1 if side == 1 else 0][PRINT] = [self.now, price, ours, 0]
        b.last_ts, b.last_price, b.mark = self.now, price, price
        if b.pos:
            old = b.value
            b.value = b.value_at(price)
            self.positions_value += b.value - old
        self.trigger = "trade"
        self._emit(self.strategy.on_trade, Trade(self.now, b.ticker, price, count, side, block))

    def settle(self, mi: int, result: str, value_micros: int, ts_us: int | None) -> None:
        self.at(ts_us)
        if self.books[mi].settled:
            return
        self.trigger = "settlement"
        self._on_settle(mi, MarketOutcome(result, value_micros, self.now))

    def start(self) -> None:
        self.roll_day()
        self.trigger = "start"
        out = self.strategy.on_start(self.ctx)
        if out is not None:
            for req in out:
                self.submit(req)
        self.started = True
        held, self.held_fills = self.held_fills, []
        for fill in held:  # fills of this run that landed while no runner was there (caught up at start)
            self.trigger = "fill"
            self._emit(self.strategy.on_fill, fill)

    # -- the gate -----------------------------------------------------------------------------------------------
    def exposure(self, book: MarketBook, delta: int) -> Exposure:
        same = sum(o.count - o.filled for o in self._open(book) if o.delta == delta)
        same += sum(c for oid, c in self.unconfirmed.items() if self._same(oid, book, delta))
        return Exposure(
            position=book.pos,
            same_side_open=same,
            total_position=sum(abs(b.pos) for b in self.books),
            open_orders=sum(len(self._open(b)) for b in self.books),
            pnl_today=self.equity_units - self.day_start_equity,
        )

    def _same(self, oid: int, book: MarketBook, delta: int) -> bool:
        o = self.orders[oid - 1]
        return o.market_index == book.index and o.delta == delta

    def proposal(self, book: MarketBook, order: Order) -> Proposal:
        unit = order.price if order.outcome == "yes" else PRICE_SCALE - order.price
        info = self.infos[book.index]
        return Proposal(
            book.ticker, info.series_ticker, order.delta, order.remaining, unit, self.data_age(book.index)
        )

    def _arrive(self, book: MarketBook, order: Order) -> Order:
        """The order would reach the exchange: the risk gate first, then the fill model (paper) or the desk."""
        self.roll_day()
        p = self.proposal(book, order)
        reason = self.gate.check(p, self.exposure(book, order.delta))
        if reason is not None:
            self._release(order)
            return self._reject(order, f"risk: {reason}")
        self.gate.accepted(p)
        self.rec.order(self, order, "accepted")
        if self.mode == "paper":
            super()._arrive(book, order)
            self.rec.order(self, order, order.status if order.status != "open" else "resting")
            return order
        return self.desk.send(self, book, order)

    def _reject(self, order: Order, reason: str) -> Order:
        super()._reject(order, reason)
        self.rec.order(self, order, "refused" if reason.startswith("risk: ") else "rejected")
        if self._want_reject:
            self._emit(self.strategy.on_reject, order)
        return order

    def _fill(self, book, order, count, price, is_taker, source, age) -> None:
        super()._fill(book, order, count, price, is_taker, source, age)
        self.rec.fill(self, self.fills[-1])

    def _cancel_now(self, book: MarketBook, order: Order) -> None:
        if self.mode == "live":
            self.desk.cancel(self, book, order)
            return
        super()._cancel_now(book, order)
        self.rec.order(self, order, "canceled")

    # -- live fills ---------------------------------------------------------------------------------------------
    def live_fill(
        self,
        order: Order | None,
        mi: int,
        delta: int,
        count: int,
        price: int,
        is_taker: bool,
        fee: int,
        ts_us: int | None,
        post_position: int | None,
        *,
        fill_id: str | None = None,
        via: str | None = None,
    ) -> None:
        """Apply one of the exchange's fills (its price and fee), like ``Engine._fill`` does a simulated one.
        ``fill_id`` (the exchange's) is remembered: the same fill from the other source is ignored."""
        if fill_id is not None:
            self.fill_ids.add(fill_id)
        if ts_us is not None and (self.fills_since_us is None or ts_us > self.fills_since_us):
            self.fills_since_us = ts_us
        self.at(ts_us)
        self.roll_day()
        book = self.books[mi]
        if order is not None:
            self._release(order)
        cash, realized = book.apply(delta, count, price)
        if post_position is not None and post_position != book.pos:
            book.pos = post_position  # the exchange's word (a fill we missed, or a trade from elsewhere)
        self.cash += cash - fee
        book.fees_paid += fee
        book.traded += count * price
        book.n_fills += 1
        book.mark = book.mark if book.mark is not None else price
        old = book.value
        book.value = book.value_at(book.mark)
        self.positions_value += book.value - old
        if order is not None:
            order.filled += count
            left = self.unconfirmed.get(order.order_id)
            if left is not None:
                if left - count > 0:
                    self.unconfirmed[order.order_id] = left - count
                else:
                    del self.unconfirmed[order.order_id]
            if order.filled >= order.count:
                order.status = "filled"
                if order in book.resting:
                    book.resting.remove(order)
            elif order in book.resting:
                self._reserve(book, order)
        fill = Fill(
            len(self.fills) + 1,
            self.now,
            book.ticker,
            order.order_id if order is not None else 0,
            order.action if order is not None else ("buy" if delta > 0 else "sell"),
            order.outcome if order is not None else "yes",
            "bid" if delta > 0 else "ask",
            count,
            price,
            is_taker,
            fee,
            realized,
            book.pos,
            self.cash,
            "exchange",
            None,
        )
        self.fills.append(fill)
        self.equity.append((self.now, self.cash, self.positions_value))
        self.rec.fill(self, fill, fill_id=fill_id, via=via)
        if order is not None:
            if not self.started:
                self.held_fills.append(fill)
                return
            self.trigger = "fill"
            self._emit(self.strategy.on_fill, fill)

    # -- status -------------------------------------------------------------------------------------------------
    def open_orders(self) -> list[Order]:
        return [o for b in self.books for o in self._open(b)]


__all__ = ["LiveEngine", "DAY_US"]
