"""Exact money and count parsing and formatting, and the market price grid: the one place for both. Never float.

Kalshi sends prices as fixed-point dollar strings (``*_dollars``, ``fee_cost``: up to 6 decimals, e.g.
``"0.017500"``) and counts as fixed-point strings (``*_fp``: 2 decimals, e.g. ``"10.00"``, may be negative for
positions). A few fields stay integer cents (balance, settlement revenue/value). The parsers keep the text's
scale, so ``str(parse_dollars("0.0010")) == "0.0010"``. Requests take prices with 4 decimals (``"0.5600"``) and
counts with 2 (``"10.00"``).

A market's tick grid is its ``price_ranges`` (``[{start, end, step}]`` dollar strings; the lake stores that list
as JSON text), else the grid of its ``price_level_structure``, else the $0.01 ``linear_cent`` grid.

Decisions: bad input raises ``ValueError`` (``TypeError`` for floats/bools) with the offending value in the
message — callers wrap it in their own typed error where it matters (orders: ``OrderValidationError``).
``parse_dollars(int)`` means *integer cents* (the old payloads' ``yes_price: 45``) and returns dollars;
``parse_fp(int)`` accepts an old integer count. Integer scales for fast loops (the backtester's micro-dollars)
live with their users and parse through :func:`to_decimal`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "to_decimal",
    "has_places",
    "parse_dollars",
    "parse_fp",
    "cents_to_dollars",
    "price_text",
    "count_text",
    "format_price",
    "format_count",
    "show_dollars",
    "show_count",
    "DEFAULT_PRICE_RANGES",
    "STRUCTURE_GRIDS",
    "price_grid",
    "on_grid",
    "grid_neighbours",
]

_DOLLARS_RE = re.compile(r"-?\d+(?:\.\d{1,6})?")
_FP_RE = re.compile(r"-?\d+(?:\.\d{1,2})?")
_CENT = Decimal("0.01")
_TICK4 = Decimal("0.0001")
_ONE = Decimal(1)
_ZERO = Decimal(0)

#: The linear_cent grid (most markets): $0.01 ticks between $0 and $1.
DEFAULT_PRICE_RANGES = ({"start": "0.0000", "end": "1.0000", "step": "0.0100"},)
#: Grids by ``price_level_structure``, used when a market carries no ``price_ranges``.
STRUCTURE_GRIDS = {
    "linear_cent": DEFAULT_PRICE_RANGES,
    "deci_cent": ({"start": "0.0000", "end": "1.0000", "step": "0.0010"},),
    "tapered_deci_cent": (
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ),
}

Grid = tuple[tuple[Decimal, Decimal, Decimal], ...]


# --------------------------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------------------------
def _reject_non_exact(value: object, what: str) -> None:
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(
            f"{what} must be a decimal string, not {type(value).__name__} {value!r}: floats lose money"
        )


def to_decimal(value: Decimal | str | int, what: str = "value") -> Decimal:
    """A finite ``Decimal`` from a Decimal, a decimal string (surrounding blanks ignored) or an int.

    ``TypeError`` for floats, bools and other types; ``ValueError`` ("``what`` 'x' is not a number" / "is not a
    finite number") for text that is not one.
    """
    _reject_non_exact(value, what)
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what} {value!r} is not a number") from None
    else:
        raise TypeError(f"{what} must be a Decimal or decimal string, not {type(value).__name__}")
    if not dec.is_finite():
        raise ValueError(f"{what} {value!r} is not a finite number")
    return dec


def has_places(value: Decimal, places: int) -> bool:
    """True when ``value`` has at most ``places`` decimals (``has_places(Decimal("0.455"), 2) is False``)."""
    # by the exponent, not quantize(): quantize raises for values beyond the context's precision (1e30)
    return value.is_finite() and value.normalize().as_tuple().exponent >= -places


def parse_dollars(value: str | int | None) -> Decimal | None:
    """Parse a ``*_dollars`` / ``fee_cost`` string (≤ 6 dp) exactly; an int is legacy integer cents; None → None."""
    if value is None:
        return None
    _reject_non_exact(value, "a dollar amount")
    if isinstance(value, int):
        return cents_to_dollars(value)
    if isinstance(value, Decimal):
        return _check_decimal(value, 6, "a dollar amount")
    if not isinstance(value, str) or _DOLLARS_RE.fullmatch(value) is None:
        raise ValueError(f"not a fixed-point dollar string (up to 6 decimals): {value!r}")
    return Decimal(value)


def parse_fp(value: str | int | None) -> Decimal | None:
    """Parse a ``*_fp`` count string (≤ 2 dp) exactly; an int is a legacy whole count; None → None."""
    if value is None:
        return None
    _reject_non_exact(value, "a count")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return _check_decimal(value, 2, "a count")
    if not isinstance(value, str) or _FP_RE.fullmatch(value) is None:
        raise ValueError(f"not a fixed-point count string (up to 2 decimals): {value!r}")
    return Decimal(value)


def cents_to_dollars(cents: int) -> Decimal:
    """Integer cents → Decimal dollars with 2 decimals (``1234`` → ``Decimal("12.34")``)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, not {type(cents).__name__} {cents!r}")
    return Decimal(cents).scaleb(-2)


def _check_decimal(value: Decimal, places: int, what: str) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{what} must be finite: {value!r}")
    if not has_places(value, places):
        raise ValueError(f"{what} has more than {places} decimals: {value}")
    return value


# --------------------------------------------------------------------------------------------------------------
# formatting: for requests (fixed decimals) and for people (exact, no needless zeros)
# --------------------------------------------------------------------------------------------------------------
def price_text(price: Decimal) -> str:
    """A price as a request sends it: 4 decimals (``Decimal("0.56")`` → ``"0.5600"``); more decimals raise."""
    if not has_places(price, 4):
        raise ValueError(f"price {price} has more than 4 decimals; requests accept 2-4")
    return f"{price.quantize(_TICK4):f}"


# a count fits the lake's decimal128(18, 2) and the API's fixed-point counts: fewer than 16 integer digits
COUNT_LIMIT = Decimal(10) ** 16


def count_text(count: Decimal) -> str:
    """A count as a request sends it: 2 decimals (``Decimal("10")`` → ``"10.00"``); more decimals raise."""
    if not has_places(count, 2):
        raise ValueError(f"count {count} has more than 2 decimals (the smallest unit is 0.01 contract)")
    return f"{count.quantize(_CENT):f}"


def format_price(price: Decimal | str, price_ranges=None) -> str:
    """Check a YES price and render it for a request as a 4-decimal string (``"0.5600"``).

    ``price_ranges`` is the market's ``price_ranges`` (list or JSON text); default is the $0.01 linear_cent grid.
    Raises ``ValueError`` if the price is outside (0, 1), has more than 4 decimals or is not on a tick.
    """
    dec = to_decimal(price, "price")
    if not (_ZERO < dec < _ONE):
        raise ValueError(f"price must be strictly between 0 and 1 dollar: {dec}")
    text = price_text(dec)
    grid = price_grid(price_ranges)
    if not on_grid(dec, grid):
        steps = ", ".join(f"{a:f}..{b:f} step {s:f}" for a, b, s in grid)
        raise ValueError(f"price {dec} is not on the market's tick grid ({steps})")
    return text


def format_count(count: Decimal | str | int) -> str:
    """Render a contract count for a request as a 2-decimal string (``"10.00"``); more decimals raise."""
    return count_text(to_decimal(count, "count"))


def show_count(count: Decimal | str) -> str:
    """Contracts for people: ``Decimal("1E+3")`` → ``"1000"``, ``Decimal("2.50")`` → ``"2.5"``."""
    d = Decimal(str(count))
    exp = d.normalize().as_tuple().exponent
    return f"{d:.{max(0, -exp) if isinstance(exp, int) else 0}f}"


def show_dollars(amount: Decimal | str) -> str:
    """Dollars for people: exact, with the digits the amount carries but at least cents, thousands grouped.

    ``Decimal("0.0300")`` → ``"$0.03"``, ``Decimal("0.004100")`` → ``"$0.0041"``, ``Decimal("500000.000000")``
    → ``"$500,000.00"`` (never rounded: trailing zeros past the cents say nothing, so they are dropped)."""
    d = Decimal(str(amount))
    exp = d.normalize().as_tuple().exponent
    places = max(2, -exp) if isinstance(exp, int) else 2
    return f"{'-' if d < 0 else ''}${abs(d):,.{places}f}"


# --------------------------------------------------------------------------------------------------------------
# the price grid
# --------------------------------------------------------------------------------------------------------------
def price_grid(price_ranges=None, structure: str | None = None) -> Grid:
    """A market's tick grid as ``((start, end, step), ...)`` in dollars.

    ``price_ranges``: the market's list of ``{start, end, step}`` or that list as JSON text (as the lake stores
    it); when missing or empty, the grid of ``structure`` (``price_level_structure``), else linear_cent.
    Raises ``ValueError`` for text that is not JSON and for a malformed range.
    """
    if isinstance(price_ranges, str | bytes):
        import json

        try:
            price_ranges = json.loads(price_ranges, parse_float=Decimal) if price_ranges else None
        except ValueError:
            raise ValueError(f"price_ranges is not JSON: {price_ranges[:80]!r}") from None
    if not price_ranges:
        price_ranges = STRUCTURE_GRIDS.get(structure or "linear_cent", DEFAULT_PRICE_RANGES)
    grid = []
    for rng in price_ranges:
        try:
            start, end, step = (to_decimal(rng[k], f"price_ranges {k}") for k in ("start", "end", "step"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a malformed price range {rng!r} ({exc})") from None
        if step <= 0 or end < start:
            raise ValueError(f"a malformed price range {rng!r} (step must be positive, end not below start)")
        grid.append((start, end, step))
    return tuple(grid)


def on_grid(price: Decimal, grid: Grid) -> bool:
    """True if ``price`` lies on one of the grid's ranges (whether it is tradable, inside (0, 1), is separate)."""
    return any(start <= price <= end and (price - start) % step == 0 for start, end, step in grid)


def grid_neighbours(price: Decimal, grid: Grid) -> tuple[Decimal | None, Decimal | None]:
    """The nearest tradable ticks (strictly inside (0, 1)) below and above an off-grid ``price``."""
    below = above = None
    for start, end, step in grid:
        if start <= price <= end:
            k = (price - start) // step
            lo, hi = start + k * step, start + (k + 1) * step
            if _ZERO < lo and (below is None or lo > below):
                below = lo
            if hi < _ONE and hi <= end and (above is None or hi < above):
                above = hi
    return below, above
