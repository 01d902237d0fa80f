"""The Prefect flows: thin wrappers over `kalshi_extract.ingest.pull` and `kalshi_lake.warehouse`.

Flows
- `pull_market_data(streams, series, tickers, since, until)`: series, events, markets, exchange status, then
  trades, candlesticks and order book snapshots; one task run per stream (`pull_<stream>`).
- `pull_portfolio(streams, series, tickers, since, until)`: fills, settlements, orders, positions, balance
  (needs an API key).
- `build_models(run_tests)`: runs `sql/` into `<lake_dir>/kalshi.duckdb` (one task, `build_warehouse`).
- `refresh(market_data, portfolio, build, ...)`: the parent flow: pulls as subflows, then the models.

Rules
- Settings (with the private key) are loaded inside each task from the environment; they are never flow or
  task parameters, so Prefect never records a secret. Parameters are JSON-safe (dates as ISO strings).
- Retries only on the task decorators, for whole-task failures; the HTTP client already retries requests.
  Configuration and authentication errors are not retried (they cannot heal by waiting).
- A failed stream does not stop the others; the flow then fails with `PullFailed` (whose `.results` has every
  stream's outcome) after the others landed. `refresh` still builds the models from what landed.
- `build_models` imports `kalshi_lake.warehouse` inside its task: the one place the flows reach up into
  `kalshi_lake` (the warehouse lives there by contract; the CLI imports pipelines, never the reverse at import).
- Call `flow.fn(...)` to run the same code without Prefect (what the interactive CLI does).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from kalshi_extract.errors import PullFailed, StreamFailed, retriable
from kalshi_extract.ingest.plan import PORTFOLIO_STREAMS, SECOND_WAVE, plan_pull
from pipelines import progress
from pipelines.runtime import Outcome, call_flow, in_prefect_run, logger, run_tasks, task_runner_scope


def _retry_condition(task_obj, task_run, state) -> bool:
    """Retry a whole task unless it failed for a reason that waiting cannot fix."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # result unavailable: let Prefect retry as usual
        return True
    return isinstance(exc, BaseException) and retriable(exc)


def _settings():
    from kalshi_extract.settings import Settings

    return Settings.load()


def new_run_id() -> str:
    """A run id shared by every stream of one flow run (the lake's generator)."""
    from kalshi_extract.lake.run_log import new_run_id as lake_new_run_id

    return lake_new_run_id()


@task(
    name="pull_stream",
    task_run_name="pull_{stream}",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_retry_condition,
    cache_policy=NO_CACHE,
)
def pull_stream_task(stream: str, selection: dict, run_id: str):
    """Pull one stream into the lake (resumes from the stream's watermark when retried).

    `pull_stream` records every attempt in the lake's `_runs` log and reports a failed pull as an outcome; the
    task turns that into a failure so Prefect shows it (and retries it when it can heal).
    """
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.ingest.pull import pull_stream
    from kalshi_extract.lake.store import Lake

    settings = _settings()
    plan = plan_pull(settings, [stream], **selection)
    log = logger()
    started = time.monotonic()
    progress.emit(stream, 0, 0, "started")
    try:
        with KalshiClient(settings) as client:
            lake = Lake.from_settings(settings)
            result = pull_stream(client, lake, stream, plan.selection(), run_id, progress=progress.emit)
    except BaseException:
        progress.emit(stream, 0, 0, "failed")
        raise
    progress.emit(stream, result.pages, result.rows, "ok" if result.ok else "failed")
    if not result.ok:
        if in_prefect_run():  # under .fn the lake already logged it
            log.error("%s failed after %s rows: %s", stream, result.rows, result.error)
        raise StreamFailed(result)
    log.info(
        "pulled %s: %s rows in %s pages (%s requests, %s retries, %s throttled) in %.1fs",
        stream,
        result.rows,
        result.pages,
        result.requests,
        result.retries,
        result.throttled,
        time.monotonic() - started,
    )
    return result


def _build_retry_condition(task_obj, task_run, state) -> bool:
    """Retry a build only for what can heal (e.g. the database file busy), not a broken model or failed tests."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:
        return True
    return isinstance(exc, BaseException) and retriable(exc)


@task(
    name="build_warehouse",
    retries=1,
    retry_delay_seconds=15,
    retry_condition_fn=_build_retry_condition,
    cache_policy=NO_CACHE,
)
def build_warehouse_task(run_tests: bool = True):
    """Run the SQL models (staging views, marts) into the DuckDB warehouse and their tests."""
    from kalshi_lake.warehouse import ModelTestsFailed, build

    settings = _settings()
    result = build(settings, run_tests=run_tests)
    failures = list(getattr(result, "failures", []) or [])
    log = logger()
    log.info(
        "built %s models, %s tests, %s failures",
        len(getattr(result, "models", []) or []),
        len(getattr(result, "tests", []) or []),
        len(failures),
    )
    if failures:
        raise ModelTestsFailed(f"{len(failures)} model test(s) failed: " + "; ".join(map(str, failures[:5])))
    return result


def _run_streams(settings, streams: Sequence[str], selection: dict, run_id: str) -> list[Outcome]:
    """Pull streams in two waves (reference data first), one task per stream; collect every outcome."""
    first = [s for s in streams if s not in SECOND_WAVE]
    second = [s for s in streams if s in SECOND_WAVE]
    outcomes: list[Outcome] = []
    with task_runner_scope(settings) as runner:
        for wave in (first, second):
            calls = [
                (
                    s,
                    pull_stream_task.with_options(name=f"pull_{s}"),
                    {"stream": s, "selection": selection, "run_id": run_id},
                )
                for s in wave
            ]
            outcomes.extend(run_tasks(settings, calls, runner))
    return outcomes


def _finish(kind: str, outcomes: list[Outcome]) -> list[Outcome]:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        detail = "; ".join(f"{o.key}: {o.error}" for o in failed)
        raise PullFailed(f"{kind}: {len(failed)} of {len(outcomes)} streams failed ({detail})", outcomes)
    return outcomes


@flow(name="pull_market_data", log_prints=False)
def pull_market_data(
    streams: list[str] | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    run_id: str | None = None,
) -> list[Outcome]:
    """Pull the public market-data streams (all of them by default) into the lake."""
    settings = _settings()
    wanted = [s for s in (streams or []) if s not in PORTFOLIO_STREAMS]
    if streams and not wanted:
        return []
    plan = plan_pull(
        settings,
        wanted or None,
        series=series,
        tickers=tickers,
        since=since,
        until=until,
        include_portfolio=False,
    )
    run_id = run_id or new_run_id()
    logger().info("pull_market_data run %s: %s", run_id, ", ".join(plan.market_streams))
    outcomes = _run_streams(settings, plan.market_streams, plan.flow_parameters(), run_id)
    return _finish("pull_market_data", outcomes)


@flow(name="pull_portfolio", log_prints=False)
def pull_portfolio(
    streams: list[str] | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    run_id: str | None = None,
) -> list[Outcome]:
    """Pull the private portfolio streams of the configured account (needs an API key)."""
    settings = _settings()
    wanted = [s for s in (streams or PORTFOLIO_STREAMS) if s in PORTFOLIO_STREAMS]
    if not wanted:
        return []
    plan = plan_pull(settings, wanted, series=series, tickers=tickers, since=since, until=until)
    run_id = run_id or new_run_id()
    logger().info("pull_portfolio run %s: %s", run_id, ", ".join(plan.portfolio_streams))
    outcomes = _run_streams(settings, plan.portfolio_streams, plan.flow_parameters(), run_id)
    return _finish("pull_portfolio", outcomes)


@flow(name="build_models", log_prints=False)
def build_models(run_tests: bool = True):
    """Build the DuckDB warehouse from the lake and run the model tests."""
    settings = _settings()
    (outcome,) = run_tasks(settings, [("build_warehouse", build_warehouse_task, {"run_tests": run_tests})])
    if not outcome.ok:
        raise outcome.error
    return outcome.result


@flow(name="refresh", log_prints=False)
def refresh(
    market_data: bool = True,
    portfolio: bool | None = None,
    build: bool = True,
    streams: list[str] | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict:
    """Pull market data and (when a key is configured, or `portfolio=True`) the portfolio, then build the models.

    Returns {"market_data": [...], "portfolio": [...], "build": BuildResult | None}. Fails with `PullFailed`
    after building if any stream failed.
    """
    from kalshi_extract.ingest.plan import has_api_key

    settings = _settings()
    if portfolio is None:
        portfolio = has_api_key(settings)
    # Validate everything up front: bad input must change nothing.
    plan_pull(
        settings,
        streams,
        series=series,
        tickers=tickers,
        since=since,
        until=until,
        include_portfolio=portfolio if not streams else None,
    )
    run_id = new_run_id()
    results: dict = {"market_data": [], "portfolio": [], "build": None}
    failures: list[PullFailed] = []
    wanted = (("market_data", pull_market_data, market_data), ("portfolio", pull_portfolio, portfolio))
    for part, part_flow, requested in wanted:
        if not requested:
            continue
        try:
            results[part] = call_flow(
                part_flow,
                streams=streams,
                series=series,
                tickers=tickers,
                since=since,
                until=until,
                run_id=run_id,
            )
        except PullFailed as exc:
            failures.append(exc)
            results[part] = exc.results
    if build:
        results["build"] = call_flow(build_models)
    if failures:
        every = [o for part in ("market_data", "portfolio") for o in results[part]]
        raise PullFailed("; ".join(str(f) for f in failures), every)
    return results
