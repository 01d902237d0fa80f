"""One isolated backtest trial, and running many of them on a small process pool.

A trial is data, not an object with state: the strategy spec (a built-in name or ``path.py:Class``, or a
``Strategy`` subclass importable by name), its parameters, the exchange config, a time window and a fee scale.
Each trial builds a fresh strategy, engine and portfolio, so trials cannot leak into each other. The lake is
read once per (selection, window) in each worker process and reused by the trials that share it.

Fee scale k multiplies every market's ``fee_multiplier`` (0 = no fees, 2 = double); waivers still apply.
Results come back in the order the trials were given, whatever the pool did: a sweep is deterministic.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from multiprocessing import get_all_start_methods, get_context

from kalshi_lake.backtest.attribution import DailyPnl, event_daily_pnl
from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.data import ReplayData, load_replay_data
from kalshi_lake.backtest.engine import Engine
from kalshi_lake.backtest.events import us_to_datetime
from kalshi_lake.backtest.metrics import Metrics, compute_metrics
from kalshi_lake.backtest.strategies import make_strategy
from kalshi_lake.backtest.strategy import Strategy

POOL_CORES = 2  # the machines this runs on; more workers only add memory
MIN_PARALLEL = 4  # fewer trials than this run in the calling process (a pool costs a second to start)


@dataclass(frozen=True)
class Selection:
    """Which markets a research run replays (the lake and its filters)."""

    lake_root: str
    series: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()
    events: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "lake_root": self.lake_root,
            "series": list(self.series),
            "tickers": list(self.tickers),
            "events": list(self.events),
        }


@dataclass(frozen=True)
class Trial:
    strategy: str | type[Strategy]
    params: tuple[tuple[str, str], ...]
    config: BacktestConfig
    start_us: int | None
    end_us: int | None
    fee_scale: Decimal = Decimal(1)
    stage: str = "sweep"  # sweep | train | test | sensitivity
    fold: int = 0
    index: int = 0  # position in the grid


@dataclass
class TrialResult:
    trial: Trial
    metrics: Metrics
    daily: DailyPnl
    forecasts: list = field(default_factory=list)  # the strategy's ``forecasts`` if it stated any

    @property
    def params(self) -> dict[str, str]:
        return dict(self.trial.params)


def _dt(us: int | None) -> datetime | None:
    return None if us is None else us_to_datetime(us)


@lru_cache(maxsize=8)
def load_window(selection: Selection, start_us: int | None, end_us: int | None) -> ReplayData:
    """The lake for one window (cached per process: trials of one window share it; never mutated)."""
    return load_replay_data(
        selection.lake_root,
        series=list(selection.series) or None,
        tickers=list(selection.tickers) or None,
        events=list(selection.events) or None,
        start=_dt(start_us),
        end=_dt(end_us),
        include_candles=True,
    )


def scale_fees(data: ReplayData, k: Decimal) -> ReplayData:
    """The same data with every fee multiplier times ``k``."""
    if k == 1:
        return data
    fees = [f.scaled(k) for f in data.fees]
    return replace(data, fees=fees)


def run_trial(trial: Trial, selection: Selection) -> TrialResult:
    """One fresh strategy + engine + portfolio over the trial's window."""
    data = scale_fees(load_window(selection, trial.start_us, trial.end_us), trial.fee_scale)
    params = dict(trial.params)
    if isinstance(trial.strategy, str):
        strategy = make_strategy(trial.strategy, params)
    else:
        strategy = trial.strategy(**params)
    state = Engine(data, strategy, trial.config).run()
    return TrialResult(
        trial,
        compute_metrics(state),
        event_daily_pnl(state, data),
        list(getattr(strategy, "forecasts", None) or []),
    )


def _run_one(args: tuple[Trial, Selection]) -> TrialResult:
    return run_trial(*args)


def run_trials(trials: list[Trial], selection: Selection, workers: int | None = None) -> list[TrialResult]:
    """Run trials, in a process pool of ``workers`` (default: 2, or 1 for fewer than 4 trials); results in the
    order given."""
    if workers is None:
        workers = 1 if len(trials) < MIN_PARALLEL else min(POOL_CORES, os.cpu_count() or 1)
    if workers <= 1:
        return [run_trial(t, selection) for t in trials]
    # fork where there is one: a script needs no `if __name__ == "__main__"` guard and workers start at once
    # (the parent holds no DuckDB connection open: each load closes its own)
    ctx = get_context("fork") if "fork" in get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(_run_one, [(t, selection) for t in trials], chunksize=1))
