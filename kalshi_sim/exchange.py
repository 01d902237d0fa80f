"""The exchange state: clock, world, books, tape, accounts, orders, lifecycle and background trading.

Time only moves through :meth:`Exchange.advance` (and by one microsecond per user order action, so user
events are strictly ordered); nothing reads the wall clock except the signature check, so the same seed
and the same calls give byte-identical responses.

Background participants: sixteen bots per market. Makers keep a three-level ladder on each side around
the event's fair probability (refreshed before every arrival), takers arrive as a Poisson process and
send immediate-or-cancel orders that cross the spread by 0–2 ticks. Both go through the same
price-time priority :class:`~kalshi_sim.book.Book` as user orders, so trades, the book, candlesticks,
open interest and market snapshots all agree.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kalshi_sim import bulk, fmt, order_groups
from kalshi_sim.accounts import Account, Position, trade_fee
from kalshi_sim.book import Book, Order
from kalshi_sim.fees import build_schedule, round_fill
from kalshi_sim.tape import Tape
from kalshi_sim.world import (
    DAY,
    HOUR,
    TRADES_PER_ARRIVAL,
    EventDef,
    MarketDef,
    SeriesDef,
    build_series,
    day_of,
    default_origin,
    events_for_day,
    snap_down,
    snap_up,
    tick_above,
    tick_below,
)

SIZES = {  # name → (trades of history, days of history, historical-cutoff lag in days)
    "tiny": (600, 4, 2),
    "small": (3_000, 6, 3),
    "demo": (40_000, 21, 7),
    "large": (1_000_000, 45, 14),
}
FUTURE_DAYS = 2
# one advance call moves the clock at most this far (each simulated day costs memory: markets, tape, books)
MAX_ADVANCE_SECONDS = 31 * 86400
N_BOTS = 16


def size_params(size) -> tuple[int, int, int]:
    if isinstance(size, int) or (isinstance(size, str) and size.isdigit()):
        n = int(size)
        if n < 1:
            raise ValueError("size must be a positive number of trades")
        days = 6 if n <= 10_000 else 21 if n <= 200_000 else 45
        return n, days, 3 if days == 6 else 7 if days == 21 else 14
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)} or a number of trades")
    return SIZES[size]


class Exchange:
    """All mutable state. Every public method takes ``self.lock``."""

    def __init__(self, seed: int = 7, size="small", origin_us: int | None = None) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.n_target, self.history_days, self.cutoff_lag_days = size_params(size)
        origin = default_origin() if origin_us is None else origin_us
        self.start_us = origin - self.history_days * DAY
        self.now_us = self.start_us
        self.cutoff_us = self.start_us
        self.series: list[SeriesDef] = build_series(self.start_us - 30 * DAY)
        self.series_by_ticker = {s.ticker: s for s in self.series}
        self.events: list[EventDef] = []
        self.events_by_ticker: dict[str, EventDef] = {}
        self.markets: list[MarketDef] = []
        self.market_by_ticker: dict[str, MarketDef] = {}
        self.event_of: list[EventDef] = []
        self.books: list[Book] = []
        self.tape = Tape(0)
        self.bot_pos: list[dict] = []
        self.long_oi: list[int] = []
        self.closed_done: list[bool] = []
        self.settled_done: list[bool] = []
        self.days_built = -1 << 62
        self.first_day = day_of(self.start_us) - 1
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        self.id_rng = random.Random(seed * 7919 + 1)
        self.flow_rng = random.Random(seed * 104_729 + 3)
        # combos trade on their own random streams, so the other markets' flow (and ids) stay as they were
        self.combo_rng = random.Random(seed * 15_485_863 + 11)
        self.combo_id_rng = random.Random(seed * 32_452_843 + 13)
        self.seq = 0
        self._pending_lifecycle: list[tuple[int, int, int]] = []
        self.feed = None  # kalshi_sim.ws_feed.Feed once the WebSocket is served
        self._ensure_days(day_of(origin) + FUTURE_DAYS)
        self.fees = build_schedule(self, origin)
        self.order_groups: dict = {}  # id → kalshi_sim.order_groups.OrderGroup
        self.groups_to_trigger: set[str] = set()
        self.group_rng = random.Random(seed * 7907 + 5)  # own ids: the other ids stay as they were
        self.rate = self._calibrate_rate(origin)
        if self.n_target > bulk.BULK_THRESHOLD:
            bulk.generate(self, self.start_us, origin)
            self.advance_to(origin, background=False)
            for m in self.markets:
                if m.open_us <= origin < m.close_us and not m.is_mve and m.weight > 0:
                    self._refresh_makers(origin, m.idx)
                    self._quote(origin, m.idx)
        else:
            self.advance_to(origin)

    # ------------------------------------------------------------------------------------------
    # world building
    # ------------------------------------------------------------------------------------------
    def new_id(self) -> str:
        return fmt.uuid_from_int(self.id_rng.getrandbits(128))

    def new_group_id(self) -> str:
        return fmt.uuid_from_int(self.group_rng.getrandbits(128))

    def _ensure_days(self, last_day: int) -> None:
        if last_day <= self.days_built:
            return
        start = max(self.days_built + 1, self.first_day)
        for day in range(start, last_day + 1):
            for s in self.series:
                idx = [len(self.markets)]
                for ev in events_for_day(self.seed, s, day, idx):
                    self._add_event(ev)
        self.days_built = last_day

    def _add_event(self, ev: EventDef) -> None:
        self.events.append(ev)
        self.events_by_ticker[ev.event_ticker] = ev
        for m in ev.markets:
            assert m.idx == len(self.markets)
            self.markets.append(m)
            self.market_by_ticker[m.ticker] = m
            self.event_of.append(ev)
            self.books.append(Book())
            self.bot_pos.append({})
            self.long_oi.append(0)
            self.closed_done.append(False)
            self.settled_done.append(False)
        self.tape.ensure_markets(len(self.markets))

    def _calibrate_rate(self, origin: int) -> float:
        """Arrivals per µs per unit of market weight so that history holds about n_target trades."""
        exposure = 0.0
        for m in self.markets:
            if m.is_mve or m.weight <= 0:
                continue
            lo, hi = max(m.open_us, self.start_us), min(m.close_us, origin)
            if hi > lo:
                exposure += m.weight * (hi - lo)
        return self.n_target / TRADES_PER_ARRIVAL / max(exposure, 1.0)

    # ------------------------------------------------------------------------------------------
    # time
    # ------------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("seconds must be ≥ 0")
        if seconds > MAX_ADVANCE_SECONDS:
            raise ValueError(
                f"advance at most {MAX_ADVANCE_SECONDS // 86400} days per call ({seconds:g} s asked); "
                "advance again to go further"
            )
        with self.lock:
            self.advance_to(self.now_us + int(seconds * 1_000_000))

    def tick(self) -> int:
        """Move the clock by one microsecond for a user action; returns the new time."""
        self.now_us += 1
        return self.now_us

    def advance_to(self, t1: int, background: bool = True) -> None:
        """Generate background activity and lifecycle transitions over [now, t1)."""
        with self.lock:
            t0 = self.now_us
            if t1 <= t0:
                return
            self._ensure_days(day_of(t1) + FUTURE_DAYS)
            rng = self.flow_rng
            agenda: list[tuple[int, int, int]] = []
            for m in self.markets:
                i = m.idx
                if not self.settled_done[i] and m.settle_us < t1:
                    if not self.closed_done[i]:
                        agenda.append((max(m.close_us, t0), 1, i))
                    agenda.append((max(m.settle_us, t0), 2, i))
                elif not self.closed_done[i] and m.close_us < t1:
                    agenda.append((max(m.close_us, t0), 1, i))
                if m.weight <= 0 or not background:
                    continue
                lo, hi = max(m.open_us, t0), min(m.close_us, t1)
                if hi <= lo:
                    continue
                draw = self.combo_rng if m.is_mve else rng
                lam = self.rate * m.weight * (hi - lo)
                n = _poisson(draw, lam)
                span = hi - lo
                for _ in range(n):
                    agenda.append((lo + int(draw.random() * span), 6 if m.is_mve else 0, i))
            expiring = [
                o
                for a in self.accounts.values()
                for o in a.orders
                if o.status == "resting" and o.expiration_us is not None and o.expiration_us < t1
            ]
            for k, o in enumerate(expiring):
                agenda.append((max(o.expiration_us, t0), 3, k))
            if self.feed is not None and self.feed.wants_lifecycle():
                agenda += self._lifecycle_agenda(t0, t1)
            agenda.sort()
            for t, kind, i in agenda:
                if kind == 0:
                    self._bot_arrival(t, i)
                elif kind == 6:
                    self._combo_arrival(t, i)
                elif kind == 1:
                    self._close_market(t, i)
                elif kind == 2:
                    self._settle_market(t, i)
                elif kind == 4:
                    self.feed.event_created(self.events[i])
                elif kind == 5:
                    self.feed.lifecycle(self.markets[i // 3], ("created", "activated", "determined")[i % 3])
                else:
                    o = expiring[i]
                    if o.status == "resting":  # good-till-time order reached its expiration
                        self.books[o.market].remove(o)
                        self._finish_order(o, "canceled", t)
                        self._quote(t, o.market)
            self.now_us = t1
            lag_cut = t1 - self.cutoff_lag_days * DAY
            self.cutoff_us = max(self.cutoff_us, lag_cut - lag_cut % HOUR)

    def _lifecycle_agenda(self, t0: int, t1: int) -> list[tuple[int, int, int]]:
        """WebSocket lifecycle messages due in [t0, t1): event created (4), market created/activated/determined (5)."""
        out = [(ev.created_us, 4, k) for k, ev in enumerate(self.events) if t0 <= ev.created_us < t1]
        for m in self.markets:
            for what, t in enumerate((m.created_us, m.open_us, m.determine_us)):
                if t0 <= t < t1:
                    out.append((t, 5, m.idx * 3 + what))
        return out

    # ------------------------------------------------------------------------------------------
    # background participants
    # ------------------------------------------------------------------------------------------
    def _refresh_makers(self, t: int, i: int) -> None:
        """Makers pull stale quotes and keep three levels per side around the fair price."""
        m = self.markets[i]
        book = self.books[i]
        rng = self.flow_rng
        fair = int(self.fair(i, t) * 10_000)
        st = m.structure
        hs = tick_below(st, fair) * rng.choice((1, 1, 2, 3)) // 2 + 5
        tb = snap_down(st, fair - hs)
        ta = snap_up(st, fair + hs)
        if ta <= tb:
            ta = snap_up(st, tb + 1)
        self._pull_bots(book, "bid", lambda p: p > tb or p < tb - 6 * tick_below(st, tb))
        self._pull_bots(book, "ask", lambda p: p < ta or p > ta + 6 * tick_above(st, ta))
        p = tb
        for _ in range(3):
            if p <= 0:
                break
            if p not in book.bids:
                self._bot_post(book, i, "bid", p, t)
            p -= tick_below(st, p)
        p = ta
        for _ in range(3):
            if p >= 10_000:
                break
            if p not in book.asks:
                self._bot_post(book, i, "ask", p, t)
            p += tick_above(st, p)

    def _bot_arrival(self, t: int, i: int) -> None:
        st = self.markets[i].structure
        book = self.books[i]
        rng = self.flow_rng
        self._refresh_makers(t, i)
        # taker
        side = "bid" if rng.random() < 0.5 else "ask"
        count = self._bot_size()
        if side == "bid":
            best = book.best_ask()
            if best >= 10_000:
                self._quote(t, i)
                return
            limit = best
            for _ in range(rng.choice((0, 0, 1, 2))):
                limit = min(limit + tick_above(st, limit), 9_990 if st != "linear_cent" else 9_900)
        else:
            best = book.best_bid()
            if best <= 0:
                self._quote(t, i)
                return
            limit = best
            for _ in range(rng.choice((0, 0, 1, 2))):
                limit = max(limit - tick_below(st, limit), 10 if st != "linear_cent" else 100)
        taker = Order("", rng.randrange(N_BOTS), i, side, limit, count, t)
        taker.tif = "immediate_or_cancel"
        self._execute(taker, t)
        self._quote(t, i)

    def _combo_arrival(self, t: int, i: int) -> None:
        """A background arrival on a combo market, drawn from the combos' own random streams."""
        flow, ids = self.flow_rng, self.id_rng
        self.flow_rng, self.id_rng = self.combo_rng, self.combo_id_rng
        try:
            self._bot_arrival(t, i)
        finally:
            self.flow_rng, self.id_rng = flow, ids

    def fair(self, i: int, t: int) -> float:
        """Fair YES probability of market ``i`` at ``t``; a combo's is the product over its legs (the legs' events
        are independent in this world) of the leg's probability of resolving to the leg's side."""
        m = self.markets[i]
        if not m.is_mve:
            return self.event_of[i].fair(m, t)
        p = 1.0
        for leg in m.mve["mve_selected_legs"]:
            lm = self.market_by_ticker[leg["market_ticker"]]
            q = self.event_of[lm.idx].fair(lm, t)
            p *= q if leg["side"] == "yes" else 1.0 - q
        return min(max(p, 0.003), 0.997)

    def _bot_size(self) -> int:
        r = self.flow_rng.random()
        whole = int(self.flow_rng.lognormvariate(2.3, 1.1)) + 1
        if r < 0.12:
            return whole * 100 + self.flow_rng.randrange(1, 100)
        return min(whole, 5_000) * 100

    def _bot_post(self, book: Book, i: int, side: str, price: int, t: int) -> None:
        o = Order("", self.flow_rng.randrange(N_BOTS), i, side, price, self._bot_size() * 2, t)
        book.add(o)

    @staticmethod
    def _pull_bots(book: Book, side: str, stale) -> None:
        d = book.bids if side == "bid" else book.asks
        prices = book.bid_prices if side == "bid" else book.ask_prices
        for p in [p for p in prices if stale(p)]:
            q = d[p]
            keep = [o for o in q if not isinstance(o.owner, int)]
            if len(keep) == len(q):
                continue
            if keep:
                q.clear()
                q.extend(keep)
            else:
                del d[p]
                prices.remove(p)

    def _quote(self, t: int, i: int) -> None:
        """End of one change of market i: record the quote and publish the change to the WebSocket feed."""
        b = self.books[i]
        self.tape.series[i].record_quote(t, b.best_bid(), b.best_ask())
        if self.feed is not None:
            self.feed.step(t, i)

    @contextmanager
    def caused_by(self, o: Order) -> Iterator[None]:
        """The book changes published inside this block were caused by order ``o``: the WebSocket feed tells
        ``o``'s owner (only them) its ``client_order_id`` on those ``orderbook_delta`` messages (AsyncAPI: "present
        only when you caused this orderbook change"). The outermost cause wins: the cancels of an order group
        triggered by a user's taker order are that order's doing; those triggered by a background taker are
        nobody's (a bot is the cause, and it has no subscriber). Set for a user's requests on an order (place,
        amend, decrease, cancel, an order group trigger/delete/limit) and by every match; an expiry or a close
        is the exchange's own doing and has no cause."""
        feed = self.feed
        if feed is None or feed.cause is not None:
            yield
            return
        feed.cause = o
        try:
            yield
        finally:
            feed.cause = None

    def _touch_order(self, o: Order) -> None:
        if self.feed is not None and isinstance(o.owner, str):
            self.feed.order_dirty(o)

    # ------------------------------------------------------------------------------------------
    # matching and booking
    # ------------------------------------------------------------------------------------------
    def _execute(self, taker: Order, t: int) -> tuple[int, int, int]:
        """Match a taker order; books trades, fills, fees and positions.

        Returns (filled count, total YES-price cost in pips·hundredths, taker fee µ$).
        """
        stp = None
        if isinstance(taker.owner, str):
            owner = taker.owner

            def stp(mk: Order):
                if mk.owner != owner:
                    return None
                return "taker" if taker.stp == "taker_at_cross" else "maker"

        with self.caused_by(taker):
            return self._match(taker, t, stp)

    def _match(self, taker: Order, t: int, stp) -> tuple[int, int, int]:
        i = taker.market
        book = self.books[i]
        fills, canceled, stopped = book.match(taker, taker.remaining, stp)
        for mk in canceled:
            self._finish_order(mk, "canceled", t)
        filled = cost = fee_total = 0
        m = self.markets[i]
        for mk, n, p in fills:
            trade_id = self.new_id()
            self._move_oi(i, taker.owner, taker.side, n)
            self._move_oi(i, mk.owner, mk.side, n)
            self.tape.append(t, i, m.ticker, p, n, taker.side, trade_id, self.long_oi[i])
            if self.feed is not None:
                self.feed.trade(t, i, p, n, taker.side, trade_id)
            fee_total += self._book_fill(taker, n, p, t, trade_id, True)
            self._book_fill(mk, n, p, t, trade_id, False)
            if mk.remaining == 0 and isinstance(mk.owner, str):
                self._finish_order(mk, "executed", t)
            filled += n
            cost += n * p
        taker.remaining -= filled
        taker.filled += filled
        if stopped and isinstance(taker.owner, str):
            taker.remaining = 0
        if self.groups_to_trigger:
            order_groups.trigger_pending(self, t, taker)
        return filled, cost, fee_total

    def _move_oi(self, i: int, owner, side: str, n: int) -> None:
        pos = self.bot_pos[i]
        before = pos.get(owner, 0)
        after = before + (n if side == "bid" else -n)
        pos[owner] = after
        self.long_oi[i] += max(after, 0) - max(before, 0)

    def _book_fill(self, o: Order, n: int, p: int, t: int, trade_id: str, is_taker: bool) -> int:
        if not isinstance(o.owner, str):
            return 0
        acct = self.accounts[o.owner]
        m = self.markets[o.market]
        fee_type, mult = self.fees.terms_at(m.series_ticker, m.event_ticker, t)
        led = acct.ledger(o.subaccount)  # the order's subaccount holds the position and pays
        pos = led.positions.get(o.market)
        if pos is None:
            pos = led.positions[o.market] = Position()
        cash = pos.apply_fill(o.side, n, p)
        # fee rounding (kalshi_sim.fees.round_fill): trade fee + rounding fee − rebate from the order's accumulator
        parts, acct.fee_accumulators[o.order_id] = round_fill(
            cash,
            trade_fee(fee_type, mult, n, p, is_taker),
            acct.balance_precision,
            acct.fee_accumulators.get(o.order_id, 0),
        )
        fee = parts.net
        pos.fees += fee
        pos.last_updated_us = t
        led.balance += parts.balance_change
        led.updated_us = t
        acct.updated_us = t
        paid = n * p if o.side == "bid" else n * (10_000 - p)
        if is_taker:
            o.taker_cost += paid
            o.taker_fees += fee
        else:
            o.maker_cost += paid
            o.maker_fees += fee
        o.updated_us = t
        if o.group_id is not None:
            order_groups.record_fill(self, o, n, t)
        if self.feed is not None:
            self.feed.fill(acct, o, n, p, t, trade_id, is_taker, fee, pos.net)
            self.feed.order_dirty(o)
            self.feed.position_dirty(acct, o.market, o.subaccount)
        acct.fills.append(
            {
                "fill_id": trade_id,
                "order_id": o.order_id,
                "market": o.market,
                "side": o.side,
                "count": n,
                "price": p,
                "is_taker": is_taker,
                "fee": fee,
                "t": t,
                "sub": o.subaccount,
            }
        )
        return fee

    def _finish_order(self, o: Order, status: str, t: int) -> None:
        if status == "canceled":
            o.remaining = 0
        o.status = status
        o.updated_us = t
        o.closed_us = t
        self._touch_order(o)

    # ------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------
    def _close_market(self, t: int, i: int) -> None:
        if self.closed_done[i]:
            return
        book = self.books[i]
        for o in list(book.orders()):
            if isinstance(o.owner, str) and o.status == "resting":
                self._finish_order(o, "canceled", t)
        self.books[i] = Book()
        self.tape.series[i].record_quote(t, 0, 10_000)
        self.closed_done[i] = True
        if self.feed is not None:
            self.feed.step(t, i)

    def _settle_market(self, t: int, i: int) -> None:
        if self.settled_done[i]:
            return
        if not self.closed_done[i]:
            self._close_market(t, i)
        m = self.markets[i]
        st = m.settle_us
        for acct in self.accounts.values():
            for sub, led in list(acct.ledgers()):  # one settlement per subaccount holding it
                pos = led.positions.get(i)
                if pos is None or pos.settled:
                    continue
                payout, yes_c, yes_cost, no_c, no_cost = pos.settle(m.settle_pips)
                payout -= payout % 10_000  # paid rounded down to the cent (docs "Market Settlement")
                pos.last_updated_us = st
                led.balance += payout
                led.updated_us = st
                acct.updated_us = st
                acct.settlements.append(
                    {
                        "sub": sub,
                        "market": i,
                        "yes_count": yes_c,
                        "yes_cost": yes_cost,
                        "no_count": no_c,
                        "no_cost": no_cost,
                        "revenue_cents": payout // 10_000,
                        "fee": pos.fees,
                        "t": st,
                    }
                )
                if self.feed is not None:
                    self.feed.position_dirty(acct, i, sub)
        self.settled_done[i] = True
        if self.feed is not None:
            self.feed.lifecycle(m, "settled")
            self.feed.step(t, None)

    # ------------------------------------------------------------------------------------------
    # status helpers
    # ------------------------------------------------------------------------------------------
    def market_status(self, m: MarketDef, now: int | None = None) -> str:
        now = self.now_us if now is None else now
        if now < m.open_us:
            return "initialized"
        if now < m.close_us:
            return "active"
        if now < m.determine_us:
            return "closed"
        if now < m.settle_us:
            return "determined"
        return "finalized"

    def market_updated_us(self, m: MarketDef) -> int:
        now = self.now_us
        last = m.created_us
        for t in (m.open_us, m.close_us, m.determine_us, m.settle_us):
            if t <= now:
                last = max(last, t)
        return last

    def is_historical_market(self, m: MarketDef) -> bool:
        return self.settled_done[m.idx] and m.settle_us < self.cutoff_us

    def visible_markets(self) -> list[MarketDef]:
        """Markets that exist at the current time (created at or before now)."""
        now = self.now_us
        return [m for m in self.markets if m.created_us <= now]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, int(round(rng.gauss(lam, lam**0.5))))
    import math

    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
