"""The research protocol: sweep → walk-forward → bootstrap → sensitivity → forecast score, and its honest number.

```python
from kalshi_lake.backtest.research import run_research
r = run_research("threshold", "data/lake", grid={"buy_below": ["0.30", "0.40"], "size": ["5", "10"]},
                 folds=3, n_boot=1000, seed=7)
r.bootstrap.pnl, r.bootstrap.pnl_low, r.bootstrap.pnl_high    # the out-of-sample P&L and its 95% interval
```

1. **Windows.** The research window (``start``/``end``, else the first and last trade of the selection) is cut
   into ``folds + 1`` equal blocks of time. Fold i trains on the blocks before block i + 1 (``anchored``: all
   of them; else only block i) and tests on block i + 1. ``folds=0`` runs the grid over the whole window
   in-sample: the number it reports is then optimistic and says so.
2. **Sweep.** Every point of the grid (the cartesian product of the given values over ``params``) is an
   isolated trial (``trials.py``) on each train window; the lake is read for that window only, so no trade,
   book or settlement at or after the train window's end can reach it (a settlement after a window's end is
   not replayed: the position is marked at its last price).
3. **Choice.** On each fold the grid point with the highest ``objective`` on the train window wins (``pnl``
   after fees, ``sharpe``, or ``return``; ties go to the earlier grid point; an undefined Sharpe ranks last).
4. **Honest number.** The chosen params of each fold run once on its test window; the test windows chained
   are the result: P&L and Sharpe with a bootstrap interval clustered by event (``bootstrap.py``).
5. **Sensitivity.** The same walk-forward test runs (each fold with its chosen params) again at fee scales
   (default 0×, 1×, 2×) and order latencies (default 0, 250, 1000 ms).
6. **Forecast score.** If the strategy stated probabilities (``scoring.Forecaster``), its forecasts on the test
   windows are scored against the settlement outcomes (Brier with Murphy's decomposition, log loss).
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from kalshi_lake.backtest.bootstrap import BootstrapResult, cluster_bootstrap, concat_daily
from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.data import to_us
from kalshi_lake.backtest.errors import BacktestError
from kalshi_lake.backtest.scoring import ForecastScore, outcomes_from, score_forecasts
from kalshi_lake.backtest.strategies import load_strategy_class
from kalshi_lake.backtest.strategy import Strategy, parse_params
from kalshi_lake.backtest.trials import Selection, Trial, TrialResult, load_window, run_trials

OBJECTIVES = ("pnl", "sharpe", "return")
DEFAULT_FEE_SCALES = (Decimal(0), Decimal(1), Decimal(2))
DEFAULT_LATENCIES = (0, 250, 1000)


@dataclass(frozen=True)
class Fold:
    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class Variant:
    """One sensitivity setting and the walk-forward test P&L it gives (Σ over folds)."""

    fee_scale: Decimal
    latency_ms: int
    pnl: Decimal
    fees_paid: Decimal
    n_fills: int


@dataclass
class ResearchResult:
    research_id: str
    strategy: str
    grid: dict[str, list[str]]
    base_params: dict[str, str]
    config: BacktestConfig
    selection: Selection
    window: tuple[int, int]
    folds: list[Fold]
    anchored: bool
    objective: str
    in_sample: bool  # True when folds=0: the reported number was chosen on the same data
    train: list[TrialResult]  # every grid point on every train window (the whole window when in-sample)
    tests: list[TrialResult]  # the chosen params on each test window (in-sample: the chosen sweep trial)
    chosen: list[dict[str, str]]  # the params chosen per fold
    bootstrap: BootstrapResult
    sensitivity: list[Variant]
    sensitivity_trials: list[TrialResult]
    forecast: ForecastScore | None
    created_at: datetime
    seconds: float
    report_path: str | None = None
    notes: list[str] = field(default_factory=list)


def expand_grid(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """The cartesian product of the grid, in the order given (the last key varies fastest)."""
    if not grid:
        return [{}]
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def time_folds(start_us: int, end_us: int, folds: int, anchored: bool = True) -> list[Fold]:
    """``folds`` train/test splits of [start, end) into folds + 1 equal blocks (see the module docstring)."""
    if folds < 1:
        raise BacktestError("walk-forward needs at least one fold")
    if end_us <= start_us:
        raise BacktestError("the research window is empty")
    cuts = [start_us + (end_us - start_us) * k // (folds + 1) for k in range(folds + 2)]
    return [
        Fold(i, cuts[0] if anchored else cuts[i], cuts[i + 1], cuts[i + 1], cuts[i + 2]) for i in range(folds)
    ]


def objective_value(result: TrialResult, objective: str) -> float:
    m = result.metrics
    if objective == "pnl":
        return float(m.pnl)
    if objective == "return":
        return m.return_on_capital
    return m.sharpe if m.sharpe is not None else float("-inf")


def choose(results: list[TrialResult], objective: str) -> TrialResult:
    """The best trial by ``objective``; the earliest grid point wins a tie."""
    best = results[0]
    for r in results[1:]:
        if objective_value(r, objective) > objective_value(best, objective):
            best = r
    return best


def _window(selection: Selection, start, end) -> tuple[int, int]:
    s, e = to_us(start), to_us(end, end=True)
    if s is not None and e is not None:
        return s, e
    data = load_window(selection, s, e)
    ts = data.trades.column("ts")
    if not len(ts):
        raise BacktestError("nothing to research: the selection has no trades in the window")
    first, last = ts[0].as_py(), ts[len(ts) - 1].as_py()
    return (s if s is not None else first), (e if e is not None else last + 1)


def run_research(
    strategy: str | type[Strategy],
    lake_root: str,
    *,
    grid: dict[str, list[str]] | None = None,
    params: dict[str, str] | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    events: list[str] | None = None,
    start=None,
    end=None,
    config: BacktestConfig | None = None,
    folds: int = 3,
    anchored: bool = True,
    objective: str = "pnl",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    fee_scales: tuple[Decimal, ...] = DEFAULT_FEE_SCALES,
    latencies: tuple[int, ...] = DEFAULT_LATENCIES,
    workers: int | None = None,
) -> ResearchResult:
    """Run the whole protocol (module docstring) and return everything it produced."""
    started = time.perf_counter()
    if objective not in OBJECTIVES:
        raise BacktestError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    grid = {k: [str(v) for v in vs] for k, vs in (grid or {}).items()}
    base = {k: str(v) for k, v in (params or {}).items()}
    overlap = sorted(set(grid) & set(base))
    if overlap:
        raise BacktestError(f"parameter(s) {', '.join(overlap)} given both fixed and in the grid")
    cls = load_strategy_class(strategy) if isinstance(strategy, str) else strategy
    points = [{**base, **g} for g in expand_grid(grid)]
    for p in points:
        parse_params(cls.defaults, p)  # a bad name or value fails now, not in a worker
    config = config or BacktestConfig()
    selection = Selection(str(lake_root), tuple(series or ()), tuple(tickers or ()), tuple(events or ()))
    window = _window(selection, start, end)
    in_sample = folds == 0
    splits = (
        [Fold(0, window[0], window[1], window[0], window[1])]
        if in_sample
        else time_folds(*window, folds, anchored)
    )

    def trial(p, s, e, stage, fold, index, cfg=config, fee=Decimal(1)) -> Trial:
        return Trial(strategy, tuple(sorted(p.items())), cfg, s, e, fee, stage, fold, index)

    stage = "sweep" if in_sample else "train"
    train = run_trials(
        [
            trial(p, f.train_start, f.train_end, stage, f.index, i)
            for f in splits
            for i, p in enumerate(points)
        ],
        selection,
        workers,
    )
    chosen = [choose([r for r in train if r.trial.fold == f.index], objective).params for f in splits]
    if in_sample:
        tests = [next(r for r in train if r.params == chosen[0])]
    else:
        tests = run_trials(
            [trial(chosen[f.index], f.test_start, f.test_end, "test", f.index, 0) for f in splits],
            selection,
            workers,
        )
    boot = cluster_bootstrap(
        concat_daily([t.daily for t in tests]), n=n_boot, seed=seed, confidence=confidence
    )

    variants = [(k, config.latency_ms) for k in fee_scales] + [
        (Decimal(1), ms) for ms in latencies if ms != config.latency_ms
    ]
    sens_trials = run_trials(
        [
            trial(
                chosen[f.index],
                f.test_start,
                f.test_end,
                "sensitivity",
                f.index,
                v,
                replace(config, latency_ms=ms),
                k,
            )
            for v, (k, ms) in enumerate(variants)
            for f in splits
        ],
        selection,
        workers,
    )
    sensitivity = []
    for v, (k, ms) in enumerate(variants):
        rs = [r for r in sens_trials if r.trial.index == v]
        sensitivity.append(
            Variant(
                k,
                ms,
                sum((r.metrics.pnl for r in rs), Decimal(0)),
                sum((r.metrics.fees_paid for r in rs), Decimal(0)),
                sum(r.metrics.n_fills for r in rs),
            )
        )

    forecasts = [f for t in tests for f in t.forecasts]
    score = None
    if forecasts:  # outcomes known to the lake for the whole window: scoring happens after the fact
        score = score_forecasts(forecasts, outcomes_from(load_window(selection, window[0], None)))
    now = datetime.now(UTC)
    notes = []
    if in_sample:
        notes.append("in-sample: the params were chosen on the data they are scored on (use --folds ≥ 1)")
    return ResearchResult(
        research_id=f"rs-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
        strategy=cls.name if not isinstance(strategy, str) or ":" not in strategy else strategy,
        grid=grid,
        base_params=base,
        config=config,
        selection=selection,
        window=window,
        folds=splits,
        anchored=anchored,
        objective=objective,
        in_sample=in_sample,
        train=train,
        tests=tests,
        chosen=chosen,
        bootstrap=boot,
        sensitivity=sensitivity,
        sensitivity_trials=sens_trials,
        forecast=score,
        created_at=now,
        seconds=time.perf_counter() - started,
        notes=notes,
    )
