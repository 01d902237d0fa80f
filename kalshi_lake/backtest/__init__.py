"""A fee-aware backtester on the lake.

```python
from kalshi_lake.backtest import run_backtest, make_strategy, BacktestConfig, write_results, plot_equity
result = run_backtest(make_strategy("threshold", {"size": "5"}), settings.lake_root,
                      series=["KXHIGHNY"], start="2026-11-01", end="2026-11-20",
                      config=BacktestConfig(initial_cash=Decimal("1000"), queue="through"))
result.metrics.pnl                       # Decimal, after fees
write_results(result, settings.warehouse_path, plot_path=plot_equity(result, "equity.png"))
```

Modules: ``money`` (integer units, tick grid), ``fees`` (Kalshi fee model), ``data`` (lake loading), ``context``,
``events`` (what strategies receive), ``strategy`` (the interface), ``fills`` (fill model), ``portfolio``
(positions, cash, FIFO), ``engine`` (the replay loop), ``metrics``, ``runner``, ``results`` (DuckDB tables),
``plot`` (PNG), ``strategies`` (built-ins and the file loader); the research protocol: ``research`` (sweep,
walk-forward, sensitivity), ``trials``, ``attribution`` + ``bootstrap`` (event-clustered intervals), ``scoring``
(forecasts), ``research_store`` (``bt_research``/``bt_trials``), ``report`` (PNG).
"""

from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.context import Context
from kalshi_lake.backtest.data import MarketInfo, ReplayData, load_replay_data
from kalshi_lake.backtest.engine import Engine
from kalshi_lake.backtest.errors import (
    BacktestDataError,
    BacktestError,
    StrategyLoadError,
    StrategyParamError,
)
from kalshi_lake.backtest.events import Book, Candle, Fill, Order, OrderRequest, Settlement, Trade
from kalshi_lake.backtest.fees import FeeSchedule
from kalshi_lake.backtest.metrics import Metrics
from kalshi_lake.backtest.plot import plot_equity
from kalshi_lake.backtest.research import ResearchResult, run_research
from kalshi_lake.backtest.results import write_results
from kalshi_lake.backtest.runner import BacktestResult, run_backtest
from kalshi_lake.backtest.strategies import BUILTINS, load_strategy_class, make_strategy
from kalshi_lake.backtest.strategy import Strategy

__all__ = [
    "BUILTINS",
    "BacktestConfig",
    "BacktestDataError",
    "BacktestError",
    "BacktestResult",
    "Book",
    "Candle",
    "Context",
    "Engine",
    "FeeSchedule",
    "Fill",
    "MarketInfo",
    "Metrics",
    "Order",
    "OrderRequest",
    "ReplayData",
    "ResearchResult",
    "Settlement",
    "Strategy",
    "StrategyLoadError",
    "StrategyParamError",
    "Trade",
    "load_replay_data",
    "load_strategy_class",
    "make_strategy",
    "plot_equity",
    "run_backtest",
    "run_research",
    "write_results",
]
