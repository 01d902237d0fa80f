"""Bootstrap confidence intervals of P&L and Sharpe, clustered by event.

Method (stated in every output, ``BootstrapResult.method``): the sampling unit is the **event**, not the fill
or the market — markets of one event settle on the same fact and fills of one market share its path, so they
are not independent draws. Each of the C replayed events (``attribution.event_daily_pnl``: its daily P&L,
events never traded included as zeros) is a cluster. One resample draws C events with replacement (numpy
``default_rng(seed)``, PCG64) and adds up their daily P&L; its P&L is the sum, its Sharpe is computed from the
equity curve initial cash + cumulative P&L exactly as ``metrics`` does for a run (mean / sample stdev of daily
returns × √365). The interval is the percentile interval: the order statistics at ⌊N·α/2⌋ and ⌈N·(1−α/2)⌉−1
of the N sorted resamples, so P&L bounds are exact sums of recorded money, never interpolated. Resamples whose
Sharpe is undefined (zero variance) are left out of the Sharpe interval and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from kalshi_lake.backtest.attribution import DailyPnl
from kalshi_lake.backtest.metrics import _sharpe
from kalshi_lake.backtest.money import units_to_dollars

METHOD = (
    "percentile bootstrap, events resampled with replacement (all markets of an event together), "
    "{n} resamples of {c} events, numpy default_rng({seed}), {conf:.0%} interval"
)


@dataclass(frozen=True)
class BootstrapResult:
    n_resamples: int
    seed: int
    confidence: float
    n_clusters: int
    pnl: Decimal  # the point estimate (every event once)
    pnl_low: Decimal
    pnl_high: Decimal
    sharpe: float | None
    sharpe_low: float | None
    sharpe_high: float | None
    sharpe_undefined: int  # resamples with no Sharpe (flat equity)
    pnl_samples: list[int] = field(repr=False, default_factory=list)  # money units, sorted
    sharpe_samples: list[float] = field(repr=False, default_factory=list)  # sorted, defined ones

    @property
    def method(self) -> str:
        return METHOD.format(n=self.n_resamples, c=self.n_clusters, seed=self.seed, conf=self.confidence)

    @property
    def p_loss(self) -> float:
        """Share of resamples that lost money."""
        return sum(1 for x in self.pnl_samples if x < 0) / len(self.pnl_samples) if self.pnl_samples else 0.0


def percentile_bounds(n: int, confidence: float) -> tuple[int, int]:
    """Indices of the lower and upper order statistics of a ``confidence`` interval among ``n`` sorted values."""
    alpha = 1 - confidence
    return math.floor(n * alpha / 2), max(0, math.ceil(n * (1 - alpha / 2)) - 1)


def resample_counts(n_clusters: int, n: int, seed: int) -> np.ndarray:
    """(n, n_clusters) how often each cluster is drawn in each resample (each row sums to n_clusters)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_clusters, size=(n, n_clusters))
    counts = np.zeros((n, n_clusters), dtype=np.int64)
    np.add.at(counts, (np.arange(n)[:, None], idx), 1)
    return counts


def sharpe_rows(initial: int, daily: np.ndarray) -> np.ndarray:
    """Sharpe of each row of daily P&L (money units), as ``metrics._sharpe`` computes it; NaN if undefined."""
    equity = initial + np.cumsum(daily, axis=1, dtype=np.float64)
    prev = np.concatenate([np.full((daily.shape[0], 1), float(initial)), equity[:, :-1]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.where(prev > 0, (equity - prev) / prev, np.nan)
        n = np.sum(~np.isnan(rets), axis=1)
        mean = np.nanmean(rets, axis=1) if rets.shape[1] else np.full(daily.shape[0], np.nan)
        var = np.nansum((rets - mean[:, None]) ** 2, axis=1) / (n - 1)
        out = mean / np.sqrt(var) * math.sqrt(365)
    out[(n < 2) | ~(var > 0)] = np.nan
    return out


def cluster_bootstrap(
    daily: DailyPnl, n: int = 1000, seed: int = 0, confidence: float = 0.95
) -> BootstrapResult:
    """Percentile intervals of total P&L and Sharpe from resampling events (see the module docstring)."""
    if n < 1:
        raise ValueError("the bootstrap needs at least one resample")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    c = len(daily.clusters)
    point_daily = daily.total()
    point_pnl = sum(point_daily)
    cum, point_curve = 0, []
    for ts, v in zip(daily.cutoffs, point_daily, strict=True):
        cum += v
        point_curve.append((ts, daily.initial_cash + cum))
    point_sharpe = _sharpe(daily.initial_cash, point_curve)
    if c == 0:
        pnl_samples = np.zeros(n, dtype=np.int64)
        sharpes = np.full(n, np.nan)
    else:
        matrix = np.asarray(daily.pnl, dtype=np.int64)  # (clusters, days)
        sampled = resample_counts(c, n, seed) @ matrix  # (n, days), exact integer sums
        pnl_samples = sampled.sum(axis=1)
        sharpes = sharpe_rows(daily.initial_cash, sampled)
    pnl_sorted = sorted(int(x) for x in pnl_samples)
    lo, hi = percentile_bounds(n, confidence)
    defined = sorted(float(x) for x in sharpes if not np.isnan(x))
    s_lo = s_hi = None
    if defined:
        a, b = percentile_bounds(len(defined), confidence)
        s_lo, s_hi = defined[a], defined[b]
    return BootstrapResult(
        n_resamples=n,
        seed=seed,
        confidence=confidence,
        n_clusters=c,
        pnl=units_to_dollars(point_pnl),
        pnl_low=units_to_dollars(pnl_sorted[lo]),
        pnl_high=units_to_dollars(pnl_sorted[hi]),
        sharpe=point_sharpe,
        sharpe_low=s_lo,
        sharpe_high=s_hi,
        sharpe_undefined=n - len(defined),
        pnl_samples=pnl_sorted,
        sharpe_samples=defined,
    )


def concat_daily(parts: list[DailyPnl]) -> DailyPnl:
    """Chain the daily P&L of consecutive windows (walk-forward test folds) into one: clusters are matched by
    event, days follow each other, the first window's initial cash starts the curve."""
    if not parts:
        raise ValueError("nothing to chain")
    clusters: dict[str, int] = {}
    for p in parts:
        for name in p.clusters:
            clusters.setdefault(name, len(clusters))
    rows = [[] for _ in clusters]
    cutoffs: list[int] = []
    for p in parts:
        mine = dict(zip(p.clusters, p.pnl, strict=True))
        for name, k in clusters.items():
            rows[k].extend(mine.get(name, [0] * len(p.cutoffs)))
        cutoffs.extend(p.cutoffs)
    return DailyPnl(cutoffs, list(clusters), rows, parts[0].initial_cash)
