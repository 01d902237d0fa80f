"""The replay loop: events in time order → strategy → orders → fill model → portfolio.

Ordering: trades come from one Arrow table sorted by time; order-book snapshots, candles and settlements are a
small side schedule merged in. At equal timestamps a book snapshot is delivered before the trades, candles
(whose end time includes those trades) and settlements after them. The loop works on plain Python ints pulled
column-wise from the Arrow table, so the per-trade cost is a few comparisons plus the strategy's own work.

No look-ahead: a handler only ever sees the event being replayed and state built from earlier events;
``ctx.market()`` exposes static terms only; a market's outcome reaches the strategy at settlement time.
Orders are checked on submission: unknown/closed/settled market, bad side/action/time-in-force, count not a
positive multiple of 0.01, price off the market's ``price_ranges`` grid, not enough cash → status ``rejected``
with a reason (recorded, never raised into the strategy).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from kalshi_lake.backtest.context import Context
from kalshi_lake.backtest.data import MarketInfo, ReplayData
from kalshi_lake.backtest.errors import BacktestError
from kalshi_lake.backtest.events import (
    Book,
    Fill,
    Order,
    OrderRequest,
    Settlement,
    Trade,
)
from kalshi_lake.backtest.fills import QUEUE_MODELS, displayed_at, match_resting, take_liquidity
from kalshi_lake.backtest.money import (
    PRICE_SCALE,
    contracts_to_centi,
    dollars_to_micros,
    dollars_to_units,
    on_grid,
)
from kalshi_lake.backtest.portfolio import MarketBook
from kalshi_lake.backtest.strategy import Strategy

DAY_US = 86_400_000_000
_BOOK, _CANDLE, _SETTLE = 0, 2, 3


@dataclass(frozen=True)
class BacktestConfig:
    """Knobs of the simulated exchange."""

    initial_cash: Decimal = Decimal("1000")
    queue: str = "through"  # through | front | back (see fills.py)
    max_quote_age_s: int = 900  # older books/trades are not liquidity for marketable orders
    latency_ms: int = 0  # an order reaches the exchange this long after the strategy sent it

    def __post_init__(self) -> None:
        if self.queue not in QUEUE_MODELS:
            raise BacktestError(f"queue must be one of {', '.join(QUEUE_MODELS)}, got {self.queue!r}")
        cash = None if isinstance(self.initial_cash, float) else Decimal(self.initial_cash)
        if cash is None or not cash.is_finite() or cash <= 0:  # NaN would not even compare
            raise BacktestError(f"initial_cash must be a positive, finite Decimal, got {self.initial_cash!r}")
        if self.max_quote_age_s < 0:
            raise BacktestError("max_quote_age_s must be >= 0")
        if self.latency_ms < 0:
            raise BacktestError("latency_ms must be >= 0")


@dataclass
class RunState:
    """What a finished replay produced (integer units; see ``metrics`` and ``results`` for outputs)."""

    markets: list[MarketBook]
    infos: list[MarketInfo]
    fills: list[Fill]
    orders: list[Order]
    equity: list[
        tuple[int, int, int]
    ]  # (ts µs, cash, positions value) at start, fills, settlements, day ends, end
    daily: list[tuple[int, int]]  # (day end µs, equity units) — one per UTC day from the first to the last
    settlements: list[Settlement]
    initial_cash: int
    cash: int
    events: int
    seconds: float
    start_us: int | None
    end_us: int | None


class Engine:
    """One backtest run over a ``ReplayData``."""

    def __init__(self, data: ReplayData, strategy: Strategy, config: BacktestConfig | None = None) -> None:
        self.data = data
        self.strategy = strategy
        self.config = config or BacktestConfig()
        self.infos = data.markets
        self.index = {m.ticker: i for i, m in enumerate(data.markets)}
        closes = data.close_us or [m.close_time_us for m in data.markets]
        grids = data.grids or [m.price_ranges for m in data.markets]
        self.books = [
            MarketBook(i, m.ticker, data.fees[i], grids[i], closes[i]) for i, m in enumerate(data.markets)
        ]
        self.initial_cash = dollars_to_units(self.config.initial_cash)
        self.cash = self.initial_cash
        self.positions_value = 0
        self.now = data.start_us if data.start_us is not None else 0
        self.max_age = self.config.max_quote_age_s * 1_000_000
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.equity: list[tuple[int, int, int]] = []
        self.daily: list[tuple[int, int]] = []
        self.settlements: list[Settlement] = []
        self.ctx = Context(self)
        self._day_end: int | None = None
        self._want_book = strategy.overrides("on_book")
        self.latency_us = self.config.latency_ms * 1000
        self._pending: list[tuple[int, int, Order]] = []  # (arrival µs, order id, order): orders in flight

    # -- orders -----------------------------------------------------------------------------------------------
    def _reject(self, order: Order, reason: str) -> Order:
        order.status = "rejected"
        order.reason = reason
        return order

    def submit(self, req: OrderRequest) -> Order:
        order = Order(
            len(self.orders) + 1,
            str(req.ticker),
            str(req.action),
            str(req.outcome),
            0,
            0,
            0,
            str(req.time_in_force),
            self.now,
        )
        self.orders.append(order)
        i = self.index.get(req.ticker)
        if i is None:
            return self._reject(order, f"unknown market, not in this backtest's selection ({req.ticker!r})")
        book = self.books[i]
        order.market_index = i
        if req.action not in ("buy", "sell"):
            return self._reject(order, f"action must be buy or sell ({req.action!r})")
        if req.outcome not in ("yes", "no"):
            return self._reject(order, f"outcome must be yes or no ({req.outcome!r})")
        if req.time_in_force not in ("gtc", "ioc"):
            return self._reject(order, f"time_in_force must be gtc or ioc ({req.time_in_force!r})")
        try:
            count = contracts_to_centi(req.count)
            price = dollars_to_micros(req.price)
        except (ValueError, TypeError) as exc:
            return self._reject(order, str(exc))
        if count <= 0:
            return self._reject(order, f"count must be positive ({req.count})")
        if not on_grid(price, book.grid):
            return self._reject(order, f"price off the market's tick grid ({req.price})")
        if book.settled:
            return self._reject(order, "market is settled")
        if book.close_us is not None and self.now >= book.close_us:
            return self._reject(order, "market is closed")
        delta = 1 if (req.action == "buy") == (req.outcome == "yes") else -1
        yes_price = price if req.outcome == "yes" else PRICE_SCALE - price
        order.delta, order.count, order.price = delta, count, yes_price
        if not self._affordable(book, delta, count, yes_price):
            return self._reject(order, "not enough cash for the order at its limit price (with taker fee)")
        if self.latency_us:
            heapq.heappush(self._pending, (self.now + self.latency_us, order.order_id, order))
            return order
        return self._arrive(book, order)

    def _arrive(self, book: MarketBook, order: Order) -> Order:
        """The order reaches the exchange: take prevailing liquidity, then rest or cancel the remainder."""
        delta, count, yes_price = order.delta, order.count, order.price
        for q, p in take_liquidity(book, delta, yes_price, count, self.now, self.max_age):
            self._fill(book, order, q, p, True)
        if order.filled < order.count:
            if order.time_in_force == "ioc":
                order.status = "canceled"
                order.reason = "ioc remainder"
            else:
                if self.config.queue == "back" and book.book_ts is not None:
                    order.queue_ahead = displayed_at(book, delta, yes_price)
                book.resting.append(order)
        return order

    def _arrive_due(self, until: int | None) -> None:
        """Deliver delayed orders due by ``until`` (all if None), each at its own arrival time, against the
        market as it stood then (nothing changes between replayed events)."""
        pending = self._pending
        current = self.now
        while pending and (until is None or pending[0][0] <= until):
            arrival, _id, order = heapq.heappop(pending)
            if order.status != "open":
                continue  # cancelled while in flight
            self.now = max(arrival, current)
            book = self.books[order.market_index]
            if book.settled or (book.close_us is not None and self.now >= book.close_us):
                order.status, order.reason = "canceled", "market closed before the order arrived"
            elif not self._affordable(book, order.delta, order.count, order.price):
                order.status, order.reason = "canceled", "not enough cash when the order arrived"
            else:
                self._arrive(book, order)
        self.now = current

    def _affordable(
        self, book: MarketBook, delta: int, count: int, price: int, is_taker: bool = True
    ) -> bool:
        """Cash covers the opening part of a trade at ``price`` plus its fee (closing trades free cash)."""
        opening = count - min(count, book.closable(delta))
        cost = opening * (price if delta > 0 else PRICE_SCALE - price)
        return self.cash >= cost + book.fees.fee_units(count, price, is_taker, self.now)

    def cancel(self, order_id: int) -> bool:
        if not 0 < order_id <= len(self.orders):
            return False
        order = self.orders[order_id - 1]
        if order.status != "open" or order.market_index < 0:
            return False
        book = self.books[order.market_index]
        if order in book.resting:
            book.resting.remove(order)
        order.status = "canceled"
        order.reason = "canceled by strategy"
        return True

    def _fill(self, book: MarketBook, order: Order, count: int, price: int, is_taker: bool) -> None:
        fee = book.fees.fee_units(count, price, is_taker, self.now)
        cash, realized = book.apply(order.delta, count, price)
        self.cash += cash - fee
        book.fees_paid += fee
        book.traded += count * price
        book.n_fills += 1
        if book.mark is None:
            book.mark = price
        old = book.value
        book.value = book.value_at(book.mark)
        self.positions_value += book.value - old
        order.filled += count
        if order.filled >= order.count:
            order.status = "filled"
        fill = Fill(
            len(self.fills) + 1,
            self.now,
            book.ticker,
            order.order_id,
            order.action,
            order.outcome,
            "bid" if order.delta > 0 else "ask",
            count,
            price,
            is_taker,
            fee,
            realized,
            book.pos,
            self.cash,
        )
        self.fills.append(fill)
        self.equity.append((self.now, self.cash, self.positions_value))
        self._emit(self.strategy.on_fill, fill)

    def _emit(self, handler, event) -> None:
        out = handler(self.ctx, event)
        if out is not None:
            for req in out:
                self.submit(req)

    # -- events -----------------------------------------------------------------------------------------------
    def _on_book(self, mi: int, snap: Book) -> None:
        b = self.books[mi]
        b.book_ts = snap.ts
        b.yes_bids = [[p, s] for p, s in snap.yes_bids]
        b.yes_asks = [[PRICE_SCALE - p, s] for p, s in snap.no_bids]
        if self._want_book:
            self._emit(self.strategy.on_book, snap)

    def _on_settle(self, mi: int, outcome) -> None:
        b = self.books[mi]
        for order in b.resting:
            order.status = "canceled"
            order.reason = "market settled"
        b.resting = []
        self.positions_value -= b.value
        payout, _realized = b.settle(outcome.value_micros)
        self.cash += payout
        self.equity.append((self.now, self.cash, self.positions_value))
        event = Settlement(self.now, b.ticker, outcome.result, outcome.value_micros)
        self.settlements.append(event)
        self._emit(self.strategy.on_settlement, event)

    def _schedule(self) -> list[tuple[int, int, int, object]]:
        """Non-trade events as (threshold, kind, market, payload): delivered before the first trade whose
        time reaches the threshold (book: its own time; candle/settlement: just after it)."""
        # books feed the fill model, so they are replayed even when the strategy ignores them
        items = [(ts, _BOOK, mi, snap) for ts, mi, snap in self.data.books]
        if self.strategy.overrides("on_candle"):
            items += [(ts + 1, _CANDLE, mi, c) for ts, mi, c in self.data.candles]
        start = self.data.start_us
        for mi, outcome in enumerate(self.data.outcomes):
            if outcome is None:
                continue
            if start is not None and outcome.ts_us < start:
                # settled before the window opened: nothing to pay, no orders accepted, no event
                self.books[mi].settled = True
                self.books[mi].settle_value = outcome.value_micros
                continue
            items.append((outcome.ts_us + 1, _SETTLE, mi, outcome))
        items.sort(key=lambda it: (it[0] - (0 if it[1] == _BOOK else 1), it[1], it[2]))
        return items

    def _dispatch(self, item) -> None:
        threshold, kind, mi, payload = item
        event_ts = threshold if kind == _BOOK else threshold - 1
        if self._pending and self._pending[0][0] <= event_ts:
            self._arrive_due(event_ts)
        self.now = event_ts
        if self.now >= self._day_end:
            self._roll_days(self.now)
        if kind == _BOOK:
            self._on_book(mi, payload)
        elif kind == _CANDLE:
            self._emit(self.strategy.on_candle, payload)
        else:
            self._on_settle(mi, payload)

    def _roll_days(self, ts: int) -> None:
        """Record the equity at the end of each UTC day before ``ts``."""
        while ts >= self._day_end:
            self.daily.append((self._day_end, self.cash + self.positions_value))
            # the curve also gets the day's close, so drawdowns see mark-to-market moves between fills
            self.equity.append((self._day_end, self.cash, self.positions_value))
            self._day_end += DAY_US

    # -- the loop ---------------------------------------------------------------------------------------------
    def run(self) -> RunState:
        started = time.perf_counter()
        sched = self._schedule()
        trades = self.data.trades
        first_ts = [
            t
            for t in (
                self.data.start_us,
                trades.column("ts")[0].as_py() if trades.num_rows else None,
                sched[0][0] if sched else None,
            )
            if t is not None
        ]
        self.now = min(first_ts) if first_ts else 0
        self._day_end = (self.now // DAY_US + 1) * DAY_US
        self.equity.append((self.now, self.cash, 0))
        out = self.strategy.on_start(self.ctx)
        if out is not None:
            for req in out:
                self.submit(req)

        tickers = [m.ticker for m in self.infos]
        books = self.books
        strategy = self.strategy
        on_trade = strategy.on_trade if strategy.overrides("on_trade") else None
        ctx = self.ctx
        queue = self.config.queue
        n_sched = len(sched)
        si = 0
        next_sched = sched[0][0] if sched else 1 << 62
        events = 0
        for batch in trades.to_batches(max_chunksize=65_536):
            cols = [_ints(batch.column(i)) for i in range(6)]
            for ts, mi, price, count, side, block in zip(*cols, strict=True):
                if ts >= next_sched:
                    while si < n_sched and sched[si][0] <= ts:
                        self._dispatch(sched[si])
                        si += 1
                    next_sched = sched[si][0] if si < n_sched else 1 << 62
                if self._pending and self._pending[0][0] <= ts:
                    self._arrive_due(ts)
                if ts >= self._day_end:
                    self._roll_days(ts)
                self.now = ts
                b = books[mi]
                if b.resting and not block:  # a block trade is negotiated off the book
                    for order, q in match_resting(b, price, count, side, queue):
                        if order.status != "open":  # cancelled by an on_fill handler meanwhile
                            continue
                        if not self._affordable(b, order.delta, q, order.price, is_taker=False):
                            order.status = "canceled"
                            order.reason = "not enough cash when the resting order filled"
                            continue
                        self._fill(b, order, q, order.price, False)
                    b.resting = [o for o in b.resting if o.status == "open"]
                b.last_ts = ts
                b.last_price = price
                b.last_avail = 0 if block else count
                b.mark = price
                if b.pos:
                    old = b.value
                    b.value = b.value_at(price)
                    self.positions_value += b.value - old
                if on_trade is not None:
                    out = on_trade(ctx, Trade(ts, tickers[mi], price, count, side, block == 1))
                    if out is not None:
                        for req in out:
                            self.submit(req)
            events += batch.num_rows
        while si < n_sched:
            self._dispatch(sched[si])
            si += 1
        events += n_sched
        self._roll_days(self.now)
        self.daily.append((self.now, self.cash + self.positions_value))
        self.equity.append((self.now, self.cash, self.positions_value))
        strategy.on_end(ctx)
        for _arrival, _id, order in self._pending:  # still in flight when the data ended
            if order.status == "open":
                order.status, order.reason = "canceled", "end of backtest"
        self._pending = []
        for b in books:
            for order in b.resting:
                order.status = "canceled"
                order.reason = "end of backtest"
            b.resting = []
        return RunState(
            books,
            self.infos,
            self.fills,
            self.orders,
            self.equity,
            self.daily,
            self.settlements,
            self.initial_cash,
            self.cash,
            events,
            time.perf_counter() - started,
            self.data.start_us,
            self.data.end_us,
        )


def _ints(arr) -> list[int]:
    """An int64 Arrow array → Python ints, straight from its buffer (``to_numpy`` would import pandas)."""
    if arr.null_count:
        raise ValueError("replay columns must not contain nulls")
    data = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    return data[arr.offset : arr.offset + len(arr)].tolist()


def micros(value) -> int:
    """Shorthand for strategies: dollars (Decimal/str) → micro-dollars."""
    return dollars_to_micros(value)


__all__ = ["BacktestConfig", "Context", "Engine", "RunState", "micros"]
