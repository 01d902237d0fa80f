"""Forecast scoring for strategies that state a probability.

**The hook** (small on purpose; the engine does not know about it): a strategy that forecasts mixes in
``Forecaster`` and calls ``self.forecast(ctx, ticker, p)`` with its probability that the market settles YES
(a Decimal, str or int in [0, 1]). The forecasts are kept on the strategy (``strategy.forecasts``: a list of
``Forecast``), so the same strategy object runs live unchanged. Any object with such a ``forecasts`` list
works.

```python
class Calibrated(Forecaster, Strategy):
    def on_trade(self, ctx, trade):
        self.forecast(ctx, trade.ticker, trade.yes_price_dollars)  # "the price is the probability"
```

**The score**: for each market, its **last** forecast is compared with the settlement outcome (o = 1 if the
market settled YES at $1, 0 if at $0; scalar settlements and markets not settled are left out and counted).
With N scored markets, p their forecasts and K equal-width bins of p on [0, 1]:

* Brier = (1/N) Σ (p − o)²;  log loss = −(1/N) Σ [o·ln p + (1 − o)·ln(1 − p)], p clipped to [1e-6, 1 − 1e-6]
* Murphy's decomposition over the bins (n_k forecasts, mean forecast p̄_k, observed frequency ō_k, base rate ō):
  reliability = (1/N) Σ n_k (p̄_k − ō_k)², resolution = (1/N) Σ n_k (ō_k − ō)², uncertainty = ō (1 − ō), and
  Brier = reliability − resolution + uncertainty + within_variance + 2·within_covariance, where
  within_variance = (1/N) ΣΣ (p_i − p̄_k)² and within_covariance = (1/N) ΣΣ (p_i − p̄_k)(p̄_k − o_i). Both
  vanish when the forecasts of each bin are equal (binned forecasts): then Brier = REL − RES + UNC exactly.

The arithmetic is exact (``Fraction``); the results are floats because they are statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kalshi_lake.backtest.money import PRICE_SCALE

LOG_CLIP = 1e-6


@dataclass(frozen=True)
class Forecast:
    ts: int  # µs, exchange time of the event the strategy was looking at
    ticker: str
    p: Decimal  # probability of YES


class Forecaster:
    """Mixin for strategies that state probabilities: ``self.forecast(ctx, ticker, p)``."""

    def forecast(self, ctx, ticker: str, p) -> None:
        if isinstance(p, float):
            raise TypeError("give the probability as a Decimal or str, not float")
        p = Decimal(str(p))
        if not (p.is_finite() and 0 <= p <= 1):
            raise ValueError(f"a probability must be between 0 and 1, got {p}")
        if "forecasts" not in self.__dict__:
            self.forecasts: list[Forecast] = []
        self.forecasts.append(Forecast(ctx.now, ticker, p))


@dataclass(frozen=True)
class ScoreBin:
    low: float
    high: float
    n: int
    mean_forecast: float
    frequency: float


@dataclass(frozen=True)
class ForecastScore:
    n: int
    n_unscored: int  # markets forecast but not settled to 0/1
    brier: float
    reliability: float
    resolution: float
    uncertainty: float
    within_variance: float
    within_covariance: float
    log_loss: float
    bins: tuple[ScoreBin, ...]


@dataclass(frozen=True)
class _Exact:
    brier: Fraction
    reliability: Fraction
    resolution: Fraction
    uncertainty: Fraction
    within_variance: Fraction
    within_covariance: Fraction


def outcomes_from(data) -> dict[str, int]:
    """Binary outcomes (1 YES / 0 NO) of the settled markets of a ``ReplayData``."""
    out = {}
    for m, o in zip(data.markets, data.outcomes, strict=True):
        if o is not None and o.value_micros in (0, PRICE_SCALE):
            out[m.ticker] = 1 if o.value_micros == PRICE_SCALE else 0
    return out


def last_forecasts(forecasts) -> dict[str, Decimal]:
    """The last forecast stated for each market (by time, then by order stated)."""
    out: dict[str, tuple[int, Decimal]] = {}
    for f in forecasts:
        if f.ticker not in out or f.ts >= out[f.ticker][0]:
            out[f.ticker] = (f.ts, f.p)
    return {t: p for t, (_ts, p) in out.items()}


def _bin(p: Fraction, k: int) -> int:
    return min(int(p * k), k - 1)


def decompose(pairs: list[tuple[Fraction, int]], bins: int = 10) -> tuple[_Exact, list[ScoreBin]]:
    """Exact Brier score and Murphy decomposition of (forecast, outcome) pairs (see the module docstring)."""
    n = len(pairs)
    groups: dict[int, list[tuple[Fraction, int]]] = {}
    for p, o in pairs:
        groups.setdefault(_bin(p, bins), []).append((p, o))
    base = Fraction(sum(o for _p, o in pairs), n)
    brier = sum(((p - o) ** 2 for p, o in pairs), Fraction(0)) / n
    rel = res = wv = wc = Fraction(0)
    out_bins = []
    for k in sorted(groups):
        g = groups[k]
        nk = len(g)
        pk = sum((p for p, _o in g), Fraction(0)) / nk
        ok = Fraction(sum(o for _p, o in g), nk)
        rel += nk * (pk - ok) ** 2
        res += nk * (ok - base) ** 2
        wv += sum(((p - pk) ** 2 for p, _o in g), Fraction(0))
        wc += sum(((p - pk) * (pk - o) for p, o in g), Fraction(0))
        out_bins.append(ScoreBin(k / bins, (k + 1) / bins, nk, float(pk), float(ok)))
    exact = _Exact(brier, rel / n, res / n, base * (1 - base), wv / n, wc / n)
    return exact, out_bins


def score_forecasts(forecasts, outcomes: dict[str, int], bins: int = 10) -> ForecastScore | None:
    """Score each market's last forecast against its outcome; None if no forecast market settled 0/1."""
    last = last_forecasts(forecasts)
    pairs = [(Fraction(p), outcomes[t]) for t, p in sorted(last.items()) if t in outcomes]
    if not pairs:
        return None
    exact, out_bins = decompose(pairs, bins)
    ll = 0.0
    for p, o in pairs:
        q = min(max(float(p), LOG_CLIP), 1 - LOG_CLIP)
        ll -= math.log(q) if o else math.log(1 - q)
    return ForecastScore(
        n=len(pairs),
        n_unscored=len(last) - len(pairs),
        brier=float(exact.brier),
        reliability=float(exact.reliability),
        resolution=float(exact.resolution),
        uncertainty=float(exact.uncertainty),
        within_variance=float(exact.within_variance),
        within_covariance=float(exact.within_covariance),
        log_loss=ll / len(pairs),
        bins=tuple(out_bins),
    )
