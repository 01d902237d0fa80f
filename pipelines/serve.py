"""Schedules: the deployments `kalshi-lake serve` runs in one long-lived process.

Two deployments of the `refresh` flow, each with a cron schedule from settings:
- `market-data` (`KALSHI_SCHEDULE_MARKET_DATA`, default every 15 minutes): market data, then the models;
- `portfolio` (`KALSHI_SCHEDULE_PORTFOLIO`, default hourly): the portfolio streams, then the models. Only served
  when an API key is configured (the portfolio is private).
The models are rebuilt after each pull ("models after each pull"); a third deployment `build-models` has no
schedule and can be triggered from the UI or `prefect deployment run 'build_models/build-models'`. A deployment
`compact` compacts the lake daily (`COMPACT_CRON`; `kalshi-lake compact` does the same by hand).

With `KALSHI_RECORD_SERIES` set, a fourth deployment `record` runs the WebSocket recorder on those series, long-
lived: it has no end of its own, and a schedule every minute with a deployment concurrency limit of one whose
collisions are cancelled acts as its watchdog (a new run starts only when none is running: after a crash, within
a minute). The served process then runs two flow runs at a time, the recorder's and one other, so the pulls and
model builds still run one at a time while the recorder runs.

Schedules need a Prefect server with its scheduler: `kalshi-lake serve` starts one when `PREFECT_API_URL` is not
set (`pipelines.server`); users with work pools use `prefect.yaml` instead.
"""

from __future__ import annotations

from kalshi_extract.ingest.plan import has_api_key
from pipelines.flows import build_models, compact, record, refresh

RECORD_WATCHDOG_CRON = "* * * * *"
#: compaction: daily at 03:17 UTC (a pull writes a few files per stream and day; the run log a file per run)
COMPACT_CRON = "17 3 * * *"


def record_series(settings) -> list[str]:
    """The series `serve` records (KALSHI_RECORD_SERIES, comma-separated; [] when unset)."""
    return [s.strip() for s in (settings.record_series or "").split(",") if s.strip()]


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
        compact.to_deployment(
            name="compact",
            cron=COMPACT_CRON,
            description="Compact the lake daily: merge small files, migrate old schemas, compact the run log.",
            tags=["kalshi-lake", "compact"],
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
    series = record_series(settings)
    if series:
        from prefect.client.schemas.objects import ConcurrencyLimitConfig

        out.append(
            record.to_deployment(
                name="record",
                cron=RECORD_WATCHDOG_CRON,
                parameters={"series": series},
                concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy="CANCEL_NEW"),
                description="The WebSocket recorder on KALSHI_RECORD_SERIES (long-lived; restarted within a minute).",
                tags=["kalshi-lake", "record"],
            )
        )
    return out


def serve_forever(settings, limit: int | None = 1) -> None:
    """Serve the deployments until interrupted (Ctrl-C). Blocks.

    `limit=1` runs one flow run at a time, so two model builds never race for the DuckDB file; the recorder, when
    served, takes one more slot of its own.
    """
    from prefect import serve

    if limit is not None and record_series(settings):
        limit += 1
    serve(*deployments(settings), limit=limit)
