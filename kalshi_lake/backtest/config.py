"""``BacktestConfig``: the knobs of the simulated exchange (what each one means: ``fills.py``, ``quotes.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from kalshi_lake.backtest.errors import BacktestError
from kalshi_lake.backtest.fills import QUEUE_MODELS
from kalshi_lake.backtest.money import contracts_to_centi


def _dec(name: str, value, *, low: Decimal | None = Decimal(0), high: Decimal | None = None) -> Decimal:
    try:
        d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise BacktestError(f"{name} must be a number, got {value!r}") from None
    if not d.is_finite() or (low is not None and d < low) or (high is not None and d > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise BacktestError(f"{name} must be a finite number {bounds}, got {value!r}")
    return d


@dataclass(frozen=True)
class BacktestConfig:
    """Knobs of the simulated exchange. Seconds, shares and contracts may be given as Decimal, int or str."""

    initial_cash: Decimal = Decimal("1000")
    queue: str = "through"  # through | front | risk_averse (= back) | prob  (fills.py)
    max_quote_age_s: Decimal | int | str = 5  # older quotes are no liquidity for a taker (quotes.py)
    latency_ms: int = 0  # order latency: an order or cancel reaches the exchange this long after it is sent
    feed_latency_ms: int = 0  # feed latency: the strategy sees the exchange this long after it happened
    unsized_quote: Decimal | int | str = 1  # contracts a quote without a displayed size offers
    queue_cancel_ahead: Decimal | int | str = Decimal(
        "0.5"
    )  # `prob` queue: share of cancels taken from ahead
    max_participation: Decimal | int | str | None = None  # our share of any one print, 0–1 (None: no cap)
    max_position: Decimal | int | str | None = None  # |contracts| per market, open orders included
    max_total_position: Decimal | int | str | None = None  # Σ |contracts| over markets
    direct_member: bool = (
        True  # fee rounding's balance grid: $0.0001 (direct) or $0.01 (non-direct) (fees.py)
    )

    def __post_init__(self) -> None:
        if self.queue not in QUEUE_MODELS:
            raise BacktestError(f"queue must be one of {', '.join(QUEUE_MODELS)}, got {self.queue!r}")
        cash = None if isinstance(self.initial_cash, float) else Decimal(self.initial_cash)
        if cash is None or not cash.is_finite() or cash <= 0:  # NaN would not even compare
            raise BacktestError(f"initial_cash must be a positive, finite Decimal, got {self.initial_cash!r}")
        _dec("max_quote_age_s", self.max_quote_age_s)
        if not isinstance(self.direct_member, bool):
            raise BacktestError(f"direct_member must be a boolean, got {self.direct_member!r}")
        if self.latency_ms < 0 or self.feed_latency_ms < 0:
            raise BacktestError("latency_ms and feed_latency_ms must be >= 0")
        _dec("unsized_quote", self.unsized_quote)
        _dec("queue_cancel_ahead", self.queue_cancel_ahead, high=Decimal(1))
        if self.max_participation is not None:
            _dec("max_participation", self.max_participation, high=Decimal(1))
        for name in ("max_position", "max_total_position"):
            if getattr(self, name) is not None:
                _dec(name, getattr(self, name))

    # -- integer views used by the engine ----------------------------------------------------------------------
    @property
    def max_age_us(self) -> int:
        return int(_dec("max_quote_age_s", self.max_quote_age_s) * 1_000_000)

    @property
    def unsized_centi(self) -> int:
        return contracts_to_centi(_dec("unsized_quote", self.unsized_quote))

    @property
    def cancel_share(self) -> Fraction:
        return Fraction(_dec("queue_cancel_ahead", self.queue_cancel_ahead))

    @property
    def participation(self) -> Fraction | None:
        if self.max_participation is None:
            return None
        return Fraction(_dec("max_participation", self.max_participation))

    def limit_centi(self, name: str) -> int | None:
        value = getattr(self, name)
        return None if value is None else contracts_to_centi(_dec(name, value))

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}
