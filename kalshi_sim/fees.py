"""Scheduled fee changes of the local exchange: series terms and event overrides that take effect at a time.

Kalshi publishes them as ``GET /series/fee_changes`` (``series_fee_change_arr``: ``id``, ``series_ticker``,
``fee_type``, ``fee_multiplier``, ``scheduled_ts``) and ``GET /events/fee_changes`` (``event_fee_changes``, paged:
``id``, ``event_ticker``, ``series_ticker``, ``fee_type_override``, ``fee_multiplier_override``, ``scheduled_ts``;
both overrides null = the override is cleared and the series terms apply again).

The world's schedule (deterministic, relative to the origin so every seed and size has it):

- KXINXD traded at multiplier 1 until one day after the start of history; from then on 0.5 (its terms at the
  origin, so everything the world did before this module existed is unchanged for accounts trading at the
  origin);
- KXHIGHNY's multiplier goes from 1 to 0.5 one day after the origin (an upcoming change at the origin);
- the first KXHIGHNY event still open a day after the origin gets a fee-free override (``quadratic``, 0) from
  12 hours after the origin, cleared 36 hours after the origin.

A fill pays the terms in effect at its own time (:meth:`FeeSchedule.terms_at`): the event override when one is
in effect, else the series terms. The responses show the terms in effect at the exchange's ``now``.

Decisions where the docs are silent: ``show_historical=false`` (the default) lists only changes still to come
(``scheduled_ts`` after now), ``true`` every change; ``/events/fee_changes`` lists past and upcoming changes
(it has no ``show_historical``), newest scheduled first, filtered by ``event_ticker``.

Fee rounding (:func:`round_fill`), as the current docs page "Fee Rounding" (docs.kalshi.com/getting_started/
fee_rounding, the version of 2026-09/10: "Fees are six-decimal dollar amounts") states it. A member's balance
has a target precision: $0.0001 for a direct member, $0.01 for a non-direct (FCM-cleared) one. Every fill has
three fee components, in micro-dollars ($0.000001, the finest a fill's revenue can occupy):

1. ``trade = ceil_6dp(model fee)`` (:func:`kalshi_sim.accounts.trade_fee`);
2. ``aligned = floor_precision(revenue − trade)`` (toward −∞; ``revenue`` signed, negative for a buyer);
3. ``rounding = (revenue − trade) − aligned``, added to the ORDER's accumulator (one per order, across its
   taker and maker fills alike);
4. ``rebate`` = the accumulator's whole multiples of the precision, capped so the fill's net fee cannot be
   negative; the accumulator keeps the rest.

Net fee = trade + rounding − rebate ≥ 0; the balance moves by ``revenue − net = aligned + rebate``, always on
the member's grid. Decisions where the page is silent: the cap is the largest multiple of the precision not
above ``trade + rounding`` (a rebate off the grid would take the balance off it); a rebate is due as soon as the
accumulator holds a whole increment (the page's worked example rebates $0.010 of $0.012 and carries $0.002). An
earlier version of the page (rounding the trade fee up to $0.0001 and rebating whole cents only, for every
member) is superseded; the two agree on a direct member's single fill at whole-cent prices and whole contracts,
e.g. the recorded real fills (1 at $0.52: $0.017472 → fee_cost $0.017500).

What the API shows: a fill's ``fee_cost`` is its net fee (the real recordings show $0.017500 where the model fee
is $0.017472); an order's ``taker_fees_dollars`` / ``maker_fees_dollars`` and ``average_fee_paid``, a position's
``fees_paid_dollars`` and a settlement's ``fee_cost`` sum net fees (a rebate counts with the fill that got it);
no response carries the three components or the accumulator (the spec has no such field).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from kalshi_sim import fmt
from kalshi_sim.world import DAY, HOUR


@dataclass(frozen=True)
class SeriesFeeChange:
    id: str
    series_ticker: str
    fee_type: str
    fee_multiplier: str  # decimal text; a JSON number on the wire
    scheduled_us: int


@dataclass(frozen=True)
class EventFeeChange:
    id: str
    event_ticker: str
    series_ticker: str
    fee_type_override: str | None
    fee_multiplier_override: str | None
    scheduled_us: int


class FeeSchedule:
    """Series terms over time (initial terms + changes) and event overrides over time."""

    def __init__(self, initial: dict[str, tuple[str, str]]) -> None:
        self.initial = dict(initial)  # series ticker → (fee_type, multiplier text) before any change
        self.series_changes: list[SeriesFeeChange] = []
        self.event_changes: list[EventFeeChange] = []

    def add_series(self, change: SeriesFeeChange) -> None:
        self.series_changes.append(change)
        self.series_changes.sort(key=lambda c: c.scheduled_us)

    def add_event(self, change: EventFeeChange) -> None:
        self.event_changes.append(change)
        self.event_changes.sort(key=lambda c: c.scheduled_us)

    def series_terms(self, series_ticker: str, t: int) -> tuple[str, str]:
        terms = self.initial[series_ticker]
        for c in self.series_changes:
            if c.series_ticker == series_ticker and c.scheduled_us <= t:
                terms = (c.fee_type, c.fee_multiplier)
        return terms

    def event_override(self, event_ticker: str, t: int) -> tuple[str | None, str | None]:
        out: tuple[str | None, str | None] = (None, None)
        for c in self.event_changes:
            if c.event_ticker == event_ticker and c.scheduled_us <= t:
                out = (c.fee_type_override, c.fee_multiplier_override)
        return out

    def terms_at(self, series_ticker: str, event_ticker: str, t: int) -> tuple[str, Fraction]:
        """(fee type, multiplier) a fill at ``t`` pays: the event override when set, else the series terms."""
        fee_type, mult = self.series_terms(series_ticker, t)
        o_type, o_mult = self.event_override(event_ticker, t)
        if o_type is not None:
            fee_type = o_type
        if o_mult is not None:
            mult = o_mult
        return fee_type, Fraction(mult)


def build_schedule(ex, origin_us: int) -> FeeSchedule:
    """The world's schedule (see the module docstring). Ids come from their own generator, so the exchange's
    other ids (orders, trades) are the same with or without the schedule."""
    rng = random.Random(ex.seed * 6151 + 11)

    def new_id() -> str:
        return fmt.uuid_from_int(rng.getrandbits(128))

    sched = FeeSchedule({s.ticker: (s.fee_type, s.fee_multiplier) for s in ex.series})
    if "KXINXD" in sched.initial:
        fee_type, mult = sched.initial["KXINXD"]
        sched.initial["KXINXD"] = (fee_type, "1")
        sched.add_series(SeriesFeeChange(new_id(), "KXINXD", fee_type, mult, ex.start_us + DAY))
    if "KXHIGHNY" in sched.initial:
        fee_type, _ = sched.initial["KXHIGHNY"]
        sched.add_series(SeriesFeeChange(new_id(), "KXHIGHNY", fee_type, "0.5", origin_us + DAY))
        target = next(
            (
                ev
                for ev in ex.events
                if ev.series_ticker == "KXHIGHNY" and not ev.is_mve and ev.close_us > origin_us + DAY
            ),
            None,
        )
        if target is not None:
            for fee_type_o, mult_o, at in (("quadratic", "0", 12 * HOUR), (None, None, 36 * HOUR)):
                sched.add_event(
                    EventFeeChange(
                        new_id(), target.event_ticker, "KXHIGHNY", fee_type_o, mult_o, origin_us + at
                    )
                )
    return sched


DIRECT_PRECISION = 100  # $0.0001 in micro-dollars: a direct member's balance grid
NON_DIRECT_PRECISION = 10_000  # $0.01: a non-direct (FCM-cleared) member's


@dataclass(frozen=True)
class FillFee:
    """The fee components of one fill (micro-dollars) and the balance change they leave."""

    trade: int
    rounding: int
    rebate: int
    balance_change: int  # revenue − net: always a multiple of the member's precision

    @property
    def net(self) -> int:
        return self.trade + self.rounding - self.rebate


def round_fill(revenue: int, trade: int, precision: int, accumulated: int) -> tuple[FillFee, int]:
    """Apply the fee rounding rules (module docstring) to one fill.

    ``revenue``: the fill's signed cash before fees (µ$, negative for a buyer); ``trade``: its trade fee (µ$,
    already rounded up to $0.000001); ``precision``: the member's balance grid (µ$); ``accumulated``: the
    order's accumulator before the fill. Returns (the fill's components, the accumulator after it).
    """
    if precision <= 0 or trade < 0 or accumulated < 0:
        raise ValueError("precision must be > 0, trade fee and accumulator >= 0")
    change = revenue - trade
    aligned = change // precision * precision  # floor toward −∞
    rounding = change - aligned
    acc = accumulated + rounding
    rebate = min(acc // precision, (trade + rounding) // precision) * precision
    return FillFee(trade, rounding, rebate, aligned + rebate), acc - rebate


def number(text: str | None):
    """Decimal text → the JSON number Kalshi sends (an int when whole)."""
    if text is None:
        return None
    f = Fraction(text)
    return int(f) if f.denominator == 1 else float(f)
