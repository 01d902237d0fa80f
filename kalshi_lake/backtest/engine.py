"""The replay loop: events in time order → strategy → orders → fill model (``fills.py``, ``quotes.py``) → portfolio.

Ordering: trades come from one Arrow table sorted by time; quote events (recorder coverage, recorded book
messages, REST book snapshots, markets rows' bid/ask), candles and settlements are a side schedule merged in.
At equal timestamps the quote events come before the trades, candles (whose end time includes those trades)
and settlements after them. The loop works on plain Python ints pulled column-wise from the Arrow table, so the
per-trade cost is a few comparisons plus the strategy's own work.

No look-ahead: a handler only ever sees the event being replayed and state built from earlier events;
``ctx.market()`` exposes static terms only; a market's outcome reaches the strategy at settlement time.

Orders are checked on submission: unknown/closed/settled market, bad side/action/time-in-force, count not a
positive multiple of 0.01, price off the market's ``price_ranges`` grid, position limits, not enough cash once
the collateral of resting and in-flight orders is set aside → status ``rejected`` with a reason (recorded, never
raised into the strategy). Every order that gets nothing at arrival is counted by why (``refusals``).

Latency: a decision taken on an event at exchange time t reaches the exchange at t + feed latency + order
latency (the strategy saw the event feed-latency late, and its order travels order-latency); a cancel travels
the same way, so a resting order can still fill while its cancel is in flight. ``ctx.now`` is the exchange time
of the event the strategy is looking at.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.context import Context
from kalshi_lake.backtest.data import MarketInfo, ReplayData
from kalshi_lake.backtest.events import Book, Fill, Order, OrderRequest, Settlement, Trade
from kalshi_lake.backtest.fees import DIRECT_PRECISION_UNITS, NON_DIRECT_PRECISION_UNITS, round_fill
from kalshi_lake.backtest.fills import match_resting, queue_on_depth, queue_start
from kalshi_lake.backtest.money import (
    PRICE_SCALE,
    contracts_to_centi,
    dollars_to_micros,
    dollars_to_units,
    on_grid,
)
from kalshi_lake.backtest.portfolio import MarketBook
from kalshi_lake.backtest.quotes import CANDLE, L2, MKT, PRINT, SOURCES
from kalshi_lake.backtest.strategy import Strategy

DAY_US = 86_400_000_000
# schedule kinds, in delivery order at equal times: quote events first, then trades, candles, settlements
_COVER, _WS, _BOOK, _MQUOTE, _CANDLE, _SETTLE = range(6)
_AFTER_TRADES = _CANDLE


def _schedule_key(item) -> tuple[int, int, int]:
    """Sort key of a scheduled event: threshold, then kind, then market; the recorder's frames and coverage events
    share one rank and keep their received order (sorted so before)."""
    ts, kind, mi, _payload = item
    if kind in (_COVER, _WS):
        return ts, _WS, -1
    return ts - (0 if kind < _AFTER_TRADES else 1), kind, mi


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
    refusals: Counter | None = None  # why orders got nothing: rejections, no fresh quote, limits ...


class Engine:
    """One backtest run over a ``ReplayData``."""

    def __init__(self, data: ReplayData, strategy: Strategy, config: BacktestConfig | None = None) -> None:
        self.data = data
        self.strategy = strategy
        self.config = config = config or BacktestConfig()
        self.infos = data.markets
        self.index = {m.ticker: i for i, m in enumerate(data.markets)}
        closes = data.close_us or [m.close_time_us for m in data.markets]
        grids = data.grids or [m.price_ranges for m in data.markets]
        self.books = [
            MarketBook(i, m.ticker, data.fees[i], grids[i], closes[i]) for i, m in enumerate(data.markets)
        ]
        self.initial_cash = dollars_to_units(config.initial_cash)
        self.cash = self.initial_cash
        self.reserved = 0  # collateral held for resting and in-flight orders (money units)
        self.positions_value = 0
        self.now = data.start_us if data.start_us is not None else 0
        self.max_age = config.max_age_us
        self.unsized = config.unsized_centi
        self.cancel_share = config.cancel_share
        self.participation = config.participation
        self.max_position = config.limit_centi("max_position")
        self.max_total = config.limit_centi("max_total_position")
        # fee rounding (fees.py): the balance grid and each order's accumulator of rounding overpaid
        self.fee_precision = DIRECT_PRECISION_UNITS if config.direct_member else NON_DIRECT_PRECISION_UNITS
        self.fee_acc: dict[int, int] = {}
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.equity: list[tuple[int, int, int]] = []
        self.daily: list[tuple[int, int]] = []
        self.settlements: list[Settlement] = []
        self.refusals: Counter = Counter()
        self.ctx = Context(self)
        self._day_end: int | None = None
        self._want_book = strategy.overrides("on_book")
        self._want_candle = strategy.overrides("on_candle")
        self.latency_us = (config.latency_ms + config.feed_latency_ms) * 1000
        # (arrival µs, seq, order, is_cancel): orders and cancels in flight
        self._pending: list[tuple[int, int, Order, bool]] = []
        self._seq = 0

    # -- orders -----------------------------------------------------------------------------------------------
    def _reject(self, order: Order, reason: str) -> Order:
        order.status = "rejected"
        order.reason = reason
        self.refusals["rejected: " + reason.split(" (")[0]] += 1
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
        limit = self._over_limit(book, delta, count)
        if limit:
            return self._reject(order, limit)
        if not self._affordable(book, delta, count, yes_price):
            return self._reject(
                order, "not enough cash for the order at its limit price (with taker fee and open orders)"
            )
        if self.latency_us:
            self._reserve(book, order)
            self._seq += 1
            heapq.heappush(self._pending, (self.now + self.latency_us, self._seq, order, False))
            return order
        return self._arrive(book, order)

    def _over_limit(self, book: MarketBook, delta: int, count: int) -> str | None:
        """Why a new order would break a position limit (counting open orders the same way), or None."""
        if self.max_position is None and self.max_total is None:
            return None
        same = sum(o.count - o.filled for o in self._open(book) if o.delta == delta)
        after = book.pos + delta * (same + count)
        if abs(after) <= abs(book.pos):
            return None  # reduces the position
        if self.max_position is not None and abs(after) > self.max_position:
            return "position limit per market"
        if self.max_total is not None:
            total = sum(abs(b.pos) for b in self.books) - abs(book.pos) + abs(after)
            if total > self.max_total:
                return "total position limit"
        return None

    def _open(self, book: MarketBook) -> list[Order]:
        flying = [o for _t, _s, o, c in self._pending if not c and o.market_index == book.index]
        return book.resting + [o for o in flying if o.status == "open"]

    def _arrive(self, book: MarketBook, order: Order) -> Order:
        """The order reaches the exchange: take from the other side, then rest or cancel the remainder."""
        self._release(order)
        delta, yes_price = order.delta, order.price
        fills, source, age, why = book.quotes.take(
            delta, yes_price, order.count, self.now, self.max_age, self.unsized
        )
        for q, p in fills:
            self._fill(book, order, q, p, True, SOURCES[source], age)
        if why is not None:
            self.refusals[f"unfilled at arrival: {why}"] += 1
        if order.filled < order.count and order.status == "open":
            if order.time_in_force == "ioc":
                order.status = "canceled"
                order.reason = "ioc remainder"
            else:
                queue_start(order, self._displayed(book, delta, yes_price), self.config.queue)
                book.resting.append(order)
                self._reserve(book, order)
        return order

    def _displayed(self, book: MarketBook, delta: int, price: int) -> int | None:
        """Size ahead of a new resting order at ``price``, from a fresh book; None if no fresh quote says."""
        q = book.quotes
        l2 = q.live_l2(self.now, self.max_age)
        if l2 is not None:
            return l2.displayed(delta, price)
        top = q.top[0 if delta > 0 else 1][MKT]
        if top is None or top[2] is None or self.now - top[0] > self.max_age:
            return None
        if price == top[1]:
            return top[2]
        return 0 if (price > top[1] if delta > 0 else price < top[1]) else None

    def _arrive_due(self, until: int | None) -> None:
        """Deliver orders and cancels due by ``until`` (all if None), each at its own arrival time, against the
        market as it stood then (nothing changes between replayed events)."""
        pending = self._pending
        current = self.now
        while pending and (until is None or pending[0][0] <= until):
            arrival, _seq, order, is_cancel = heapq.heappop(pending)
            if order.status != "open":
                continue
            self.now = max(arrival, current)
            book = self.books[order.market_index]
            if is_cancel:
                self._cancel_now(book, order)
            elif book.settled or (book.close_us is not None and self.now >= book.close_us):
                self._release(order)
                order.status, order.reason = "canceled", "market closed before the order arrived"
            else:
                self._arrive(book, order)
        self.now = current

    # -- collateral ---------------------------------------------------------------------------------------------
    def _unit_cost(self, order: Order) -> int:
        return order.price if order.delta > 0 else PRICE_SCALE - order.price

    def _reserve(self, book: MarketBook, order: Order) -> None:
        """Set aside the collateral of the order's opening part (its closing part needs none)."""
        remaining = order.count - order.filled
        opening = remaining - min(remaining, book.closable(order.delta))
        order.reserved = opening * self._unit_cost(order)
        self.reserved += order.reserved

    def _release(self, order: Order) -> None:
        self.reserved -= order.reserved
        order.reserved = 0

    def _affordable(
        self, book: MarketBook, delta: int, count: int, price: int, is_taker: bool = True, own: int = 0
    ) -> bool:
        """Free cash (minus the collateral of other open orders; ``own`` is this order's) covers the opening
        part of a trade at ``price`` plus its fee (closing trades free cash)."""
        opening = count - min(count, book.closable(delta))
        cost = opening * (price if delta > 0 else PRICE_SCALE - price)
        free = self.cash - (self.reserved - own)
        return free >= cost + book.fees.fee_units(count, price, is_taker, self.now)

    def cancel(self, order_id: int) -> bool:
        """Send a cancel: at once without latency, else it arrives like an order (the order may fill first)."""
        if not 0 < order_id <= len(self.orders):
            return False
        order = self.orders[order_id - 1]
        if order.status != "open" or order.market_index < 0:
            return False
        if self.latency_us:
            self._seq += 1
            heapq.heappush(self._pending, (self.now + self.latency_us, self._seq, order, True))
            return True
        self._cancel_now(self.books[order.market_index], order)
        return True

    def _cancel_now(self, book: MarketBook, order: Order) -> None:
        if order in book.resting:
            book.resting.remove(order)
        self._release(order)
        order.status = "canceled"
        order.reason = "canceled by strategy"

    def _fill(
        self,
        book: MarketBook,
        order: Order,
        count: int,
        price: int,
        is_taker: bool,
        source: str,
        age: int | None,
    ) -> None:
        trade = book.fees.trade_units(count, price, is_taker, self.now)
        resting = order.reserved > 0 or order in book.resting
        self._release(order)
        cash, realized = book.apply(order.delta, count, price)
        parts, self.fee_acc[order.order_id] = round_fill(
            cash, trade, self.fee_precision, self.fee_acc.get(order.order_id, 0)
        )
        fee = parts.net
        self.cash += parts.cash_change
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
        elif resting:
            self._reserve(book, order)
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
            source,
            age,
            book.fees.terms_at(self.now).source,
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
        b.quotes.rest.reset(snap.ts, snap.yes_bids, snap.no_bids)
        if not b.quotes.ws.whole:
            self._depth_seen(b, b.quotes.rest)
        if self._want_book:
            self._emit(self.strategy.on_book, snap)

    def _on_ws(self, mi: int, msg: tuple) -> None:
        """A recorded book message: a snapshot (re)starts the book, a delta moves one level of it."""
        b = self.books[mi]
        ws = b.quotes.ws
        if msg[0] == "snapshot":
            ws.reset(self.now, msg[2], msg[3], msg[1])
        elif ws.whole and ws.conn == msg[1]:  # a delta needs the snapshot of its own connection
            ws.apply_delta(self.now, msg[2], msg[3], msg[4])
        else:
            return
        self._depth_seen(b, ws)
        if self._want_book:
            self._emit(self.strategy.on_book, ws.to_book(b.ticker))

    def _on_cover(self, mi: int, item: tuple) -> None:
        """The recorder lost sight: a ticker's gap, a connection's drop or its stop make books unusable."""
        _mi, conn, event = item
        for b in [self.books[mi]] if mi >= 0 else self.books:
            if event != "disconnected" or b.quotes.ws.conn == conn:
                b.quotes.ws.whole = False

    def _depth_seen(self, b: MarketBook, l2: L2) -> None:
        for order in b.resting:
            queue_on_depth(
                order, l2.displayed(order.delta, order.price), self.config.queue, self.cancel_share
            )

    def _on_settle(self, mi: int, outcome) -> None:
        b = self.books[mi]
        for order in b.resting:
            self._release(order)
            order.status = "canceled"
            order.reason = "market settled"
        b.resting = []
        self.positions_value -= b.value
        payout, _realized = b.settle(outcome.value_micros)
        self.cash += payout  # rounded down to the cent (MarketBook.settle)
        self.equity.append((self.now, self.cash, self.positions_value))
        event = Settlement(self.now, b.ticker, outcome.result, outcome.value_micros)
        self.settlements.append(event)
        self._emit(self.strategy.on_settlement, event)

    def _schedule(self) -> list[tuple[int, int, int, object]]:
        """Non-trade events as (threshold, kind, market, payload): delivered before the first trade whose
        time reaches the threshold (quote events: their own time; candle/settlement: just after it)."""
        d = self.data
        # quote events feed the fill model, so they are replayed even when the strategy ignores them
        # the recorder's frames and coverage events: at one exchange time, in the order this machine received them
        # (a gap is placed at the time of the last frame before it, after that frame; data_books.py)
        recorded = [(ts, _COVER, mi, (mi, conn, ev), local) for ts, mi, conn, ev, local in d.ws_coverage]
        recorded += [(ts, _WS, mi, msg, local) for ts, mi, msg, local in d.ws_book]
        recorded.sort(key=lambda it: (it[0], it[4]))
        items = [it[:4] for it in recorded]
        items += [(ts, _BOOK, mi, snap) for ts, mi, snap in d.books]
        items += [(ts, _MQUOTE, mi, q) for ts, mi, *q in d.market_quotes]
        items += [(ts + 1, _CANDLE, mi, c) for ts, mi, c in d.candles]
        start = d.start_us
        for mi, outcome in enumerate(d.outcomes):
            if outcome is None:
                continue
            if start is not None and outcome.ts_us < start:
                # settled before the window opened: nothing to pay, no orders accepted, no event
                self.books[mi].settled = True
                self.books[mi].settle_value = outcome.value_micros
                continue
            items.append((outcome.ts_us + 1, _SETTLE, mi, outcome))
        # stable: messages of one market at one time keep their recorded order
        items.sort(key=_schedule_key)
        return items

    def _dispatch(self, item) -> None:
        threshold, kind, mi, payload = item
        event_ts = threshold if kind < _AFTER_TRADES else threshold - 1
        if self._pending and self._pending[0][0] <= event_ts:
            self._arrive_due(event_ts)
        self.now = event_ts
        if self.now >= self._day_end:
            self._roll_days(self.now)
        if kind == _WS:
            self._on_ws(mi, payload)
        elif kind == _BOOK:
            self._on_book(mi, payload)
        elif kind == _MQUOTE:
            self.books[mi].quotes.set_top(MKT, event_ts, *payload)
        elif kind == _CANDLE:
            self.books[mi].quotes.set_top(
                CANDLE, event_ts, payload.yes_bid_close, None, payload.yes_ask_close, None
            )
            if self._want_candle:
                self._emit(self.strategy.on_candle, payload)
        elif kind == _COVER:
            self._on_cover(mi, payload)
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
        cap = self.participation
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
                if not block:  # a block trade is negotiated off the book: it neither fills nor quotes
                    ours = count if cap is None else count * cap.numerator // cap.denominator
                    if b.resting:
                        self._match(b, price, count, side, queue, ours)
                    if side:  # a taker who bought shows an ask at the price, one who sold a bid
                        b.quotes.top[1 if side == 1 else 0][PRINT] = [ts, price, ours, 0]
                b.last_ts = ts
                b.last_price = price
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
        for _arrival, _id, order, _c in self._pending:  # still in flight when the data ended
            if order.status == "open":
                self._release(order)
                order.status, order.reason = "canceled", "end of backtest"
        self._pending = []
        for b in books:
            for order in b.resting:
                self._release(order)
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
            self.refusals,
        )

    def _match(self, b: MarketBook, price: int, count: int, side: int, queue: str, ours: int) -> None:
        """Fill resting orders from one print (see ``fills.match_resting``)."""
        for order, q in match_resting(b.resting, price, count, side, queue, ours):
            if order.status != "open":  # cancelled by an on_fill handler meanwhile
                continue
            if not self._affordable(b, order.delta, q, order.price, is_taker=False, own=order.reserved):
                self._release(order)
                order.status = "canceled"
                order.reason = "not enough cash when the resting order filled"
                self.refusals["canceled: not enough cash when the resting order filled"] += 1
                continue
            self._fill(b, order, q, order.price, False, "print", 0)
        b.resting = [o for o in b.resting if o.status == "open"]


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
