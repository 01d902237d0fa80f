"""The user's language (buy/sell × yes/no × count × price) ↔ Kalshi's V2 order shape, and the local checks.

Pure functions, no I/O: everything here can be decided before a request is sent.

Translation (V2 has one book per market, quoted in YES prices; ``bid`` = buy YES, ``ask`` = sell YES):

=============  ===========  ===============
user           V2 ``side``  V2 ``price``
=============  ===========  ===============
buy  YES at p  bid          p
buy  NO  at q  ask          1 − q
sell YES at p  ask          p
sell NO  at q  bid          1 − q
=============  ===========  ===============

Going back is ambiguous on its own (an ask at 0.60 is both "sell YES at 0.60" and "buy NO at 0.40"), so
:func:`from_v2` takes the outcome the caller wants to talk about.

Price text from the command line (:func:`parse_price_text`) — the rule, unambiguous:

* digits only (``45``) → **cents**: 45 → $0.45;
* a decimal point (``0.45``, ``.45``, ``0.455``) → **dollars**, and must be below 1;
* a ``c`` / ``¢`` suffix (``45c``, ``45.5c``) → cents, fractions allowed (45.5c → $0.455);
* a ``$`` prefix (``$0.45``) → dollars.
``45.5`` (decimal point, ≥ 1, no suffix) is refused (dollars ≥ 1) with a hint, never guessed as cents. Sub-cent prices are only
accepted when the market's ``price_ranges`` grid has them (deci-cent markets); that check needs the market and is
done by :func:`check_price_on_grid`.

Fee estimate (docs/CONTRACTS.md "Accounting conventions"): per fill ``roundup_to_$0.0001(coef × fee_multiplier ×
C × P × (1 − P))``; taker coef 0.07 for every ``fee_type`` (``flat`` included), maker coef 0.0175 on
``quadratic_with_maker_fees``, 0.035 on ``quadratic_with_combo_maker_fees``, 0 otherwise. ``P(1 − P)`` is the
same for the YES and the NO price. Before an order is placed we do not know whether it will take or make, so
the pre-trade estimate uses the taker coefficient (an upper bound); the exchange's ``fee_cost`` is the truth.
Under Kalshi's fee rounding (docs/CONTRACTS.md; the trade fee rounded up to $0.000001, then a rounding fee back
to the balance's grid, rebated per order in whole grid steps) this is the order's net fee for a direct member
(grid $0.0001) whose cost ``C × P`` lies on that grid — whole cents times hundredths of a contract always do;
a non-direct member's grid is $0.01, and a cost off the grid (deci-cent prices) adds a rounding fee under one
grid step. The estimate assumes a direct member and does not add it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from kalshi_extract import money
from kalshi_extract.errors import OrderValidationError
from kalshi_extract.money import show_count, show_dollars

__all__ = [
    "ACTIONS",
    "OUTCOMES",
    "BOOK_SIDES",
    "TIME_IN_FORCE",
    "TIF_ALIASES",
    "SELF_TRADE_PREVENTION",
    "TAKER_FEE_COEF",
    "V2Quote",
    "to_v2",
    "from_v2",
    "parse_price_text",
    "parse_price",
    "parse_count",
    "format_price4",
    "format_count2",
    "price_grid",
    "check_price_on_grid",
    "show_count",
    "show_dollars",
    "normalize_tif",
    "check_enum",
    "fee_coefficient",
    "estimate_fee",
    "signed_yes_delta",
    "opening_cost",
]

ONE = Decimal(1)
ZERO = Decimal(0)
_TICK4 = Decimal("0.0001")

ACTIONS = ("buy", "sell")
OUTCOMES = ("yes", "no")
BOOK_SIDES = ("bid", "ask")
TIME_IN_FORCE = ("good_till_canceled", "immediate_or_cancel", "fill_or_kill")
TIF_ALIASES = {
    "gtc": "good_till_canceled",
    "ioc": "immediate_or_cancel",
    "fok": "fill_or_kill",
    **{t: t for t in TIME_IN_FORCE},
}
SELF_TRADE_PREVENTION = ("taker_at_cross", "maker")

TAKER_FEE_COEF = Decimal("0.07")
_MAKER_FEE_COEF = {
    "quadratic_with_maker_fees": Decimal("0.0175"),
    "quadratic_with_combo_maker_fees": Decimal("0.035"),
}
FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")


def _invalid(msg: str) -> OrderValidationError:
    return OrderValidationError(msg + " Nothing was sent.")


def check_enum(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """Lower-case ``value`` and require it to be one of ``allowed`` (clear message otherwise)."""
    v = str(value).strip().lower()
    if v not in allowed:
        raise _invalid(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return v


def normalize_tif(value: str) -> str:
    """``gtc``/``ioc``/``fok`` or the V2 spelling → the V2 ``time_in_force`` value."""
    v = str(value).strip().lower()
    if v not in TIF_ALIASES:
        raise _invalid(
            f"time in force must be gtc, ioc or fok (or {', '.join(TIME_IN_FORCE)}); got {value!r}."
        )
    return TIF_ALIASES[v]


@dataclass(frozen=True)
class V2Quote:
    """A V2 order's book side and YES price."""

    side: str  # "bid" | "ask"
    price: Decimal  # YES price in dollars


def to_v2(action: str, outcome: str, price: Decimal) -> V2Quote:
    """buy/sell × yes/no at ``price`` (price of that outcome's contract, dollars) → V2 side and YES price."""
    action = check_enum("action", action, ACTIONS)
    outcome = check_enum("outcome", outcome, OUTCOMES)
    if outcome == "yes":
        return V2Quote("bid" if action == "buy" else "ask", price)
    return V2Quote("ask" if action == "buy" else "bid", ONE - price)


def from_v2(side: str, yes_price: Decimal, outcome: str = "yes") -> tuple[str, str, Decimal]:
    """V2 side and YES price → ``(action, outcome, price)`` spoken in terms of ``outcome``.

    ``from_v2("ask", Decimal("0.60"), "no") == ("buy", "no", Decimal("0.40"))``.
    """
    side = check_enum("side", side, BOOK_SIDES)
    outcome = check_enum("outcome", outcome, OUTCOMES)
    if outcome == "yes":
        return ("buy" if side == "bid" else "sell", "yes", yes_price)
    return ("sell" if side == "bid" else "buy", "no", ONE - yes_price)


_CENTS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:c|¢|cents?)", re.IGNORECASE)
_DOLLARS_RE = re.compile(r"\$?(\d*\.\d+|\d+\.?)")


def parse_price_text(text: str) -> Decimal:
    """Parse a price typed by a user to dollars (see the module docstring for the rule).

    Checks only the syntax and that the price is strictly between $0 and $1; the tick grid is checked later
    against the market.
    """
    raw = str(text).strip()
    if not raw:
        raise _invalid("price is empty; give cents like 45 or dollars like 0.45.")
    m = _CENTS_RE.fullmatch(raw)
    if m:
        dollars = Decimal(m.group(1)) / 100
    elif raw.startswith("$"):
        m = _DOLLARS_RE.fullmatch(raw)
        if not m:
            raise _invalid(f"price {text!r} is not a number; give cents like 45 or dollars like 0.45.")
        dollars = Decimal(m.group(1))
    elif raw.isdigit():
        dollars = Decimal(raw) / 100  # whole number = cents
    elif raw.startswith("-") and (_DOLLARS_RE.fullmatch(raw[1:]) or raw[1:].isdigit()):
        raise _invalid(
            f"price {text!r} is negative: a price must be strictly between $0 and $1 (1 to 99 cents)."
        )
    elif _DOLLARS_RE.fullmatch(raw):
        dollars = Decimal(raw)
        if dollars >= ONE:
            raise _invalid(
                f"price {text!r} is not below $1: a number with a decimal point is dollars, and a price must be "
                "strictly between $0 and $1. For cents write a whole number (45) or use a c suffix (45.5c)."
            )
    else:
        raise _invalid(f"price {text!r} is not a number; give cents like 45 or dollars like 0.45.")
    return parse_price(dollars, original=text)


def _exact(value: Decimal | str | int, what: str, shown: object, type_hint: str, hint: str = "") -> Decimal:
    """``money.to_decimal`` with the order translator's messages (``OrderValidationError``, "Nothing was sent")."""
    try:
        return money.to_decimal(value, what)
    except TypeError:
        raise _invalid(f"{what} must be {type_hint}, not {type(value).__name__} {value!r}.") from None
    except ValueError as exc:
        shown_exc = str(exc).replace(repr(value), repr(shown), 1)
        raise _invalid(f"{shown_exc}{hint}.") from None


def parse_price(value: Decimal | str | int, original: object = None) -> Decimal:
    """Check a price in dollars (Decimal or decimal string; never float): strictly within (0, 1), ≤ 6 dp."""
    shown = original if original is not None else value
    dec = _exact(value, "price", shown, "a Decimal or decimal string")
    if not (ZERO < dec < ONE):
        raise _invalid(
            f"price {shown!r} (= ${dec}) must be strictly between $0 and $1 (1 to 99 cents); "
            "a contract at 0 or 1 cannot be traded."
        )
    if not money.has_places(dec, 6):
        raise _invalid(f"price {shown!r} has more than 6 decimals.")
    return dec


def parse_count(value: Decimal | str | int) -> Decimal:
    """Contracts: > 0 with at most 2 decimals (fractional contracts exist, granularity 0.01)."""
    dec = _exact(
        value, "count", value, "a whole number or decimal string", "; give a number of contracts like 10"
    )
    if dec <= 0:
        raise _invalid(f"count must be greater than 0; got {value}.")
    if not money.has_places(dec, 2):
        raise _invalid(f"count {value} has more than 2 decimals (the smallest unit is 0.01 contract).")
    if dec >= money.COUNT_LIMIT:
        raise _invalid(f"count {value} is too large (a count has at most 16 digits before the point).")
    return dec


def format_price4(price: Decimal) -> str:
    """``Decimal("0.56")`` → ``"0.5600"`` (the request format; the grid check comes first)."""
    try:
        return money.price_text(price)
    except ValueError as exc:
        raise _invalid(f"{exc}.") from None


def format_count2(count: Decimal) -> str:
    """``Decimal("10")`` → ``"10.00"`` (the request format; :func:`parse_count` checks the count first)."""
    try:
        return money.count_text(count)
    except ValueError as exc:
        raise _invalid(f"{exc}.") from None


def price_grid(market: dict[str, Any]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """The market's tick grid as ``[(start, end, step)]`` from ``price_ranges`` (or ``price_level_structure``)."""
    try:
        return list(money.price_grid(market.get("price_ranges"), market.get("price_level_structure")))
    except ValueError as exc:
        raise OrderValidationError(f"market has {exc}.") from None


def check_price_on_grid(price: Decimal, market: dict[str, Any], *, shown: Decimal | None = None) -> None:
    """Raise :class:`OrderValidationError` unless the YES ``price`` is on the market's tick grid.

    ``shown`` is the price as the user typed it (e.g. the NO price) for the message.
    """
    grid = price_grid(market)
    if money.on_grid(price, grid):
        return
    below, above = money.grid_neighbours(price, grid)
    ticker = market.get("ticker", "the market")
    steps = "; ".join(f"step {s.normalize():f} from {a:f} to {b:f}" for a, b, s in grid)
    hint = ""
    if below is not None or above is not None:
        near = [f"{p.normalize():f}" for p in (below, above) if p is not None]
        if shown is not None and shown != price:
            near = [f"{(ONE - p).normalize():f}" for p in (below, above) if p is not None]
        hint = f" Nearest valid prices: {' and '.join(near)}."
    shown_txt = f"{(shown if shown is not None else price).normalize():f}"
    raise _invalid(
        f"price {shown_txt} is not on {ticker}'s tick grid ({market.get('price_level_structure') or 'grid'}: "
        f"{steps}).{hint}"
    )


def fee_coefficient(fee_type: str | None, *, maker: bool = False) -> Decimal:
    """Fee coefficient per docs/CONTRACTS.md: taker 0.07 for every fee type; maker only on maker-fee series."""
    if not maker:
        return TAKER_FEE_COEF
    return _MAKER_FEE_COEF.get(fee_type or "quadratic", ZERO)


def estimate_fee(
    count: Decimal,
    price: Decimal,
    *,
    fee_type: str | None = "quadratic",
    fee_multiplier: Decimal | str | int = 1,
    maker: bool = False,
) -> Decimal:
    """``roundup_to_$0.0001(coef × fee_multiplier × C × P × (1 − P))`` — one fill of ``count`` at ``price``."""
    mult = money.to_decimal(fee_multiplier, "fee_multiplier")
    raw = fee_coefficient(fee_type, maker=maker) * mult * count * price * (ONE - price)
    return raw.quantize(_TICK4, rounding=ROUND_CEILING)


def signed_yes_delta(side: str, count: Decimal) -> Decimal:
    """A V2 order's YES-equivalent position change if fully filled: bid → +count, ask → −count."""
    return count if side == "bid" else -count


def opening_cost(side: str, yes_price: Decimal, count: Decimal, position: Decimal) -> Decimal:
    """Cash the order needs if fully filled, given the current signed YES position.

    The part that closes an existing position frees collateral; the part that opens new exposure costs the
    YES price per contract on a bid and 1 − YES price on an ask (a short YES / long NO contract).
    """
    if side == "bid":
        closing = min(count, max(ZERO, -position))
        return (count - closing) * yes_price
    closing = min(count, max(ZERO, position))
    return (count - closing) * (ONE - yes_price)
