"""The Prefect flows: thin doors into `kalshi_extract.ingest.run` and `kalshi_lake.warehouse`.

Flows
- `pull_market_data(streams, series, tickers, since, until)`: series, events, markets, exchange status, then
  trades, candlesticks and order book snapshots; one task run per stream (`pull_<stream>`).
- `pull_portfolio(streams, series, tickers, since, until)`: fills, settlements, orders, positions, balance
  (needs an API key).
- `build_models(run_tests)`: runs `sql/` into `<lake_dir>/kalshi.duckdb` (one task, `build_warehouse`).
- `refresh(market_data, portfolio, build, ...)`: the parent flow: pulls as subflows, then the models.
- `record(tickers, series, events, channels, duration)`: the WebSocket recorder
  (`kalshi_extract.ingest.recorder`), long-lived; `kalshi-lake serve` runs it when `KALSHI_RECORD_SERIES` is set.

Rules
- Each flow is a door: it loads settings once and plans once (`kalshi_extract.ingest.plan`), then hands the
  `Settings` object to its tasks (as a quoted Python object: flow parameters are JSON and hold no secret, and
  Prefect records no task input values). The tasks call `kalshi_extract.ingest.run.pull_one`; the waves and the
  run-wide `/historical/cutoff` read are the library's (`plan.waves`, `RunCache`).
- Progress goes to Prefect's run logger (a line when a stream starts, every 100 pages, and at its end).
- Retries only on the task decorators, for whole-task failures, when `errors.retriable` says waiting can heal
  them (a failed stream: `StreamFailed.retriable`); the HTTP client already retries requests.
- A failed stream does not stop the others; the flow then fails with `PullFailed` (whose `.results` has every
  stream's `StreamResult`) after the others landed. `refresh` still builds the models from what landed.
- `flow.fn(...)` runs the same code without Prefect's API (tasks in a thread pool, see `runtime.run_tasks`).
- Split streams (`split=N|"auto"`, `kalshi_extract.ingest.split`): the flow process is the coordinator (it holds
  the stream's lock, cuts the window, lands all shards in one commit); each shard is its own task run
  (`pull_trades 2/4`), retried on its own like a stream. `auto` = one shard per Dask worker (threads:
  `KALSHI_CONCURRENCY`). On a Dask cluster spanning several machines each shard paces at 1/M of the key's budget,
  M = the machines the worker check found (`runtime.cluster_shape`); on one machine the flock'ed bucket is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack, nullcontext

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from kalshi_extract.errors import ConfigError, KalshiLakeError, PullFailed, StreamFailed, retriable
from kalshi_extract.ingest.plan import PORTFOLIO_STREAMS, PullPlan, has_api_key, plan_pull, waves
from kalshi_extract.ingest.pull import RunCache, Selection, StreamResult, failed_result
from kalshi_extract.ingest.run import compact_after_run
from kalshi_extract.ingest.split import Shard, ShardResult, SplitPull
from kalshi_extract.lake.run_log import new_run_id
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from pipelines.runtime import (
    call_flow,
    cluster_shape,
    dask_scope,
    identity,
    in_flow_run,
    logger,
    progress_reporter,
    run_tasks,
    task_runner_scope,
    verify_here,
)

PAGES_PER_LOG_LINE = 100


def _retry_condition(task_obj, task_run, state) -> bool:
    """Retry a whole task only when waiting can heal what ended it (`errors.retriable`)."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # result unavailable: let Prefect retry as usual
        return True
    return isinstance(exc, BaseException) and _may_heal(exc)


def _may_heal(exc: BaseException) -> bool:
    """`errors.retriable`, except that a configuration error anywhere in the chain of causes is never retried:
    a warehouse put on an object store, a lake protocol whose fsspec package is missing (ImportError), a lake
    DuckDB could read only by downloading an extension. Waiting changes none of them."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, ConfigError | ImportError):
            return False
        if "extension" in str(link) and ("autoinstall" in str(link) or "httpfs" in str(link)):
            return False
        link = link.__cause__ or link.__context__
    return retriable(exc)


def _log_progress(log):
    report = progress_reporter()  # to the CLI's display, from a thread here or from a Dask worker

    def progress(stream: str, pages: int, rows: int, status: str | None) -> None:
        report(stream, pages, rows, status)
        if status == "started":
            log.info("pulling %s", stream)
        elif status is None and pages % PAGES_PER_LOG_LINE == 0:
            log.info("%s: %s pages, %s rows so far", stream, pages, rows)

    return progress


@task(
    name="pull_stream",
    task_run_name="pull_{stream}",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_retry_condition,
    cache_policy=NO_CACHE,
)
def pull_stream_task(
    stream: str,
    settings: Settings,
    selection: Selection,
    run_id: str,
    run_cache: RunCache,
    expect: dict | None = None,
) -> StreamResult:
    """Pull one stream into the lake (a retry resumes from the stream's watermark); a failed pull fails the task
    with `StreamFailed` so Prefect shows it, and retries it when it can heal. `expect` (Dask runs): the flow's
    `runtime.identity`; a worker that does not match it refuses the stream (`ConfigError`, never retried)."""
    from kalshi_extract.ingest.run import pull_one

    verify_here(settings, expect, stream)
    log = logger()
    result = pull_one(settings, stream, selection, run_id, progress=_log_progress(log), run_cache=run_cache)
    if not result.ok:
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
        result.seconds,
    )
    return result


@task(
    name="pull_shard",
    task_run_name="pull_{shard_name}",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_retry_condition,
    cache_policy=NO_CACHE,
)
def pull_shard_task(
    shard_name: str,
    shard: Shard,
    settings: Settings,
    run_cache: RunCache,
    expect: dict | None = None,
) -> ShardResult:
    """Pull one shard of a split stream into the lake's `_tmp/` (the flow commits every shard at once); a failed
    shard fails the task with `StreamFailed` (retried when it can heal), its temp files deleted."""
    from kalshi_extract.ingest.split import pull_shard

    verify_here(settings, expect, shard_name)
    log = logger()
    out = pull_shard(settings, shard, progress=_log_progress(log), run_cache=run_cache)
    result = out.result
    if not out.ok:
        log.error("%s failed: %s", shard_name, result.error)
        raise StreamFailed(result)
    log.info(
        "pulled %s (%s .. %s): %s rows in %s pages, %s requests, waiting for the flow's commit",
        shard_name,
        shard.since,
        shard.until,
        result.rows,
        result.pages,
        result.requests,
    )
    return out


@task(
    name="build_warehouse",
    retries=1,
    retry_delay_seconds=15,
    retry_condition_fn=_retry_condition,
    cache_policy=NO_CACHE,
)
def build_warehouse_task(settings: Settings, run_tests: bool = True):
    """Run the SQL models (staging views, marts) into the DuckDB warehouse and their tests."""
    from kalshi_lake.warehouse import build

    result = build(settings, run_tests=run_tests)
    logger().info(
        "built %s models, %s tests, %s failures", len(result.models), len(result.tests), len(result.failures)
    )
    result.raise_for_failures()  # ModelTestsFailed: not retried
    return result


def _workers(settings: Settings) -> tuple[int, int]:
    """(what `--split auto` means here, machines sharing the key's budget): the checked Dask cluster's workers and
    pacer domains, else `KALSHI_CONCURRENCY` threads on this one machine."""
    shape = cluster_shape() if settings.task_runner == "dask" else None
    if shape is None:
        return max(1, int(settings.concurrency or 1)), 1
    return shape


def _pull(settings: Settings, plan: PullPlan, streams: Sequence[str], run_id: str) -> list[StreamResult]:
    """One task per stream (a split stream: one per shard), wave after wave (`plan.waves`); every stream's
    `StreamResult`, failed ones included."""
    selection = plan.selection()
    cache = RunCache()
    results: list[StreamResult] = []
    at_once = max(1, int(settings.concurrency or 1))
    widest = max((sum(plan.shards(s, at_once) for s in wave) for wave in waves(streams)), default=1)
    with task_runner_scope(settings, widest) as runner:
        workers, machines = _workers(settings)
        for wave in waves(streams):
            expect = identity(settings) if runner is not None and settings.task_runner == "dask" else None
            landed: list[str] = []  # split streams to compact once their coordinators released the lock
            with ExitStack() as stack:
                splits: dict[str, SplitPull | StreamResult] = {}
                calls = []
                for s in wave:
                    shards = plan.shards(s, workers)
                    if shards > 1:
                        splits[s] = _open_split(
                            stack, settings, s, selection, run_id, shards, machines, cache
                        )
                        if isinstance(splits[s], SplitPull):
                            calls += _shard_calls(splits[s], settings, cache, expect)
                    else:
                        parameters = {"settings": settings, "selection": selection, "run_id": run_id}
                        parameters |= {"run_cache": cache, **({"expect": expect} if expect else {})}
                        task_ = pull_stream_task.with_options(name=f"pull_{s}")
                        calls.append((s, task_, {"stream": s, **parameters}))
                outcomes = {o.key: o for o in run_tasks(settings, calls, runner)}
                for s in wave:
                    if s in splits:
                        opened = splits[s]
                        done = _finish_split(opened, outcomes) if isinstance(opened, SplitPull) else opened
                        results.append(done)
                        if done.files:
                            landed.append(s)
                        continue
                    outcome = outcomes[s]
                    if outcome.ok:
                        results.append(outcome.result)
                    elif isinstance(outcome.error, StreamFailed):
                        results.append(outcome.error.result)
                    else:  # the task crashed before pull_one could report
                        results.append(failed_result(outcome.key, outcome.error, run_id))
            for s in landed:
                compact_after_run(Lake.from_settings(settings), s, run_id)
    return results


def _open_split(
    stack, settings, stream, selection, run_id, shards, machines, cache
) -> SplitPull | StreamResult:
    """The coordinator of a split stream (holds its lock until the wave's `ExitStack` closes); reports the
    stream's line as started. A lock or state that cannot be had fails the stream (its result), not the wave."""
    progress_reporter()(stream, 0, 0, "started")
    split = SplitPull(settings, stream, selection, run_id, shards, rate_share=machines, run_cache=cache)
    try:
        stack.enter_context(split)
    except (KalshiLakeError, OSError) as exc:
        logger().error("%s: the split pull could not start: %s", stream, exc)
        progress_reporter()(stream, 0, 0, "failed")
        return failed_result(stream, exc, run_id)
    logger().info(
        "%s split in %s shards (each paces at 1/%s of the key's budget): %s",
        stream,
        len(split.shards),
        machines,
        ", ".join(f"[{sh.since or '…'}, {sh.until or '…'})" for sh in split.shards),
    )
    return split


def _shard_calls(split: SplitPull, settings, cache, expect) -> list:
    calls = []
    for shard in split.shards:
        parameters = {"shard_name": shard.name, "shard": shard, "settings": settings, "run_cache": cache}
        if expect:
            parameters["expect"] = expect
        calls.append((shard.name, pull_shard_task.with_options(name=f"pull_{split.stream}"), parameters))
    return calls


def _finish_split(split: SplitPull, outcomes: dict) -> StreamResult:
    got: list = []
    for shard in split.shards:
        outcome = outcomes[shard.name]
        if outcome.ok:
            got.append(outcome.result)
        elif isinstance(outcome.error, StreamFailed):
            got.append(ShardResult(shard, outcome.error.result))
        else:
            got.append(outcome.error)
    result = split.finish(got)
    progress_reporter()(split.stream, result.pages, result.rows, "ok" if result.ok else "failed")
    log = logger()
    (log.info if result.ok else log.error)(
        "%s: %s rows in %s shards, one commit%s",
        split.stream,
        result.rows,
        result.shards,
        "" if result.ok else f" of the shards that succeeded ({result.error})",
    )
    return result


def _finish(kind: str, results: list[StreamResult]) -> list[StreamResult]:
    failed = [r for r in results if not r.ok]
    if failed:
        detail = "; ".join(f"{r.stream}: {r.error}" for r in failed)
        raise PullFailed(f"{kind}: {len(failed)} of {len(results)} streams failed ({detail})", results)
    return results


@flow(name="pull_market_data", log_prints=False)
def pull_market_data(
    streams: list[str] | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    run_id: str | None = None,
    split: int | str = 1,
) -> list[StreamResult]:
    """Pull the public market-data streams (all of them by default) into the lake; `split`: shards per splittable
    stream (trades un-narrowed), "auto" = one per worker."""
    settings = Settings.load()
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
        split=split,
    )
    run_id = run_id or new_run_id()
    logger().info("pull_market_data run %s: %s", run_id, ", ".join(plan.market_streams))
    return _finish("pull_market_data", _pull(settings, plan, plan.market_streams, run_id))


@flow(name="pull_portfolio", log_prints=False)
def pull_portfolio(
    streams: list[str] | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    run_id: str | None = None,
    split: int | str = 1,
) -> list[StreamResult]:
    """Pull the private portfolio streams of the configured account (needs an API key)."""
    settings = Settings.load()
    wanted = [s for s in (streams or PORTFOLIO_STREAMS) if s in PORTFOLIO_STREAMS]
    if not wanted:
        return []
    plan = plan_pull(settings, wanted, series=series, tickers=tickers, since=since, until=until)
    run_id = run_id or new_run_id()
    logger().info("pull_portfolio run %s: %s", run_id, ", ".join(plan.portfolio_streams))
    return _finish("pull_portfolio", _pull(settings, plan, plan.portfolio_streams, run_id))


@flow(name="build_models", log_prints=False)
def build_models(run_tests: bool = True):
    """Build the DuckDB warehouse from the lake and run the model tests."""
    settings = Settings.load()
    calls = [("build_warehouse", build_warehouse_task, {"settings": settings, "run_tests": run_tests})]
    (outcome,) = run_tasks(settings, calls)
    if not outcome.ok:
        raise outcome.error
    return outcome.result


@flow(name="compact", log_prints=False)
def compact(streams: list[str] | None = None) -> dict:
    """Compact the lake: merge small files, rewrite files of an earlier schema, compact the run log (see
    :meth:`kalshi_extract.lake.store.Lake.compact`). Each stream under its writer lock: a pull of it waits."""
    from kalshi_extract.lake.store import Lake, compact_lake

    settings = Settings.load()
    out = compact_lake(Lake.from_settings(settings), streams)
    logger().info("compacted: %s", out)
    return out


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
    split: int | str = 1,
) -> dict:
    """Pull market data and (when a key is configured, or `portfolio=True`) the portfolio, then build the models.
    `split`: shards per splittable stream (trades pulled un-narrowed; "auto" = one per worker), see `_pull`.

    Returns {"market_data": [StreamResult], "portfolio": [StreamResult], "build": BuildResult | None}. Fails
    with `PullFailed` after building if any stream failed.
    """
    settings = Settings.load()
    if portfolio is None:
        portfolio = has_api_key(settings)
    # Validate everything up front: bad input must change nothing.
    plan = plan_pull(
        settings,
        streams,
        series=series,
        tickers=tickers,
        since=since,
        until=until,
        include_portfolio=portfolio if not streams else None,
        split=split,
    )
    run_id = new_run_id()
    at_once = max(1, int(settings.concurrency or 1))
    widest = max((sum(plan.shards(s, at_once) for s in wave) for wave in waves(plan.streams)), default=1)
    # one Dask cluster (its workers checked) for both subflows and the build; nothing for the threads runner
    with dask_scope(settings, widest) if in_flow_run() else nullcontext():
        subflow = dict(
            streams=streams, series=series, tickers=tickers, since=since, until=until, run_id=run_id
        )
        subflow["split"] = plan.split
        return _refresh(subflow, market_data, portfolio, build)


def _refresh(subflow: dict, market_data: bool, portfolio: bool, build: bool) -> dict:
    results: dict = {"market_data": [], "portfolio": [], "build": None}
    failures: list[PullFailed] = []
    wanted = (("market_data", pull_market_data, market_data), ("portfolio", pull_portfolio, portfolio))
    for part, part_flow, requested in wanted:
        if not requested:
            continue
        try:
            results[part] = call_flow(part_flow, **subflow)
        except PullFailed as exc:
            failures.append(exc)
            results[part] = exc.results
    if build:
        results["build"] = call_flow(build_models)
    if failures:
        every = [r for part in ("market_data", "portfolio") for r in results[part]]
        raise PullFailed("; ".join(str(f) for f in failures), every)
    return results


def _log_status(log, every: float = 60.0):
    """The recorder's counters in the run log once a minute (its status line would flood the UI)."""
    last = [0.0]

    def progress(status) -> None:
        if status.seconds - last[0] >= every or status.stop_reason:
            last[0] = status.seconds
            log.info(
                "recording: %s messages, %s markets, %s gaps, %s reconnects, %s rows flushed, %s waiting",
                status.messages,
                status.markets,
                status.gaps,
                status.reconnects,
                status.rows_flushed,
                status.rows_waiting,
            )

    return progress


@flow(name="record", log_prints=False)
def record(
    tickers: list[str] | None = None,
    series: list[str] | None = None,
    events: list[str] | None = None,
    channels: list[str] | None = None,
    duration: str | None = None,
) -> dict:
    """Record Kalshi's WebSocket (books, trades, tickers, lifecycle; the account's fills/orders/positions with a
    key) into the lake's ws_* streams until `duration` (e.g. "2h"; None: until cancelled). Long-lived: see
    `pipelines.serve`. Returns the recorder's counters."""
    from kalshi_extract.ingest.recorder import Recorder
    from kalshi_extract.ingest.recorder_plan import plan_record

    settings = Settings.load()
    plan = plan_record(
        settings, tickers=tickers, series=series, events=events, channels=channels, duration=duration
    )
    recorder = Recorder(settings, plan)
    log = logger()
    log.info("record run %s: %s", recorder.run_id, plan.describe())
    status = recorder.run_sync(progress=_log_status(log))
    log.info("recording ended (%s): %s rows flushed", status.stop_reason, status.rows_flushed)
    return status.to_dict()
