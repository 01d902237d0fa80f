"""Where a simulated taker finds liquidity: the quote sources of one market and how an order takes from them.

A buy takes **asks** (a YES ask at P is a NO bid at 1 − P), a sell takes **bids**. Never the other side: a
taker cannot buy at the bid. The order uses the first source, in this order of preference, that has a quote on
the side it takes no older than ``max_quote_age`` (the "freshest quote available, in this order"):

1. ``ws_book``  the L2 book recorded over the WebSocket (lake stream ``ws_book``: a snapshot, then signed deltas).
                It is live while whole: every change reached the recorder, so its age is the time since it last
                changed, and it is not aged out. A coverage ``gap`` for the ticker, or a ``disconnected`` /
                ``stopped`` of the recorder, makes it unusable until the next snapshot.
2. ``book``     a REST order-book snapshot (``orderbook_snapshots``), L2, aged from its ``snapshot_ts``.
3. ``market``   a ``markets`` row's ``yes_bid`` / ``yes_ask`` (sizes when the row has them), aged from the row's
                ``_loaded_at``: the time the pull saw it (``updated_time`` does not move with the quote).
4. ``candle``   a candlestick's ``yes_bid`` / ``yes_ask`` close, aged from its ``end_period_ts``. No size.
5. ``print``    the last trade whose taker hit that side: a print whose taker bought shows an ask at its price,
                for its size; one whose taker sold shows a bid. A print of unknown side or a block trade shows
                nothing.

The chosen source is the truth for that order: if it does not reach the limit, or our earlier fills used it up,
the order gets nothing there (the remainder rests or is cancelled) and the engine counts why. A quote without
a size (candles, markets rows without ``*_size_fp``) offers ``unsized`` centi-contracts.

Consumed liquidity: what our fills take from a quote is remembered until that source observes again. A REST
snapshot, a markets row, a candle or a print replaces its quote whole (nothing used yet). The recorded book
restores level by level as it moves, as if our fills had happened: contracts added to a level are new and
visible at once; contracts leaving a level (others' trades and cancels) are first the ones we had not taken,
then the ones we had, so what we used there is capped at the level's new size and comes back with the next
additions; a snapshot starts afresh.

All prices are YES micro-dollars, sizes centi-contracts, times µs.
"""

from __future__ import annotations

from kalshi_lake.backtest.events import Book
from kalshi_lake.backtest.money import PRICE_SCALE

SOURCES = ("ws_book", "book", "market", "candle", "print")
WS, REST, MKT, CANDLE, PRINT = range(5)


class L2:
    """One order book: YES bids and NO bids by price (each side on its own scale), plus what we took."""

    __slots__ = ("ts", "changed", "yes", "no", "used_bid", "used_ask", "conn", "whole")

    def __init__(self) -> None:
        self.ts: int | None = None  # last observation (snapshot or delta)
        self.changed: int | None = None
        self.yes: dict[int, int] = {}
        self.no: dict[int, int] = {}
        self.used_bid: dict[int, int] = {}  # YES price → centi-contracts our sells took
        self.used_ask: dict[int, int] = {}  # YES price → centi-contracts our buys took
        self.conn: str | None = None
        self.whole = False

    def reset(self, ts: int, yes, no, conn: str | None = None) -> None:
        self.ts = self.changed = ts
        self.yes = {p: s for p, s in yes if s > 0}
        self.no = {p: s for p, s in no if s > 0}
        self.used_bid, self.used_ask = {}, {}
        self.conn = conn
        self.whole = True

    def apply_delta(self, ts: int, side: str, price: int, change: int) -> None:
        levels = self.yes if side == "yes" else self.no
        new = levels.get(price, 0) + change
        if new > 0:
            levels[price] = new
        else:
            levels.pop(price, None)
            new = 0
        used = self.used_bid if side == "yes" else self.used_ask
        key = price if side == "yes" else PRICE_SCALE - price
        if change < 0 and key in used:  # what left was first what we had not taken, then what we had
            if new:
                used[key] = min(used[key], new)
            else:
                del used[key]
        self.ts = self.changed = ts

    def side_levels(self, delta: int) -> list[tuple[int, int]]:
        """What a taker in direction ``delta`` can take, best first, net of our use: [(YES price, size)]."""
        if delta > 0:
            used = self.used_ask
            raw = sorted(((PRICE_SCALE - q, s) for q, s in self.no.items()))
        else:
            used = self.used_bid
            raw = sorted(self.yes.items(), reverse=True)
        return [(p, s - used.get(p, 0)) for p, s in raw if s > used.get(p, 0)]

    def displayed(self, delta: int, price: int) -> int:
        """Size resting at ``price`` on the side a maker order in direction ``delta`` joins (its queue)."""
        if delta > 0:
            return self.yes.get(price, 0)
        return self.no.get(PRICE_SCALE - price, 0)

    def take(self, delta: int, limit: int, wanted: int) -> list[tuple[int, int]]:
        """Walk the other side up to ``limit``: [(count, YES price)], best price first; marks what it used."""
        fills = []
        used = self.used_ask if delta > 0 else self.used_bid
        for price, avail in self.side_levels(delta):
            if wanted <= 0 or (price > limit if delta > 0 else price < limit):
                break
            q = min(wanted, avail)
            fills.append((q, price))
            used[price] = used.get(price, 0) + q
            wanted -= q
        return fills

    def to_book(self, ticker: str) -> Book:
        """The book as a strategy sees it: YES bids and NO bids best first, minus what we took."""
        bids = tuple(self.side_levels(-1))
        no = tuple((PRICE_SCALE - p, s) for p, s in self.side_levels(1))
        return Book(self.ts, ticker, bids, no)


class Quotes:
    """Every quote source of one market. ``top[side][source]`` = [ts, YES price, size | None, used] for the
    one-level sources (side 0 = bids, 1 = asks); ``ws`` and ``rest`` are L2 books."""

    __slots__ = ("ws", "rest", "top")

    def __init__(self) -> None:
        self.ws = L2()
        self.rest = L2()
        self.top: tuple[list, list] = ([None] * 5, [None] * 5)

    def live_l2(self, now: int, max_age: int) -> L2 | None:
        """The book to read depth from: the recorded one while whole, else a fresh REST snapshot."""
        if self.ws.whole:
            return self.ws
        if self.rest.ts is not None and now - self.rest.ts <= max_age:
            return self.rest
        return None

    def set_top(self, source: int, ts: int, bid, bid_size, ask, ask_size) -> None:
        """A one-level observation; a missing price (None) leaves that side's earlier quote in place, a price of
        0 (bid) or $1 (ask) means the side is empty."""
        if bid is not None:
            self.top[0][source] = [ts, bid, bid_size, 0]
        if ask is not None:
            self.top[1][source] = [ts, ask, ask_size, 0]

    def take(
        self, delta: int, limit: int, wanted: int, now: int, max_age: int, unsized: int
    ) -> tuple[list[tuple[int, int]], int | None, int | None, str | None]:
        """Fill a marketable order: (fills, source, quote age µs, why nothing filled or None)."""
        side = "ask" if delta > 0 else "bid"
        if self.ws.whole:
            fills = self.ws.take(delta, limit, wanted)
            return fills, WS, now - self.ws.changed, None if fills else _why(self.ws.side_levels(delta), side)
        rest = self.rest
        if rest.ts is not None and now - rest.ts <= max_age:
            fills = rest.take(delta, limit, wanted)
            return fills, REST, now - rest.ts, None if fills else _why(rest.side_levels(delta), side)
        tops = self.top[1 if delta > 0 else 0]
        for source in (MKT, CANDLE, PRINT):
            quote = tops[source]
            if quote is None or now - quote[0] > max_age:
                continue
            age = now - quote[0]
            ts, price, size, used = quote
            if not 0 < price < PRICE_SCALE:
                return [], source, age, f"the {side} side was empty"
            if price > limit if delta > 0 else price < limit:
                return [], source, age, f"the {side} did not reach the limit"
            avail = (unsized if size is None else size) - used
            if avail <= 0:
                return [], source, age, f"the {side} was used up by earlier fills"
            q = min(wanted, avail)
            quote[3] += q
            return [(q, price)], source, age, None
        return [], None, None, f"no fresh quote on the {side}"


def _why(levels: list[tuple[int, int]], side: str) -> str:
    if not levels:
        return f"the {side} side was empty (or used up by earlier fills)"
    return f"the {side} did not reach the limit"
