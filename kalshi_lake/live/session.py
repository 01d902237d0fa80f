"""One session from a door's arguments: the CLI (``kalshi-lake run``) and the Prefect flow (``pipelines/live.py``)
both call :func:`run_strategy`, so they build the same runner the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kalshi_extract.errors import ConfigError
from kalshi_lake.live.limits import RiskLimits
from kalshi_lake.live.markets import Selection
from kalshi_lake.live.runner import LiveRunner, RunOptions

__all__ = ["stop_file", "run_strategy"]


def stop_file(settings: Any) -> Path:
    """The kill switch: while this file exists, no runner of this lake sends an order (and each stops)."""
    return Path(settings.lake_dir) / "live" / "STOP"


def run_strategy(
    settings: Any,
    strategy: Any,
    selection: Selection,
    limits: RiskLimits,
    options: RunOptions,
    *,
    seconds: float | None = None,
    on_status: Callable[[dict], None] | None = None,
) -> dict:
    """Run ``strategy`` until ``seconds``, the kill switch or Ctrl-C; returns the summary. Refuses to start while
    the kill switch is set. The door has already confirmed a live run on prod."""
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.ws import SyncStream

    kill = stop_file(settings)
    if kill.exists():
        raise ConfigError(f"the kill switch is set ({kill}): `kalshi-lake run --resume` removes it")
    with KalshiClient(settings) as client:
        lake = Lake.from_settings(settings)
        orders = None
        if options.mode == "live":
            from kalshi_extract.orders.front import Orders

            orders = Orders(client, lake)
        runner = LiveRunner(
            settings,
            client,
            strategy,
            selection,
            limits,
            options,
            lake=lake,
            orders=orders,
            stop_file=str(kill),
            stream_factory=(lambda: SyncStream(settings)) if settings.has_key else None,
            on_status=on_status,
        )
        runner.start()
        return runner.run(seconds=seconds)
