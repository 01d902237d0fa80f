"""Price-time priority order book of one market, quoted from the YES side.

A resting *bid* at p is a YES bid; a resting *ask* at p is a NO bid at 1−p (Kalshi keeps bids only: a YES
bid at p crosses a NO bid at q when p + q ≥ $1). An incoming bid at limit p matches resting asks from the
lowest YES price upwards while price ≤ p; an incoming ask matches resting bids from the highest down while
price ≥ p. Within a level, first in first out. Trades happen at the resting (maker) order's price.
"""

from __future__ import annotations

import bisect
from collections import deque


class Order:
    """One order. Units: price in pips, counts in hundredths, money in micro-dollars."""

    __slots__ = (
        "order_id",
        "owner",
        "market",
        "side",
        "price",
        "initial",
        "remaining",
        "filled",
        "status",
        "created_us",
        "updated_us",
        "client_order_id",
        "tif",
        "stp",
        "expiration_us",
        "post_only",
        "cancel_on_pause",
        "subaccount",
        "taker_cost",
        "maker_cost",
        "taker_fees",
        "maker_fees",
        "closed_us",
        "user_id",
        "group_id",
    )

    def __init__(self, order_id: str, owner, market: int, side: str, price: int, count: int, created_us: int):
        self.order_id = order_id
        self.owner = owner  # account key id (str) for users, int for background bots
        self.market = market
        self.side = side  # "bid" (buy YES) | "ask" (sell YES = buy NO)
        self.price = price  # YES price in pips
        self.initial = count
        self.remaining = count
        self.filled = 0
        self.status = "resting"
        self.created_us = created_us
        self.updated_us = created_us
        self.closed_us = None
        self.client_order_id = ""
        self.tif = "good_till_canceled"
        self.stp = "taker_at_cross"
        self.expiration_us = None
        self.post_only = False
        self.cancel_on_pause = False
        self.subaccount = 0
        self.taker_cost = 0
        self.maker_cost = 0
        self.taker_fees = 0
        self.maker_fees = 0
        self.user_id = ""
        self.group_id = None  # order group (kalshi_sim.order_groups) of a user order


class Book:
    """Resting orders of one market."""

    __slots__ = ("bids", "asks", "bid_prices", "ask_prices")

    def __init__(self) -> None:
        self.bids: dict[int, deque[Order]] = {}
        self.asks: dict[int, deque[Order]] = {}
        self.bid_prices: list[int] = []  # ascending
        self.ask_prices: list[int] = []  # ascending (YES prices of NO bids)

    def _side(self, side: str):
        """The (price -> queue) dict and ascending price list of one side of the book."""
        return (self.bids, self.bid_prices) if side == "bid" else (self.asks, self.ask_prices)

    # -- queries ------------------------------------------------------------------------------
    def best_bid(self) -> int:
        return self.bid_prices[-1] if self.bid_prices else 0

    def best_ask(self) -> int:
        """Lowest YES ask in pips (10000 = no ask)."""
        return self.ask_prices[0] if self.ask_prices else 10_000

    def size_at(self, side: str, price: int) -> int:
        q = (self.bids if side == "bid" else self.asks).get(price)
        return sum(o.remaining for o in q) if q else 0

    def levels(self, side: str) -> list[tuple[int, int]]:
        """(YES price, total count) per level, ascending by YES price."""
        d, prices = self._side(side)
        return [(p, sum(o.remaining for o in d[p])) for p in prices]

    def orders(self):
        for d in (self.bids, self.asks):
            for q in d.values():
                yield from q

    # -- mutation -----------------------------------------------------------------------------
    def add(self, o: Order) -> None:
        d, prices = self._side(o.side)
        q = d.get(o.price)
        if q is None:
            q = d[o.price] = deque()
            bisect.insort(prices, o.price)
        q.append(o)

    def remove(self, o: Order) -> None:
        d, prices = self._side(o.side)
        q = d.get(o.price)
        if q is None:
            return
        try:
            q.remove(o)
        except ValueError:
            return
        if not q:
            del d[o.price]
            i = bisect.bisect_left(prices, o.price)
            if i < len(prices) and prices[i] == o.price:
                prices.pop(i)

    def crosses(self, side: str, price: int) -> bool:
        if side == "bid":
            return bool(self.ask_prices) and self.ask_prices[0] <= price
        return bool(self.bid_prices) and self.bid_prices[-1] >= price

    def match(self, taker: Order, max_count: int, stp_check=None):
        """Match ``taker`` against the book for up to ``max_count``.

        Returns (fills, stopped) where fills is a list of (maker_order, count, price) and ``stopped`` is
        True when self-trade prevention stopped the taker (taker_at_cross). ``stp_check(maker)`` returns
        None (trade), "taker" (stop the taker) or "maker" (cancel the maker and continue); the caller
        cancels such makers itself from the returned ``canceled`` list.
        """
        fills: list[tuple[Order, int, int]] = []
        canceled: list[Order] = []
        left = max_count
        d, prices = self._side("ask" if taker.side == "bid" else "bid")
        stopped = False
        while left > 0 and prices:
            p = prices[0] if taker.side == "bid" else prices[-1]
            if (taker.side == "bid" and p > taker.price) or (taker.side == "ask" and p < taker.price):
                break
            q = d[p]
            while left > 0 and q:
                mk = q[0]
                if stp_check is not None:
                    verdict = stp_check(mk)
                    if verdict == "taker":
                        stopped = True
                        break
                    if verdict == "maker":
                        q.popleft()
                        canceled.append(mk)
                        continue
                n = mk.remaining if mk.remaining < left else left
                fills.append((mk, n, p))
                left -= n
                mk.remaining -= n
                mk.filled += n
                if mk.remaining == 0:
                    q.popleft()
            if not q:
                del d[p]
                if taker.side == "bid":
                    prices.pop(0)
                else:
                    prices.pop()
            if stopped:
                break
        return fills, canceled, stopped
