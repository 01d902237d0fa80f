"""Schedules: the deployments `kalshi-lake serve` runs in one long-lived process.

Two deployments of the `refresh` flow, each with a cron schedule from settings:
- `market-data` (`KALSHI_SCHEDULE_MARKET_DATA`, default every 15 minutes): market data, then the models;
- `portfolio` (`KALSHI_SCHEDULE_PORTFOLIO`, default hourly): the portfolio streams, then the models. Only served
  when an API key is configured (the portfolio is private).
The models are rebuilt after each pull ("models after each pull"); a third deployment `build-models` has no
schedule and can be triggered from the UI or `prefect deployment run 'build_models/build-models'`.

`flow.serve`/`prefect.serve` works with Prefect's ephemeral mode (no server configured) as well as with a server
(`PREFECT_API_URL`); users with work pools use `prefect.yaml` instead.
"""

from __future__ import annotations

from kalshi_extract.ingest.plan import has_api_key
from pipelines.flows import build_models, refresh


def deployments(settings) -> list:
    """The RunnerDeployments to serve for these settings."""
    out = [
        refresh.to_deployment(
            name="market-data",
            cron=settings.schedule_market_data,
            parameters={"market_data": True, "portfolio": False, "build": True},
            description="Market data every KALSHI_SCHEDULE_MARKET_DATA, then the models.",
            tags=["kalshi-lake", "market-data"],
        ),
        build_models.to_deployment(
            name="build-models",
            description="Rebuild the DuckDB warehouse from the lake (on demand).",
            tags=["kalshi-lake", "models"],
        ),
    ]
    if has_api_key(settings):
        out.append(
            refresh.to_deployment(
                name="portfolio",
                cron=settings.schedule_portfolio,
                parameters={"market_data": False, "portfolio": True, "build": True},
                description="Portfolio every KALSHI_SCHEDULE_PORTFOLIO, then the models.",
                tags=["kalshi-lake", "portfolio"],
            )
        )
    return out


def serve_forever(settings, limit: int | None = 1) -> None:
    """Serve the deployments until interrupted (Ctrl-C). Blocks.

    `limit=1` runs one flow run at a time, so two model builds never race for the DuckDB file.
    """
    from prefect import serve

    serve(*deployments(settings), limit=limit)
