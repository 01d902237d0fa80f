"""Exact integer units used inside the backtester, and the market tick grid.

The replay loop never touches ``Decimal`` or ``float`` for money: it works in integers and converts to
``Decimal`` only at the edges (strategy helpers, result tables).

* prices: **micro-dollars** (``int``, 1 = $0.000001; the lake's ``decimal128(18,6)`` scale)
* counts: **centi-contracts** (``int``, 1 = 0.01 contract; the lake's ``*_fp`` ``decimal128(18,2)`` scale)
* money (cash, notional, fees, P&L): **units of $0.00000001** (``int``). A notional is ``count × price`` in
  centi-contracts × micro-dollars, which is exactly 1e-8 dollars, so no division and no rounding ever happens.
  Result tables carry money as ``DECIMAL(22,8)``.

Parsing (exact, never float) and the price grid come from :mod:`kalshi_extract.money`; this module only moves
values to and from the integer scales.
"""

from __future__ import annotations

from decimal import Decimal

from kalshi_extract.money import price_grid, to_decimal

PRICE_SCALE = 1_000_000  # micro-dollars per dollar
COUNT_SCALE = 100  # centi-contracts per contract
MONEY_SCALE = PRICE_SCALE * COUNT_SCALE  # money units per dollar (1e8)
ONE_DOLLAR = PRICE_SCALE


def dollars_to_micros(value: Decimal | str | int) -> int:
    """``Decimal("0.56")`` → ``560000``. Raises ValueError if the value has more than 6 decimal places."""
    d = to_decimal(value, "price")
    scaled = d * PRICE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"price {value!r} has more than 6 decimal places")
    return int(scaled)


def contracts_to_centi(value: Decimal | str | int) -> int:
    """``Decimal("10")`` → ``1000``. Raises ValueError below the 0.01 contract granularity."""
    d = to_decimal(value, "count")
    scaled = d * COUNT_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"count {value!r} is finer than 0.01 contract")
    return int(scaled)


def micros_to_dollars(micros: int) -> Decimal:
    """``560000`` → ``Decimal("0.560000")``."""
    return Decimal(micros).scaleb(-6)


def centi_to_contracts(centi: int) -> Decimal:
    """``1000`` → ``Decimal("10.00")``."""
    return Decimal(centi).scaleb(-2)


def units_to_dollars(units: int) -> Decimal:
    """Money units (1e-8 $) → ``Decimal`` dollars with 8 places."""
    return Decimal(units).scaleb(-8)


def dollars_to_units(value: Decimal | str | int) -> int:
    """Dollars → money units (1e-8 $); raises ValueError if finer than 1e-8."""
    d = to_decimal(value, "amount")
    scaled = d * MONEY_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {value!r} has more than 8 decimal places")
    return int(scaled)


def parse_price_ranges(price_ranges: str | list | None) -> tuple[tuple[int, int, int], ...]:
    """The market's ``price_ranges`` (JSON text or list of {start,end,step}) → ((start, end, step) micros, ...).

    A missing or empty value means the classic $0.01 grid (``linear_cent``); a malformed one raises ValueError.
    """
    return tuple(tuple(dollars_to_micros(v) for v in rng) for rng in price_grid(price_ranges))


def on_grid(price_micros: int, grid: tuple[tuple[int, int, int], ...]) -> bool:
    """True if a YES price is strictly inside (0, $1) and on one of the market's price ranges."""
    if not 0 < price_micros < PRICE_SCALE:
        return False
    for start, end, step in grid:
        if start <= price_micros <= end and (price_micros - start) % step == 0:
            return True
    return False
