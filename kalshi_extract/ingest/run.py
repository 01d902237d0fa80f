"""Pull a planned set of streams: the one entry point below the CLI, the demo and the Prefect flows.

::

    from kalshi_extract.settings import Settings
    from kalshi_extract.ingest.plan import plan_pull
    from kalshi_extract.ingest.run import run_pull

    settings = Settings.load()
    plan = plan_pull(settings, ["markets", "trades"], since="2026-06-01")
    run = run_pull(settings, plan, progress=lambda stream, pages, rows, status: ...)
    for s in run.streams: print(s.stream, s.outcome, s.rows, s.error)

How a run goes:
- Waves (`plan.waves`): every stream but `SECOND_WAVE` first (the reference data: series, events, markets,
  exchange status, and the portfolio streams), then trades, candlesticks and order book snapshots, which read
  the markets the first wave landed.
- The streams of a wave run concurrently on `settings.concurrency` threads. Each stream has its own
  `KalshiClient`, so the request counts in its `_runs` row are its own; the rate-limit pacer is shared by every
  client of the process. One `RunCache` per run: `/historical/cutoff` is read once for all streams.
- `progress(stream, pages, rows, status)`: status "started" when a stream starts, None after each page, "ok"
  or "failed" when it ends. It runs in worker threads (it must be cheap and thread-safe); an exception in it is
  logged and never fails a pull.
- A failed stream never raises: `run_pull` returns every stream's `StreamResult`, a failed one with `error`,
  `error_type` and `retriable`. A lake that cannot be written at all raises one `LakeError` before any stream. Ctrl-C (KeyboardInterrupt) starts no queued stream and propagates.

`pull_one` is the same for a single stream: the Prefect flows run it as one task per stream.

Split streams (`plan.split`, see `kalshi_extract.ingest.split`): a stream the plan splits runs as N time-window
shards on threads of their own (`split.pull_split`), `auto` meaning `settings.concurrency` shards; each shard
reports progress under its own name (``trades 2/4``) and the stream's line gets the totals at its end; its
`StreamResult.shards` says how many there were. The Prefect flows run each shard as its own task instead.

Small files: each run adds a file or two to the day partitions it touches (and one run-log row per stream), so
frequent top-ups would leave a lake of thousands of tiny files that every reader pays for. After a stream's run,
each day partition it wrote to that holds `COMPACT_AT_FILES` files or more is compacted (`Lake.compact` of those
days only: under the stream's writer lock, one crash-safe commit per partition, rows unchanged); `run_pull` does the
same for the run log's day partitions when it ends. A compaction that cannot run (the lock is held by another
writer, a damaged file, a full disk) is logged and left for a later run: it never fails the pull.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kalshi_extract.ingest.plan import PullPlan, waves
from kalshi_extract.ingest.pull import (
    RunCache,
    RunResult,
    Selection,
    StreamResult,
    failed_result,
    pull_stream,
)

__all__ = ["Progress", "pull_one", "pull_split_one", "run_pull"]

log = logging.getLogger("kalshi_extract.ingest.run")

Progress = Callable[[str, int, int, str | None], None]  # (stream, pages, rows, status)

COMPACT_AT_FILES = 3  # a day partition with this many files or more is compacted after a run wrote to it
COMPACT_LOCK_SECONDS = 5.0  # the stream's lock is held by another writer: leave the compaction to a later run


def compact_after_run(lake, stream: str, run_id: str | None, at_files: int | None = None) -> dict | None:
    """Compact the day partitions of ``stream`` that run ``run_id`` wrote to (None: any) and that hold
    ``at_files`` files or more (see the module docstring); returns what ``Lake.compact`` did, or None when nothing
    was due. Never raises: a compaction that could not run is logged and left for a later run."""
    at_files = COMPACT_AT_FILES if at_files is None else at_files
    by_day: dict[str, list[str]] = {}
    for path in lake.files(stream):
        by_day.setdefault(path.rsplit("/", 2)[-2].split("=", 1)[-1], []).append(path.rsplit("/", 1)[-1])
    due = [
        day
        for day, names in by_day.items()
        if len(names) >= at_files and (run_id is None or any(run_id in n for n in names))
    ]
    if not due:
        return None
    try:
        return lake.compact(stream, dates=due, timeout=COMPACT_LOCK_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the pull's outcome stands; the next run tries again
        log.warning("%s: compaction of %d day partition(s) left for a later run: %s", stream, len(due), exc)
        return None


def _safe(progress: Progress | None) -> Progress | None:
    """``progress`` guarded: a broken display must never fail a pull."""
    if progress is None:
        return None

    def report(stream: str, pages: int, rows: int, status: str | None = None) -> None:
        try:
            progress(stream, pages, rows, status)
        except Exception:
            log.debug("progress callback failed", exc_info=True)

    return report


def _compact_side_streams(lake, run_id: str) -> None:
    """After a run: the run log's partitions this run wrote to, and the streams kalshi-lake writes outside a pull
    (the order journal: two files per order; the recorder's ``ws_*``: one per flush), wherever they are due."""
    from kalshi_extract.lake.run_log import RUNS_STREAM
    from kalshi_extract.lake.schemas import ORDER_EVENTS_STREAM, WS_STREAMS

    compact_after_run(lake, RUNS_STREAM, run_id)
    for stream in (ORDER_EVENTS_STREAM, *WS_STREAMS):
        compact_after_run(lake, stream, None)


def pull_one(
    settings,
    stream: str,
    selection: Selection,
    run_id: str,
    *,
    progress: Progress | None = None,
    run_cache: RunCache | None = None,
    lock_timeout: float = 600.0,
) -> StreamResult:
    """Pull one stream with a client of its own; returns its `StreamResult`, failed or not (never raises for a
    failed pull; KeyboardInterrupt propagates)."""
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.lake.store import Lake

    report = _safe(progress)
    if report is not None:
        report(stream, 0, 0, "started")

    def page(name: str, pages: int, rows: int) -> None:
        report(name, pages, rows, None)

    try:
        with KalshiClient(settings) as client:
            lake = Lake.from_settings(settings)
            result = pull_stream(
                client,
                lake,
                stream,
                selection,
                run_id,
                page if report is not None else None,
                lock_timeout=lock_timeout,
                run_cache=run_cache,
            )
        if result.files:
            compact_after_run(lake, stream, run_id)
    except Exception as exc:  # a bug or a failure before the pull began; pull_stream logged its own in _runs
        log.error("%s: pull failed", stream, exc_info=not isinstance(exc, OSError))
        result = failed_result(stream, exc, run_id)
    if report is not None:
        report(stream, result.pages, result.rows, "ok" if result.ok else "failed")
    return result


def pull_split_one(
    settings,
    stream: str,
    selection: Selection,
    run_id: str,
    shards: int,
    *,
    progress: Progress | None = None,
    run_cache: RunCache | None = None,
    lock_timeout: float = 600.0,
) -> StreamResult:
    """`pull_one` for a stream split into ``shards`` time-window shards on threads of this process."""
    from kalshi_extract.ingest.split import pull_split

    report = _safe(progress)
    if report is not None:
        report(stream, 0, 0, "started")
    try:
        result = pull_split(
            settings,
            stream,
            selection,
            run_id,
            shards,
            progress=report,
            run_cache=run_cache,
            lock_timeout=lock_timeout,
        )
        if result.files:  # after the coordinator released the stream's lock
            from kalshi_extract.lake.store import Lake

            compact_after_run(Lake.from_settings(settings), stream, run_id)
    except Exception as exc:  # a bug: reported like a failed stream
        log.error("%s: split pull failed", stream, exc_info=True)
        result = failed_result(stream, exc, run_id)
    if report is not None:
        report(stream, result.pages, result.rows, "ok" if result.ok else "failed")
    return result


def run_pull(
    settings,
    plan: PullPlan,
    *,
    progress: Progress | None = None,
    run_id: str | None = None,
    lock_timeout: float = 600.0,
) -> RunResult:
    """Pull every stream of ``plan`` into the lake under one run id; returns every stream's outcome, in the
    plan's order (see the module docstring for waves, threads and progress)."""
    from kalshi_extract.lake.run_log import new_run_id
    from kalshi_extract.lake.store import Lake

    Lake.from_settings(settings).check_writable()  # one clear error, not one per stream
    selection = plan.selection()
    run_id = run_id or new_run_id()
    cache = RunCache()
    done: dict[str, StreamResult] = {}
    workers = max(1, int(getattr(settings, "concurrency", 8) or 8))
    for wave in waves(plan.streams):

        def one(stream: str) -> StreamResult:
            shards = plan.shards(stream, workers)
            if shards > 1:
                return pull_split_one(
                    settings,
                    stream,
                    selection,
                    run_id,
                    shards,
                    progress=progress,
                    run_cache=cache,
                    lock_timeout=lock_timeout,
                )
            return pull_one(
                settings,
                stream,
                selection,
                run_id,
                progress=progress,
                run_cache=cache,
                lock_timeout=lock_timeout,
            )

        pool = ThreadPoolExecutor(max_workers=min(workers, len(wave)), thread_name_prefix="kalshi-pull")
        try:
            done.update(zip(wave, pool.map(one, wave), strict=True))
        except KeyboardInterrupt:  # start no queued stream; the caller decides how to stop the running ones
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    _compact_side_streams(Lake.from_settings(settings), run_id)
    return RunResult(run_id=run_id, streams=[done[s] for s in plan.streams])
