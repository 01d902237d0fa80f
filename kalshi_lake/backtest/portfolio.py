"""Positions, cash and FIFO lots of one backtest (the exchange's accounting conventions, docs/CONTRACTS.md).

* A fill is a signed YES-equivalent trade: buying YES (or selling NO) adds contracts, selling YES (or buying
  NO) removes them; YES and NO net within a market, so a position is one signed count.
* Cash follows Kalshi's collateral model: opening a long YES costs count × P, opening a short (= long NO) costs
  count × (1 − P); closing returns the same amounts at the closing price. Fees are paid in cash per fill.
* Realized P&L is FIFO over YES-equivalent lots, before fees; settlement closes the open lots at the settlement
  value, paid rounded down to the cent (the remainder is a settlement fee, in the market's fees). Position value
  at a mark M: long n → n·M, short n → n·(1 − M); equity = cash + Σ position values.

All amounts are integers: counts in centi-contracts, prices in micro-dollars, money in 1e-8 $ units.
"""

from __future__ import annotations

from collections import deque

from kalshi_lake.backtest.money import MONEY_SCALE, PRICE_SCALE
from kalshi_lake.backtest.quotes import Quotes

CENT_UNITS = MONEY_SCALE // 100  # $0.01 in money units


class MarketBook:
    """The strategy's position in one market plus the market state the fill model needs."""

    __slots__ = (
        "index",
        "ticker",
        "fees",
        "grid",
        "close_us",
        "pos",
        "lots",
        "mark",
        "value",
        "realized",
        "fees_paid",
        "traded",
        "n_fills",
        "settled",
        "quotes",
        "last_ts",
        "last_price",
        "resting",
        "settle_value",
    )

    def __init__(self, index: int, ticker: str, fees, grid, close_us: int | None) -> None:
        self.index = index
        self.ticker = ticker
        self.fees = fees
        self.grid = grid
        self.close_us = close_us
        self.pos = 0  # signed centi-contracts
        self.lots: deque[list[int]] = deque()  # [count centi (>0), price micros], all on the side of pos
        self.mark: int | None = None
        self.value = 0  # money units at mark
        self.realized = 0
        self.fees_paid = 0
        self.traded = 0  # notional money units
        self.n_fills = 0
        self.settled = False
        self.settle_value: int | None = None
        self.quotes = Quotes()  # what a taker order can take (see quotes.py)
        self.last_ts: int | None = None
        self.last_price: int | None = None
        self.resting: list = []

    def value_at(self, mark: int) -> int:
        """Position value (money units) at a YES mark (micro-dollars)."""
        pos = self.pos
        if pos > 0:
            return pos * mark
        if pos < 0:
            return -pos * (PRICE_SCALE - mark)
        return 0

    def cost_basis(self) -> int:
        """Cost of the open lots (a short YES lot of c at p costs c·(1 − p))."""
        if self.pos >= 0:
            return sum(c * p for c, p in self.lots)
        return sum(c * (PRICE_SCALE - p) for c, p in self.lots)

    def closable(self, delta: int) -> int:
        """How many centi-contracts a trade in direction ``delta`` would close."""
        if delta > 0 and self.pos < 0:
            return -self.pos
        if delta < 0 and self.pos > 0:
            return self.pos
        return 0

    def apply(self, delta: int, count: int, price: int) -> tuple[int, int]:
        """Apply a YES-equivalent trade of ``count`` in direction ``delta`` at ``price``.

        Returns (cash change, realized P&L before fees), both in money units.
        """
        cash = 0
        realized = 0
        remaining = count
        lots = self.lots
        if delta > 0:
            while remaining and self.pos < 0:  # buying YES closes short lots (sells the NO back)
                lot = lots[0]
                q = min(remaining, lot[0])
                realized += q * (lot[1] - price)
                cash += q * (PRICE_SCALE - price)
                lot[0] -= q
                if not lot[0]:
                    lots.popleft()
                self.pos += q
                remaining -= q
            if remaining:
                lots.append([remaining, price])
                cash -= remaining * price
                self.pos += remaining
        else:
            while remaining and self.pos > 0:  # selling YES closes long lots
                lot = lots[0]
                q = min(remaining, lot[0])
                realized += q * (price - lot[1])
                cash += q * price
                lot[0] -= q
                if not lot[0]:
                    lots.popleft()
                self.pos -= q
                remaining -= q
            if remaining:
                lots.append([remaining, price])
                cash -= remaining * (PRICE_SCALE - price)
                self.pos -= remaining
        self.realized += realized
        return cash, realized

    def settle(self, value: int) -> tuple[int, int]:
        """Close every lot at the settlement value. Returns (payout, realized P&L) in money units.

        The payout is what Kalshi pays: rounded down to the cent (docs "Market Settlement": "The actual payout
        ... is rounded to whole cents"); the remainder is a settlement fee, added to ``fees_paid`` so the
        market's P&L (realized − fees) still explains its cash."""
        realized = 0
        if self.pos > 0:
            payout = self.pos * value
            realized = sum(c * (value - p) for c, p in self.lots)
        elif self.pos < 0:
            payout = -self.pos * (PRICE_SCALE - value)
            realized = sum(c * (p - value) for c, p in self.lots)
        else:
            payout = 0
        settlement_fee = payout % CENT_UNITS
        payout -= settlement_fee
        self.fees_paid += settlement_fee
        self.lots.clear()
        self.pos = 0
        self.realized += realized
        self.settled = True
        self.settle_value = value
        self.mark = value
        self.value = 0
        return payout, realized
