"""Kalshi trading fees, per series, in exact integer arithmetic.

Conventions (docs/CONTRACTS.md "Accounting conventions", notes §6):

* taker trade fee per fill = roundup_to_$0.000001(0.07 × fee_multiplier × C × P × (1 − P))
* maker fee per fill: only on ``quadratic_with_maker_fees`` (coefficient 0.0175) and
  ``quadratic_with_combo_maker_fees`` (0.035); zero on other fee types
* ``flat`` is treated like ``quadratic`` (the contract says so until the notes say otherwise)
* an event's ``fee_type_override`` / ``fee_multiplier_override`` win over the series values
* a fill before the market's ``fee_waiver_expiration_time`` pays no fee
* **time-correct terms**: a schedule may carry the terms' history (:class:`FeeTerms`, built by
  :func:`timed_schedule` from the lake's ``series_fee_changes`` / ``event_fee_changes`` and the series and event
  rows observed before a first change); a fill pays the terms in force at its own time, and each period says
  where its terms came from (``source``, recorded per fill as ``bt_fills.fee_terms``):
  ``history`` (a landed change, or a row observed before the first one), ``no_change_listed`` (the fee-change
  streams are landed and list no change for this series / event: its current terms, taken as always in force),
  ``current_assumed`` (no history covers the time: the current terms stand in for an unknown past).

C is in centi-contracts, P in micro-dollars, the result in money units (1e-8 $), so the formula is evaluated
as one integer fraction and rounded up once: no float, no intermediate rounding.

**Fee rounding** (Kalshi docs "Fee Rounding", the current version: "Fees are six-decimal dollar amounts"), per
ORDER, exactly as the local exchange charges it (``kalshi_sim.fees.round_fill``): a member's balance has a target
precision ($0.0001 direct — the default —, $0.01 non-direct: ``BacktestConfig.direct_member``); each fill pays

* ``trade`` = the fee model rounded up to $0.000001 (:meth:`FeeSchedule.trade_units`);
* ``rounding`` = ``(revenue − trade) − floor_precision(revenue − trade)`` (revenue signed, negative for a buyer),
  added to the order's accumulator (one per order, across its taker and maker fills);
* ``rebate`` = the accumulator's whole multiples of the precision, capped at the largest multiple not above
  ``trade + rounding`` (so the net fee is never negative and the balance stays on its grid).

A fill's fee (``bt_fills.fee``) is the net fee ``trade + rounding − rebate``; cash moves by ``revenue − net``.
:func:`round_fill` is the rule; :meth:`FeeSchedule.fee_units` is a lone fill's fee for a direct member whose
revenue is on the $0.0001 grid (the trade fee rounded up to $0.0001), the engine's pre-trade cash check.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from kalshi_lake.backtest.money import COUNT_SCALE, PRICE_SCALE

TAKER_COEF = Fraction(7, 100)
MAKER_COEF = {
    "quadratic_with_maker_fees": Fraction(175, 10_000),
    "quadratic_with_combo_maker_fees": Fraction(35, 1_000),
}
FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")
_TRADE_FEE_TICK_UNITS = 100  # $0.000001 in money units (1e-8 $): the trade fee's granularity
DIRECT_PRECISION_UNITS = 10_000  # $0.0001: a direct member's balance grid
NON_DIRECT_PRECISION_UNITS = 1_000_000  # $0.01: a non-direct (FCM-cleared) member's
# money units per (centi-contract × micro-dollar²): 1e8 / (100 × 1e6 × 1e6)
_UNIT_FACTOR = Fraction(COUNT_SCALE * PRICE_SCALE, COUNT_SCALE * PRICE_SCALE * PRICE_SCALE)


def _check_terms(fee_type: str, fee_multiplier) -> None:
    if fee_type not in FEE_TYPES:
        raise ValueError(f"unknown fee_type {fee_type!r}; expected one of {', '.join(FEE_TYPES)}")
    if isinstance(fee_multiplier, float):
        raise TypeError("fee_multiplier must be a Decimal, not float")
    if Decimal(fee_multiplier) < 0:
        raise ValueError(f"fee_multiplier must be >= 0, got {fee_multiplier}")


def _coefs(fee_type: str, fee_multiplier) -> tuple[Fraction, Fraction | None]:
    """(taker, maker) coefficients as exact fractions (coef × multiplier × unit factor); maker None = free."""
    mult = Fraction(Decimal(fee_multiplier))
    maker = MAKER_COEF.get(fee_type)
    return TAKER_COEF * mult * _UNIT_FACTOR, (maker * mult * _UNIT_FACTOR if maker is not None else None)


SOURCES = ("history", "no_change_listed", "current_assumed")  # best first


class FeeTerms(NamedTuple):
    """Terms in force from ``from_us`` on (until the next change) and where they came from (``SOURCES``)."""

    from_us: int
    fee_type: str
    fee_multiplier: Decimal
    source: str = "history"


@dataclass(frozen=True)
class FeeSchedule:
    """The fee terms of one market (series values with any event override applied).

    ``fee_type`` / ``fee_multiplier``: the terms before the first change (all along without changes; by default
    the current terms, ``source`` says); ``changes``: the terms' history (sorted by ``from_us``), each in force
    from its time until the next.
    """

    fee_type: str = "quadratic"
    fee_multiplier: Decimal = Decimal(1)
    waiver_until_us: int | None = None  # fills strictly before this time are free
    changes: tuple[FeeTerms, ...] = ()
    source: str = "current_assumed"  # where fee_type / fee_multiplier come from (SOURCES)

    def __post_init__(self) -> None:
        _check_terms(self.fee_type, self.fee_multiplier)
        for c in self.changes:
            _check_terms(c.fee_type, c.fee_multiplier)
        for src in {self.source, *(c.source for c in self.changes)}:
            if src not in SOURCES:
                raise ValueError(f"unknown fee terms source {src!r}; expected one of {', '.join(SOURCES)}")
        times = [c.from_us for c in self.changes]
        if times != sorted(times):
            raise ValueError("fee changes must be sorted by from_us")
        taker, maker = _coefs(self.fee_type, self.fee_multiplier)
        object.__setattr__(self, "_taker", taker)
        object.__setattr__(self, "_maker", maker)
        object.__setattr__(self, "_times", times)
        object.__setattr__(
            self, "_period_coefs", [_coefs(c.fee_type, c.fee_multiplier) for c in self.changes]
        )

    def _period(self, ts_us: int | None) -> int:
        """Index of the change in force at ``ts_us``; -1 = none (the current terms apply)."""
        if ts_us is None or not self._times:
            return -1
        return bisect.bisect_right(self._times, ts_us) - 1

    def terms_at(self, ts_us: int | None) -> FeeTerms:
        """The terms a fill at ``ts_us`` pays (``from_us`` -1: the terms before the first change)."""
        k = self._period(ts_us)
        if k < 0:
            return FeeTerms(-1, self.fee_type, Decimal(self.fee_multiplier), self.source)
        return self.changes[k]

    def scaled(self, k: Decimal) -> FeeSchedule:
        """The same schedule with every multiplier times ``k`` (stress tests)."""
        return FeeSchedule(
            self.fee_type,
            Decimal(self.fee_multiplier) * k,
            self.waiver_until_us,
            tuple(c._replace(fee_multiplier=Decimal(c.fee_multiplier) * k) for c in self.changes),
            self.source,
        )

    def fee_units(self, count_centi: int, price_micros: int, is_taker: bool, ts_us: int | None = None) -> int:
        """A lone fill's fee for a direct member whose revenue is on the $0.0001 grid (the order's first fill
        at a whole-cent price, or whole contracts at a $0.0001 price): the trade fee rounded up to $0.0001, in
        money units. A fill inside an order pays :func:`round_fill` of :meth:`trade_units` instead."""
        trade = self.trade_units(count_centi, price_micros, is_taker, ts_us)
        return -(-trade // DIRECT_PRECISION_UNITS) * DIRECT_PRECISION_UNITS

    def trade_units(
        self, count_centi: int, price_micros: int, is_taker: bool, ts_us: int | None = None
    ) -> int:
        """Trade fee of one fill at ``ts_us`` in money units (1e-8 $), rounded up to $0.000001, at the terms in
        force then (:meth:`terms_at`)."""
        if self.waiver_until_us is not None and ts_us is not None and ts_us < self.waiver_until_us:
            return 0
        k = self._period(ts_us)
        if k < 0:
            coef = self._taker if is_taker else self._maker
        else:
            taker, maker = self._period_coefs[k]
            coef = taker if is_taker else maker
        if coef is None or count_centi <= 0:
            return 0
        exact = coef * (count_centi * price_micros * (PRICE_SCALE - price_micros))
        ticks = -(-exact.numerator // (exact.denominator * _TRADE_FEE_TICK_UNITS))  # ceil division
        return ticks * _TRADE_FEE_TICK_UNITS


class FillFee(NamedTuple):
    """One fill's fee components (money units) and the cash change they leave (``revenue − net``)."""

    trade: int
    rounding: int
    rebate: int
    cash_change: int

    @property
    def net(self) -> int:
        return self.trade + self.rounding - self.rebate


def round_fill(revenue: int, trade: int, precision: int, accumulated: int) -> tuple[FillFee, int]:
    """Kalshi's fee rounding for one fill of an order (module docstring): ``revenue`` the fill's signed cash
    before fees, ``trade`` its trade fee, ``precision`` the member's balance grid, ``accumulated`` the order's
    accumulator before the fill (all money units). Returns (the fill's components, the accumulator after it)."""
    if precision <= 0 or trade < 0 or accumulated < 0:
        raise ValueError("precision must be > 0, trade fee and accumulator >= 0")
    change = revenue - trade
    aligned = change // precision * precision  # floor toward −∞
    rounding = change - aligned
    acc = accumulated + rounding
    rebate = min(acc // precision, (trade + rounding) // precision) * precision
    return FillFee(trade, rounding, rebate, aligned + rebate), acc - rebate


def fee_dollars(
    fee_type: str, fee_multiplier: Decimal, count: Decimal, price: Decimal, is_taker: bool
) -> Decimal:
    """Convenience: the fee of one fill in dollars (``Decimal`` with 4 places)."""
    from kalshi_lake.backtest.money import contracts_to_centi, dollars_to_micros, units_to_dollars

    units = FeeSchedule(fee_type, Decimal(fee_multiplier)).fee_units(
        contracts_to_centi(count), dollars_to_micros(price), is_taker
    )
    return units_to_dollars(units).quantize(Decimal("0.0001"))


def _layer(fee_type: str, mult: Decimal, override: tuple[str | None, Decimal | None]) -> tuple[str, Decimal]:
    """Series terms with an event override on top: each override field that is set wins (spec: "when present,
    takes precedence over the series-level fee"; a null one falls back to the series' value)."""
    o_type, o_mult = override
    return (o_type if o_type is not None else fee_type), (Decimal(o_mult) if o_mult is not None else mult)


def timed_schedule(
    series_current: tuple[str, Decimal],
    event_current: tuple[str | None, Decimal | None],
    waiver_until_us: int | None,
    series_changes: list[tuple[int, str, Decimal]],
    event_changes: list[tuple[int, str | None, Decimal | None]],
    *,
    series_listed: bool = False,
    event_listed: bool = False,
    series_before: tuple[str, Decimal] | None = None,
    event_before: tuple[str | None, Decimal | None] | None = None,
) -> FeeSchedule:
    """A market's time-correct schedule.

    ``series_current``: the series' current (fee_type, multiplier); ``event_current``: the event's current
    override (None fields = none); ``series_changes``: (from µs, fee_type, multiplier); ``event_changes``: (from
    µs, fee_type_override, multiplier_override), both None = the override is cleared; ``*_listed``: the lake
    holds that fee-change stream (so no change for this series / event means none was listed); ``*_before``:
    the terms / override observed in a row landed before the first change (None = not observed).

    The series part at a time: its latest change (``history``); before its first change, the terms observed
    before it (``history``) else the current terms (``current_assumed``); without any change, the current terms
    (``no_change_listed`` when the stream is landed, else ``current_assumed``). The event part likewise, with
    "no override" assumed before a first change nothing observed. The event override goes on top, each field
    that is set winning (spec ``EventFeeChange``). A period's source is the weaker of the two parts, except
    that an override setting both fields makes the series part irrelevant.
    """
    s_changes = sorted(series_changes, key=lambda c: c[0])
    e_changes = sorted(event_changes, key=lambda c: c[0])

    def series_part(t: int | None):
        s_in = [c for c in s_changes if t is not None and c[0] <= t]
        if s_in:
            return (s_in[-1][1], Decimal(s_in[-1][2])), "history"
        if s_changes:
            return (series_before, "history") if series_before else (series_current, "current_assumed")
        return series_current, ("no_change_listed" if series_listed else "current_assumed")

    def event_part(t: int | None):
        e_in = [c for c in e_changes if t is not None and c[0] <= t]
        if e_in:
            return (e_in[-1][1], e_in[-1][2]), "history"
        if e_changes:
            return (event_before, "history") if event_before else ((None, None), "current_assumed")
        return event_current, ("no_change_listed" if event_listed else "current_assumed")

    def at(t: int | None) -> tuple[str, Decimal, str]:
        (s_type, s_mult), s_src = series_part(t)
        override, e_src = event_part(t)
        fee_type, mult = _layer(s_type, Decimal(s_mult), override)
        whole = e_src == "history" and override[0] is not None and override[1] is not None
        source = "history" if whole else max(s_src, e_src, key=SOURCES.index)
        return fee_type, mult, source

    periods = [FeeTerms(t, *at(t)) for t in sorted({c[0] for c in s_changes} | {c[0] for c in e_changes})]
    base_type, base_mult, base_source = at(None)
    return FeeSchedule(base_type, base_mult, waiver_until_us, tuple(periods), base_source)
