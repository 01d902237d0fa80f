"""Risk limits: checked before every order, by the runner, never by the strategy.

The strategy only ever holds ``ctx``; the limits and the gate live in the runner, which calls
:meth:`RiskGate.check` between the strategy's request and the fill model (paper) or the order module (live).
A strategy cannot loosen them through its API: :class:`RiskLimits` is frozen and built at the door (CLI, flow)
before the strategy is loaded. (Python code in the same process can reach anything by introspection; a strategy
you do not trust belongs in a separate process with its own key.)

A refused order gets a reason naming the limit (``reason``) and never reaches the exchange. The checks, in
order (the first that fails is the reason):

``kill switch``            the stop file exists (``kalshi-lake run --stop``): nothing new, resting orders cancelled
``stale feed``             the market's book is older than ``max_data_age_s`` (see ``feed.py`` for "age")
``series not allowed``     the market's series is not in ``allowed_series`` (when given)
``max order size``         count > ``max_order_size`` contracts
``max order notional``     count × price of the named outcome > ``max_order_notional`` dollars
``max open orders``        this runner's resting + in-flight orders ≥ ``max_open_orders``
``max position``           |position + same-direction open orders + this order| > ``max_position`` (per market)
``max total position``     Σ|positions| with this order > ``max_total_position``
``max daily notional``     today's accepted notional + this order > ``max_daily_notional``
``max daily loss``         today's P&L (realized + marked: equity − equity at the day's start) ≤ −``max_daily_loss``
``max order rate``         ``max_orders_per_minute`` orders accepted in the last 60 s (the runner's clock)
An order that only reduces a position passes the position checks (as in the backtester).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from kalshi_lake.backtest.money import MONEY_SCALE, contracts_to_centi, dollars_to_units

__all__ = ["RiskLimits", "RiskGate", "Proposal", "Exposure"]


def _dec(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError(f"risk limits take Decimal or str, not float ({value!r})")
    d = Decimal(str(value))
    if not d.is_finite() or d < 0:
        raise ValueError(f"a risk limit must be a finite number >= 0, got {value!r}")
    return d


@dataclass(frozen=True)
class RiskLimits:
    """Every limit is optional (None = unlimited) except the ones with defaults, which are deliberately small."""

    max_order_size: Decimal | None = Decimal(10)  # contracts per order
    max_position: Decimal | None = Decimal(50)  # |contracts| per market
    max_total_position: Decimal | None = Decimal(200)  # Σ |contracts|
    max_open_orders: int | None = 20
    max_order_notional: Decimal | None = Decimal(50)  # dollars per order (count × price of the outcome)
    max_daily_notional: Decimal | None = Decimal(1000)  # dollars accepted per UTC day
    max_daily_loss: Decimal | None = Decimal(100)  # dollars, realized + marked
    max_orders_per_minute: int | None = 30
    allowed_series: tuple[str, ...] | None = None
    max_data_age_s: Decimal = Decimal(30)

    def __post_init__(self) -> None:
        for name in (
            "max_order_size",
            "max_position",
            "max_total_position",
            "max_order_notional",
            "max_daily_notional",
            "max_daily_loss",
            "max_data_age_s",
        ):
            object.__setattr__(self, name, _dec(getattr(self, name)))
        for name in ("max_open_orders", "max_orders_per_minute"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or int(v) < 0):
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
            if v is not None:
                object.__setattr__(self, name, int(v))
        if self.allowed_series is not None:
            object.__setattr__(self, "allowed_series", tuple(s.upper() for s in self.allowed_series))

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Proposal:
    """One order as the gate sees it (integer units: centi-contracts, micro-dollars, 1e-8 $)."""

    ticker: str
    series: str | None
    delta: int  # +1 buys YES-equivalent, -1 sells
    count: int  # centi-contracts
    unit_cost: int  # micro-dollars per contract of the named outcome (what the order pays per contract)
    data_age_s: float | None  # None: no book seen yet (counts as stale)


@dataclass(frozen=True)
class Exposure:
    """The account as the runner knows it right now."""

    position: int  # this market, signed centi-contracts
    same_side_open: int  # centi-contracts of this runner's open orders in the same direction, this market
    total_position: int  # Σ |positions| (centi)
    open_orders: int
    pnl_today: int  # money units (equity now − equity at the day's start)


class RiskGate:
    """Holds the limits and the counters they need (today's notional, recent order times, the kill switch)."""

    def __init__(self, limits: RiskLimits, *, stop_file: str | Path | None = None, clock=time.monotonic):
        self.limits = limits
        self.stop_file = Path(stop_file) if stop_file is not None else None
        self._clock = clock
        self._recent: deque[float] = deque()
        self.day: str | None = None
        self.notional_today = 0  # money units
        self.hits: dict[str, int] = {}

    # -- the kill switch ---------------------------------------------------------------------------------------
    def stopped(self) -> bool:
        return self.stop_file is not None and self.stop_file.exists()

    # -- the day ------------------------------------------------------------------------------------------------
    def roll_day(self, day: str, notional_today: int = 0) -> None:
        """Start counting a new UTC day (or resume one with its notional so far, after a restart)."""
        if day != self.day:
            self.day = day
            self.notional_today = notional_today

    # -- the check ----------------------------------------------------------------------------------------------
    def check(self, p: Proposal, x: Exposure) -> str | None:
        """Why this order must not be sent, or None. Counts each refusal by limit in ``hits``."""
        reason = self._why(p, x)
        if reason is not None:
            key = reason.split(" (")[0]
            self.hits[key] = self.hits.get(key, 0) + 1
        return reason

    def _why(self, p: Proposal, x: Exposure) -> str | None:
        lim = self.limits
        if self.stopped():
            return f"kill switch ({self.stop_file})"
        if p.data_age_s is None or p.data_age_s > float(lim.max_data_age_s):
            age = "no book yet" if p.data_age_s is None else f"{p.data_age_s:.1f} s old"
            return f"stale feed ({age}; limit {lim.max_data_age_s} s)"
        if lim.allowed_series is not None and (p.series or "").upper() not in lim.allowed_series:
            return f"series not allowed ({p.series}; allowed {', '.join(lim.allowed_series)})"
        if lim.max_order_size is not None and p.count > contracts_to_centi(lim.max_order_size):
            return f"max order size ({_c(p.count)} > {lim.max_order_size})"
        notional = p.count * p.unit_cost
        if lim.max_order_notional is not None and notional > dollars_to_units(lim.max_order_notional):
            return f"max order notional (${_u(notional)} > ${lim.max_order_notional})"
        if lim.max_open_orders is not None and x.open_orders >= lim.max_open_orders:
            return f"max open orders ({x.open_orders} open; limit {lim.max_open_orders})"
        after = x.position + p.delta * (x.same_side_open + p.count)
        if abs(after) > abs(x.position):  # reducing a position is always allowed
            if lim.max_position is not None and abs(after) > contracts_to_centi(lim.max_position):
                return f"max position ({_c(abs(after))} with open orders > {lim.max_position})"
            total = x.total_position - abs(x.position) + abs(after)
            if lim.max_total_position is not None and total > contracts_to_centi(lim.max_total_position):
                return f"max total position ({_c(total)} > {lim.max_total_position})"
        if lim.max_daily_notional is not None:
            if self.notional_today + notional > dollars_to_units(lim.max_daily_notional):
                return (
                    f"max daily notional (${_u(self.notional_today + notional)} > ${lim.max_daily_notional})"
                )
        if lim.max_daily_loss is not None and x.pnl_today <= -dollars_to_units(lim.max_daily_loss):
            return f"max daily loss (P&L today ${_u(x.pnl_today)}; limit -${lim.max_daily_loss})"
        if lim.max_orders_per_minute is not None:
            now = self._clock()
            while self._recent and now - self._recent[0] >= 60:
                self._recent.popleft()
            if len(self._recent) >= lim.max_orders_per_minute:
                return f"max order rate ({len(self._recent)} in the last minute)"
        return None

    def accepted(self, p: Proposal) -> None:
        """Count an order that passed (its notional today, its time for the rate limit)."""
        self.notional_today += p.count * p.unit_cost
        self._recent.append(self._clock())


def _c(centi: int) -> Decimal:
    return Decimal(centi).scaleb(-2)


def _u(units: int) -> Decimal:
    return (Decimal(units) / MONEY_SCALE).quantize(Decimal("0.01"))
