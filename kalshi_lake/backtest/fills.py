"""The fill model: how simulated orders meet the replayed market.

* **Marketable orders** (a buy at or above the prevailing ask, a sell at or below the prevailing bid) fill at
  once, as taker, against the prevailing liquidity at its prices and sizes:
  - the latest order-book snapshot if it is at most ``max_quote_age_s`` old (levels best first; what our
    fills take is removed from our copy of that snapshot until the next one arrives), else
  - the latest trade, if at most ``max_quote_age_s`` old: its price, up to its size not yet used by our fills
    (a trade is taken as evidence of liquidity at that price on both sides), else nothing.
  The unfilled part rests (``gtc``) or is cancelled (``ioc``).
* **Resting limit orders** fill, as maker, at their own limit price, only when the tape trades through them:
  a later trade strictly better than the limit (for a bid: a YES price below it) fills up to that trade's
  size. A trade exactly at the limit, with the taker on the other side (or unknown), fills it only under the
  queue assumption ``queue``:
  - ``through`` (default, conservative): never;
  - ``front``: we are first in the queue, the trade fills us;
  - ``back``: we joined the back of the queue; volume traded at our price first uses up the size that was
    displayed at that level when we placed the order (0 without a book), then fills us.
  One trade's size is shared by all our resting orders it fills (oldest first).
* **Latency** (``latency_ms``, default 0): an order reaches the exchange that long after the strategy sent it
  (checks on the request itself happen at once); it then meets the market as it stood at its arrival time.
* **Block trades** (``is_block_trade``) are negotiated off the book: they mark positions and reach the
  strategy, but they neither fill resting orders nor count as liquidity.
"""

from __future__ import annotations

QUEUE_MODELS = ("through", "front", "back")


def displayed_at(book, delta: int, price: int) -> int:
    """Size displayed at ``price`` on our side of the book (the queue ahead of a new resting order)."""
    levels = book.yes_bids if delta > 0 else book.yes_asks
    for p, size in levels:
        if p == price:
            return size
    return 0


def take_liquidity(
    book, delta: int, limit: int, wanted: int, now: int, max_age_us: int
) -> list[tuple[int, int]]:
    """Consume prevailing liquidity for a marketable order: returns [(count, price), ...] fills."""
    fills: list[tuple[int, int]] = []
    if book.book_ts is not None and now - book.book_ts <= max_age_us:
        levels = book.yes_asks if delta > 0 else book.yes_bids
        while wanted and levels:
            level = levels[0]
            price = level[0]
            if (delta > 0 and price > limit) or (delta < 0 and price < limit):
                break
            q = min(wanted, level[1])
            fills.append((q, price))
            wanted -= q
            level[1] -= q
            if not level[1]:
                levels.pop(0)
        return fills
    if book.last_ts is not None and now - book.last_ts <= max_age_us and book.last_avail > 0:
        price = book.last_price
        if (delta > 0 and price <= limit) or (delta < 0 and price >= limit):
            q = min(wanted, book.last_avail)
            book.last_avail -= q
            fills.append((q, price))
    return fills


def match_resting(book, price: int, count: int, taker_side: int, queue: str) -> list[tuple[object, int]]:
    """Match our resting orders in ``book`` against one tape trade. Returns [(order, count), ...]."""
    out: list[tuple[object, int]] = []
    avail = count
    for order in book.resting:
        if avail <= 0:
            break
        limit = order.price
        if order.delta > 0:
            through = price < limit
            at = price == limit and taker_side != 1  # the taker sold YES into the bids
        else:
            through = price > limit
            at = price == limit and taker_side != -1
        if not through:
            if not at or queue == "through":
                continue
            if queue == "back" and order.queue_ahead > 0:
                used = min(avail, order.queue_ahead)
                order.queue_ahead -= used
                avail -= used
                if avail <= 0:
                    break
        q = min(order.count - order.filled, avail)
        if q > 0:
            out.append((order, q))
            avail -= q
    return out
