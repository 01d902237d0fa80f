"""The market-data events a strategy receives, and the orders and fills it deals in.

Events carry integers (micro-dollar prices, centi-contract counts, microsecond UTC timestamps) so the replay
loop stays fast; each has ``*_dollars`` / ``*_fp`` properties that give exact ``Decimal`` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from kalshi_lake.backtest.money import centi_to_contracts, micros_to_dollars, units_to_dollars

BID, ASK = 1, -1  # taker_book_side codes; 0 = unknown


def us_to_datetime(ts_us: int) -> datetime:
    """Microseconds since the epoch → aware UTC datetime."""
    return datetime.fromtimestamp(ts_us // 1_000_000, tz=UTC).replace(microsecond=ts_us % 1_000_000)


class Trade(NamedTuple):
    """One public trade from the lake's ``trades`` stream."""

    ts: int  # µs since epoch, UTC
    ticker: str
    yes_price: int  # micro-dollars
    count: int  # centi-contracts
    taker_side: int  # BID (taker bought YES), ASK (taker sold YES), 0 unknown
    is_block: bool = False  # block trades are delivered but neither fill resting orders nor offer liquidity

    @property
    def yes_price_dollars(self) -> Decimal:
        return micros_to_dollars(self.yes_price)

    @property
    def count_fp(self) -> Decimal:
        return centi_to_contracts(self.count)

    @property
    def time(self) -> datetime:
        return us_to_datetime(self.ts)


class Book(NamedTuple):
    """One order-book snapshot: YES bids and NO bids, best first, as ((price µ$, size centi), ...)."""

    ts: int
    ticker: str
    yes_bids: tuple[tuple[int, int], ...]
    no_bids: tuple[tuple[int, int], ...]

    @property
    def best_yes_bid(self) -> int | None:
        return self.yes_bids[0][0] if self.yes_bids else None

    @property
    def best_yes_ask(self) -> int | None:
        """Best YES ask in micro-dollars (= $1 − best NO bid), or None for an empty NO side."""
        return 1_000_000 - self.no_bids[0][0] if self.no_bids else None


class Candle(NamedTuple):
    """One candlestick, delivered at its (inclusive) end time. Prices in micro-dollars, None when absent."""

    ts: int  # end_period_ts
    ticker: str
    period_interval: int  # minutes
    price_close: int | None
    yes_bid_close: int | None
    yes_ask_close: int | None
    volume: int | None  # centi-contracts


class Settlement(NamedTuple):
    """A market settled: ``value`` is the payout per YES contract in micro-dollars."""

    ts: int
    ticker: str
    result: str
    value: int


@dataclass(frozen=True)
class OrderRequest:
    """What a strategy asks for. ``price`` is the price of the named ``outcome`` in dollars.

    Buying NO at q is the same YES-equivalent trade as selling YES at 1 − q (positions net within a market).
    ``time_in_force``: ``gtc`` rests the unfilled part, ``ioc`` cancels it.
    """

    ticker: str
    action: str  # buy | sell
    count: Decimal | str | int
    price: Decimal | str | int
    outcome: str = "yes"
    time_in_force: str = "gtc"


@dataclass(slots=True)
class Order:
    """An order inside the simulated exchange (YES-equivalent view)."""

    order_id: int
    ticker: str
    action: str
    outcome: str
    delta: int  # +1 buys YES-equivalent, -1 sells
    count: int  # centi-contracts
    price: int  # YES-equivalent limit, micro-dollars
    time_in_force: str
    placed_ts: int
    status: str = "open"  # open | filled | canceled | rejected
    filled: int = 0
    reason: str | None = None
    queue_ahead: int | None = 0  # displayed size ahead of us at our price (None: not known yet)
    level_seen: int = field(default=0, repr=False)  # the level's size when the book was last seen
    traded_at: int = field(default=0, repr=False)  # printed at our price since then
    reserved: int = field(default=0, repr=False)  # collateral set aside while it rests or flies (money units)
    market_index: int = field(default=-1, repr=False)

    @property
    def remaining(self) -> int:
        return self.count - self.filled


class Fill(NamedTuple):
    """One simulated fill; money in units of 1e-8 $ (see ``money``)."""

    seq: int
    ts: int
    ticker: str
    order_id: int
    action: str
    outcome: str
    book_side: str  # bid (YES-equivalent buy) | ask
    count: int  # centi-contracts
    yes_price: int  # micro-dollars
    is_taker: bool
    fee: int  # money units
    realized: int  # realized P&L of this fill before fees, money units
    position_after: int  # centi-contracts, signed YES-equivalent
    cash_after: int  # money units
    price_source: str = (
        ""  # ws_book | book | market | candle | print (taker); print (maker: the print that filled)
    )
    quote_age_us: int | None = None  # how old that quote was when the order met it
    # where the fee terms came from: history | no_change_listed | current_assumed (kalshi_lake.backtest.fees)
    fee_terms: str = ""

    @property
    def fee_dollars(self) -> Decimal:
        return units_to_dollars(self.fee)
