"""The fill model: how simulated orders meet the replayed market.

* **Marketable orders** fill at once, as taker, from the other side of the book only (a buy takes asks, a sell
  takes bids), from the freshest quote available (``quotes.py``: recorded L2 book, REST snapshot, markets row,
  candle, a print whose taker hit that side), walking L2 levels up to the limit and using up what they take.
  No quote younger than ``max_quote_age`` → no fill; the engine counts each such order by reason. Each fill
  records its price source and the quote's age (``bt_fills.price_source``, ``quote_age_ms``).
  The unfilled part rests (``gtc``) or is cancelled (``ioc``).
* **Resting orders** fill, as maker at their own limit, only from prints whose taker came to their side (a
  bid is filled by a taker who sold, an ask by one who bought; unknown-side and block prints fill nothing):
  - a print strictly better than the limit (through it) fills up to its size;
  - a print exactly at the limit fills it according to the queue model ``queue``:
    ``through``      never (the most conservative; default);
    ``front``        at once: we are first in line (optimistic, for comparison only);
    ``risk_averse``  (alias ``back``) hftbacktest's RiskAdverseQueueModel: the queue ahead starts at the size
                     displayed at our price when the order arrived, shrinks only by prints at our price, and is
                     capped by the level's size whenever the book is seen again (what is not there cannot be
                     ahead of us);
    ``prob``         hftbacktest's probabilistic queue: as ``risk_averse``, plus a fall of the level's size
                     that prints do not explain (cancels) is taken from the queue ahead with probability
                     ``queue_cancel_ahead`` (its expected value, so runs are reproducible).
  The queue ahead is unknown when no fresh L2 book (or a sized markets quote at that price) was there when the
  order arrived; then only prints through the limit fill it until a book is seen, and everything displayed at
  our price then counts as ahead.
* ``max_participation`` caps our share of each print (resting fills, and taker fills from print evidence).
* One print's size is shared by all our resting orders it fills (oldest first).
"""

from __future__ import annotations

from fractions import Fraction

from kalshi_lake.backtest.events import ASK, BID

QUEUE_MODELS = ("through", "front", "risk_averse", "back", "prob")


def queue_start(order, displayed: int | None, queue: str) -> None:
    """Set a new resting order's place in line from the size displayed at its price (None = unknown)."""
    if queue == "front":
        order.queue_ahead = 0
        return
    order.queue_ahead = displayed
    order.level_seen = displayed or 0
    order.traded_at = 0


def queue_on_depth(order, size: int, queue: str, cancel_share: Fraction) -> None:
    """The book was seen again: ``size`` rests at the order's price on its side."""
    if queue in ("through", "front"):
        return
    if order.queue_ahead is None:  # first look at the level since the order arrived: all of it is ahead
        order.queue_ahead = size
    else:
        ahead = order.queue_ahead
        if queue == "prob":
            cancels = order.level_seen - size - order.traded_at
            if cancels > 0:
                ahead -= cancels * cancel_share.numerator // cancel_share.denominator
        order.queue_ahead = max(0, min(ahead, size))
    order.level_seen = size
    order.traded_at = 0


def match_resting(
    resting: list, price: int, count: int, taker_side: int, queue: str, ours: int
) -> list[tuple[object, int]]:
    """Match our resting orders against one print. ``ours`` caps our total (participation).
    Returns [(order, count), ...]."""
    out: list[tuple[object, int]] = []
    avail = count
    for order in resting:
        if avail <= 0 or ours <= 0:
            break
        limit = order.price
        if order.delta > 0:
            if taker_side != ASK:  # only a taker who sold reaches a bid
                continue
            through = price < limit
        else:
            if taker_side != BID:
                continue
            through = price > limit
        if not through:
            if price != limit:
                continue
            order.traded_at += count
            if queue == "through":
                continue
            if queue != "front":
                ahead = order.queue_ahead
                if ahead is None:
                    continue
                if ahead > 0:
                    used = min(avail, ahead)
                    order.queue_ahead = ahead - used
                    avail -= used
                    if avail <= 0:
                        break
        q = min(order.count - order.filled, avail, ours)
        if q > 0:
            out.append((order, q))
            avail -= q
            ours -= q
    return out
