"""Exact money and count parsing. Never float.

Kalshi sends prices as fixed-point dollar strings (``*_dollars``, ``fee_cost``: up to 6 decimals, e.g.
``"0.017500"``) and counts as fixed-point strings (``*_fp``: 2 decimals, e.g. ``"10.00"``, may be negative for
positions). A few fields stay integer cents (balance, settlement revenue/value). The parsers keep the text's
scale, so ``str(parse_dollars("0.0010")) == "0.0010"``.

Decisions: bad input raises ``ValueError`` (``TypeError`` for floats/bools) with the offending value in the
message — callers wrap it in their own typed error where it matters. ``parse_dollars(int)`` means *integer
cents* (the old payloads' ``yes_price: 45``) and returns dollars; ``parse_fp(int)`` accepts an old integer count.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "parse_dollars",
    "parse_fp",
    "cents_to_dollars",
    "format_price",
    "format_count",
    "DEFAULT_PRICE_RANGES",
]

_DOLLARS_RE = re.compile(r"-?\d+(?:\.\d{1,6})?")
_FP_RE = re.compile(r"-?\d+(?:\.\d{1,2})?")
_CENT = Decimal("0.01")
_ONE = Decimal(1)
_ZERO = Decimal(0)

#: The linear_cent grid (most markets): $0.01 ticks between $0 and $1.
DEFAULT_PRICE_RANGES = ({"start": "0.0000", "end": "1.0000", "step": "0.0100"},)


def _reject_non_exact(value: object, what: str) -> None:
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(
            f"{what} must be a decimal string, not {type(value).__name__} {value!r}: floats lose money"
        )


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
    if value != value.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN"):
        raise ValueError(f"{what} has more than {places} decimals: {value}")
    return value


def _to_decimal(value: Decimal | str | int, what: str) -> Decimal:
    _reject_non_exact(value, what)
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what} is not a number: {value!r}") from None
    else:
        raise TypeError(f"{what} must be a Decimal or decimal string, not {type(value).__name__}")
    if not dec.is_finite():
        raise ValueError(f"{what} must be finite: {value!r}")
    return dec


def format_price(price: Decimal | str, price_ranges=None) -> str:
    """Render a YES price for a request as a 4-decimal string (``"0.5600"``).

    ``price_ranges`` is the market's ``price_ranges`` list (``[{start, end, step}]`` dollar strings, or that list
    as a JSON string); default is the $0.01 linear_cent grid. Raises ``ValueError`` if the price is outside (0, 1) or not on a tick.
    """
    dec = _to_decimal(price, "price")
    if not (_ZERO < dec < _ONE):
        raise ValueError(f"price must be strictly between 0 and 1 dollar: {dec}")
    if dec != dec.quantize(Decimal("0.0001"), rounding="ROUND_DOWN"):
        raise ValueError(f"price has more than 4 decimals (requests accept 2-4): {dec}")
    if isinstance(price_ranges, str | bytes):  # as stored in the lake: a JSON string
        import orjson

        try:
            price_ranges = orjson.loads(price_ranges)
        except orjson.JSONDecodeError:
            raise ValueError(f"price_ranges is not JSON: {price_ranges[:80]!r}") from None
    ranges = DEFAULT_PRICE_RANGES if not price_ranges else price_ranges
    on_grid = False
    for rng in ranges:
        try:
            start, end, step = (_to_decimal(rng[k], f"price_ranges {k}") for k in ("start", "end", "step"))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed price_ranges entry {rng!r}: {exc}") from None
        if step <= 0:
            raise ValueError(f"price_ranges step must be positive: {rng!r}")
        if start <= dec <= end and (dec - start) % step == 0:
            on_grid = True
            break
    if not on_grid:
        grid = ", ".join(f"{r['start']}..{r['end']} step {r['step']}" for r in ranges)
        raise ValueError(f"price {dec} is not on the market's tick grid ({grid})")
    return f"{dec.quantize(Decimal('0.0001')):f}"


def format_count(count: Decimal | str | int) -> str:
    """Render a contract count for a request as a 2-decimal string (``"10.00"``); more decimals raise."""
    dec = _to_decimal(count, "count")
    if dec != dec.quantize(_CENT, rounding="ROUND_DOWN"):
        raise ValueError(f"count has more than 2 decimals (minimum granularity 0.01 contract): {dec}")
    return f"{dec.quantize(_CENT):f}"
