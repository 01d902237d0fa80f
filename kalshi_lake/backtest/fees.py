"""Kalshi trading fees, per series, in exact integer arithmetic.

Conventions (docs/CONTRACTS.md "Accounting conventions", notes §6):

* taker fee per fill = roundup_to_$0.0001(0.07 × fee_multiplier × C × P × (1 − P))
* maker fee per fill: only on ``quadratic_with_maker_fees`` (coefficient 0.0175) and
  ``quadratic_with_combo_maker_fees`` (0.035); zero on other fee types
* ``flat`` is treated like ``quadratic`` (the contract says so until the notes say otherwise)
* an event's ``fee_type_override`` / ``fee_multiplier_override`` win over the series values
* a fill before the market's ``fee_waiver_expiration_time`` pays no fee

C is in centi-contracts, P in micro-dollars, the result in money units (1e-8 $), so the formula is evaluated
as one integer fraction and rounded up once: no float, no intermediate rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kalshi_lake.backtest.money import COUNT_SCALE, PRICE_SCALE

TAKER_COEF = Fraction(7, 100)
MAKER_COEF = {
    "quadratic_with_maker_fees": Fraction(175, 10_000),
    "quadratic_with_combo_maker_fees": Fraction(35, 1_000),
}
FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")
_FEE_TICK_UNITS = 10_000  # $0.0001 in money units (1e-8 $)
# money units per (centi-contract × micro-dollar²): 1e8 / (100 × 1e6 × 1e6)
_UNIT_FACTOR = Fraction(COUNT_SCALE * PRICE_SCALE, COUNT_SCALE * PRICE_SCALE * PRICE_SCALE)


@dataclass(frozen=True)
class FeeSchedule:
    """The fee terms of one market (series values with any event override applied)."""

    fee_type: str = "quadratic"
    fee_multiplier: Decimal = Decimal(1)
    waiver_until_us: int | None = None  # fills strictly before this time are free

    def __post_init__(self) -> None:
        if self.fee_type not in FEE_TYPES:
            raise ValueError(f"unknown fee_type {self.fee_type!r}; expected one of {', '.join(FEE_TYPES)}")
        if isinstance(self.fee_multiplier, float):
            raise TypeError("fee_multiplier must be a Decimal, not float")
        if Decimal(self.fee_multiplier) < 0:
            raise ValueError(f"fee_multiplier must be >= 0, got {self.fee_multiplier}")
        # pre-compute the two coefficients as exact fractions (coef × multiplier × unit factor)
        mult = Fraction(Decimal(self.fee_multiplier))
        object.__setattr__(self, "_taker", TAKER_COEF * mult * _UNIT_FACTOR)
        maker = MAKER_COEF.get(self.fee_type)
        object.__setattr__(self, "_maker", maker * mult * _UNIT_FACTOR if maker is not None else None)

    def fee_units(self, count_centi: int, price_micros: int, is_taker: bool, ts_us: int | None = None) -> int:
        """Fee of one fill in money units (1e-8 $), rounded up to $0.0001."""
        if self.waiver_until_us is not None and ts_us is not None and ts_us < self.waiver_until_us:
            return 0
        coef = self._taker if is_taker else self._maker
        if coef is None or count_centi <= 0:
            return 0
        exact = coef * (count_centi * price_micros * (PRICE_SCALE - price_micros))
        ticks = -(-exact.numerator // (exact.denominator * _FEE_TICK_UNITS))  # ceil division
        return ticks * _FEE_TICK_UNITS


def fee_dollars(
    fee_type: str, fee_multiplier: Decimal, count: Decimal, price: Decimal, is_taker: bool
) -> Decimal:
    """Convenience: the fee of one fill in dollars (``Decimal`` with 4 places)."""
    from kalshi_lake.backtest.money import contracts_to_centi, dollars_to_micros, units_to_dollars

    units = FeeSchedule(fee_type, Decimal(fee_multiplier)).fee_units(
        contracts_to_centi(count), dollars_to_micros(price), is_taker
    )
    return units_to_dollars(units).quantize(Decimal("0.0001"))
