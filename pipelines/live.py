"""The live-strategy flow: a thin door into `kalshi_lake.live.session.run_strategy` (the same call as
`kalshi-lake run`). Long-running: it runs until `duration`, the kill switch (`kalshi-lake run --stop`) or
cancellation, and returns the session's summary.

Safety: paper unless `live=True`; on prod a live run also needs `confirm_prod=True` (a deployment has no terminal
to confirm in: the parameter is the `--yes`). The risk limits are the flow's parameters, built before the strategy
is loaded; no retries (a restart is a new session that reconciles with the exchange, never a blind re-run).
"""

from __future__ import annotations

from decimal import Decimal

from prefect import flow

from kalshi_extract.errors import ConfigError
from kalshi_extract.settings import Settings
from pipelines.runtime import logger


@flow(name="run-strategy", log_prints=False, retries=0)
def run_strategy_flow(
    strategy: str,
    series: list[str] | None = None,
    events: list[str] | None = None,
    tickers: list[str] | None = None,
    params: dict[str, str] | None = None,
    duration_s: float | None = None,
    live: bool = False,
    confirm_prod: bool = False,
    limits: dict[str, str] | None = None,
    cash: str = "1000",
) -> dict:
    """Run a backtest Strategy on paper (default) or live; `limits` are RiskLimits fields (strings)."""
    from kalshi_lake.backtest import make_strategy
    from kalshi_lake.live import RiskLimits, RunOptions, Selection
    from kalshi_lake.live.session import run_strategy

    settings = Settings.load()
    if live and settings.env == "prod" and not confirm_prod:
        raise ConfigError("a live run on prod needs confirm_prod=True. Nothing was sent.")
    risk = RiskLimits(**{k: _limit(k, v) for k, v in (limits or {}).items()})
    selection = Selection(
        series=tuple(series or ()), events=tuple(events or ()), tickers=tuple(tickers or ())
    )
    log = logger()
    summary = run_strategy(
        settings,
        make_strategy(strategy, params or {}),
        selection,
        risk,
        RunOptions(mode="live" if live else "paper", cash=Decimal(cash)),
        seconds=duration_s,
        on_status=lambda st: log.info("%s", st),
    )
    log.info("stopped (%s): %s orders, %s fills", summary["reason"], summary["orders"], summary["fills"])
    return summary


def _limit(name: str, value):
    """A RiskLimits field from a flow parameter: series as a list or "A,B", counts as ints, money as Decimal."""
    if name == "allowed_series":
        return tuple(value.split(",") if isinstance(value, str) else value)
    if name in ("max_open_orders", "max_orders_per_minute"):
        return int(value)
    return Decimal(str(value))
