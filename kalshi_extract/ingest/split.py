"""One big stream pulled as N shards (time windows) by N workers, landed exactly once by one commit.

Which streams split: a public stream of the *time* rule pulled un-narrowed (trades: one state partition ``all``
and a ``[watermark − overlap, until)`` window); its window is cut into N time windows, one per shard. A narrowed
pull (series, tickers), a private stream or a stream of another rule runs as one task, as before.

The protocol (a *coordinator* — the CLI's process or the flow's — and N shard tasks, anywhere)::

    with SplitPull(settings, "trades", selection, run_id, shards=4) as split:   # takes the stream's lock
        outcomes = [pull_shard(settings, shard) for shard in split.shards]    # threads, Dask workers…
        result = split.finish(outcomes)                                       # ONE commit, then the run log

1. The coordinator takes the stream's writer lock and holds it until ``finish`` (nobody else writes the stream
   meanwhile), reads the state and cuts the window the unsplit pull would ask for into N disjoint windows
   ``[a, b)`` (the first may start open, the last ends open: their union is exactly the unsplit window).
2. A shard pulls its window with the time rule itself (cutoff routing, de-duplication against the lake, untimed
   rows), but commits nothing: its files stay in the lake's ``_tmp/`` and its result lists them, with the newest
   event time it saw. A shard that fails deletes its temp files; one killed outright leaves them behind.
3. ``finish`` commits the files of every successful shard and — only when every shard succeeded — the stream's new
   state (watermark = the newest time any shard saw), in one crash-safe commit (:mod:`kalshi_extract.lake.store`);
   then it deletes whatever temp files of the stream are left (a killed shard's) and writes the stream's one
   ``_runs`` row (``shards`` = N in its `StreamResult`). Compacting the day partitions it wrote to is the caller's,
   once the lock is released (`kalshi_extract.ingest.run.compact_after_run`).

So a killed or failed shard neither loses nor doubles a row: its files are never committed, the watermark does
not move, and the re-run asks for the same window again; the rows the other shards landed are in that window and
the time rule's de-duplication drops them. A shard is the unit of resumption: a killed shard starts its window over
(an unsplit pull resumes from its last checkpoint instead).

Rate budget: shards in one process share its pacer, shards in several processes of one machine share the machine's
``flock``'ed bucket (:mod:`kalshi_extract.api.pacer`). Shards on several machines cannot share a bucket, so the
planner announces how many machines take part (``Shard.rate_share``) and each machine paces at ``1/rate_share`` of
the key's budget (:meth:`~kalshi_extract.api.pacer.Pacer.share`).

Window cutting: the bounds of an open window are estimated (the newest trade, one request; the oldest market open
time in the lake, else 30 days before) only to balance the shards; an estimate never changes which rows are pulled.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from kalshi_extract.errors import KalshiLakeError, retriable
from kalshi_extract.ingest.plan import splits
from kalshi_extract.ingest.pull import RunCache, RunContext, Selection, StreamResult, _failed, report_run
from kalshi_extract.ingest.streams import get_stream
from kalshi_extract.lake.state import StateBook, iso, parse_iso

__all__ = ["Shard", "ShardResult", "SplitPull", "pull_shard", "pull_split", "splits"]

log = logging.getLogger("kalshi_extract.ingest.split")

GUESS_SPAN = timedelta(days=30)  # an open start with nothing to estimate it from: the shards cover this much


@dataclass(frozen=True)
class Shard:
    """One time window ``[since, until)`` of a split stream's run (None: open)."""

    stream: str
    index: int
    count: int
    since: datetime | None
    until: datetime | None
    run_id: str
    candle_interval: int = 60
    rate_share: int = 1  # machines sharing the key's budget: each paces at 1/rate_share of it

    @property
    def name(self) -> str:
        """``trades 2/4``: the shard's line in progress displays."""
        return f"{self.stream} {self.index + 1}/{self.count}"


@dataclass
class ShardResult:
    """What a shard pulled: its temp files (not yet committed), the newest event time of its window, counters."""

    shard: Shard
    result: StreamResult  # counters of the shard (``stream`` = the shard's name)
    files: list[tuple[str, str]] = field(default_factory=list)
    top: str | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok


class _PendingBook:
    """A state book for a shard: an empty state (the shard's window is given), commits collected, not made."""

    def __init__(self, stream: str):
        self.stream = stream
        self.files: list[tuple[str, str]] = []
        self.top: datetime | None = None

    def partition(self, key: str) -> dict:
        return {}

    def meta(self, key: str, default=None):
        return default

    def hash_of(self, pk: str) -> str | None:
        return None

    def commit(self, files, *, partitions=None, hashes=None, meta=None) -> list[str]:
        self.files.extend(tuple(f) for f in files)
        for state in (partitions or {}).values():
            seen = parse_iso(state.get("watermark")) if state.get("resume") is None else None
            if seen is not None and (self.top is None or seen > self.top):
                self.top = seen
        return [dst for _, dst in files]


def _client(settings, rate_share: int):
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.api.pacer import share_of

    client = KalshiClient(settings)
    if rate_share > 1:
        shared = share_of(client.pacer, rate_share)
        client.close()
        client = KalshiClient(settings, pacer=shared)
    return client


def pull_shard(settings, shard: Shard, *, progress=None, run_cache: RunCache | None = None) -> ShardResult:
    """Pull one shard's window into the lake's ``_tmp/`` (nothing committed); never raises for a failed pull.

    ``progress(name, pages, rows, status)`` as in :mod:`kalshi_extract.ingest.run`, under the shard's name."""
    from kalshi_extract.ingest import rules
    from kalshi_extract.lake.store import Lake

    sdef = get_stream(shard.stream)
    result = StreamResult(stream=shard.name, run_id=shard.run_id, started_at=datetime.now(UTC))
    out = ShardResult(shard, result)
    t0 = time.monotonic()
    if progress is not None:
        progress(shard.name, 0, 0, "started")
    book = _PendingBook(shard.stream)
    ctx = None
    try:
        with _client(settings, shard.rate_share) as client:
            before = (client.stats.requests, client.stats.retries, client.stats.throttled_429)
            selection = Selection(since=shard.since, until=shard.until, candle_interval=shard.candle_interval)
            page = (lambda _name, pages, rows: progress(shard.name, pages, rows, None)) if progress else None
            ctx = RunContext(
                client, Lake.from_settings(settings), sdef, selection, shard.run_id, page, run_cache
            )
            ctx.book = book
            try:
                rules.RULES[sdef.rule](ctx)
            finally:
                stats = client.stats
                result.requests = stats.requests - before[0]
                result.retries = stats.retries - before[1]
                result.throttled = stats.throttled_429 - before[2]
        out.files, out.top = book.files, iso(book.top)
    except Exception as exc:  # a failed shard commits nothing: its closed temp files go now
        _failed(result, exc)
        lake = Lake.from_settings(settings)
        for src, _ in book.files:
            lake._delete_quiet(src)
        log.error("%s: shard failed: %s", shard.name, result.error)
    if ctx is not None:
        result.pages, result.rows, result.rows_seen = ctx.pages, ctx.rows, ctx.rows_seen
        result.rows_untimed, result.files = ctx.rows_untimed, len(out.files)
        result.range_start, result.range_end = ctx.range_start, ctx.range_end
        result.unknown_fields, result.unfit_fields = sorted(ctx.unknown), sorted(ctx.unfit)
    if not result.ok:
        result.rows, result.files = 0, 0
    result.seconds = time.monotonic() - t0
    result.finished_at = datetime.now(UTC)
    if progress is not None:
        progress(shard.name, result.pages, result.rows, "ok" if result.ok else "failed")
    return out


def _cut(lo: datetime | None, hi: datetime | None, n: int, lo_hint: datetime, hi_hint: datetime) -> list:
    """``[lo, hi)`` in ``n`` windows whose union is exactly ``[lo, hi)`` (None stays open at its end); the inner
    bounds are spread evenly over the estimated span."""
    a = lo or lo_hint
    b = hi or hi_hint
    if n <= 1 or a >= b:
        return [(lo, hi)]
    step = (b - a) / n
    inner = [a + step * i for i in range(1, n)]
    inner = [datetime.fromtimestamp(int(p.timestamp()), UTC) for p in inner]  # whole seconds: readable bounds
    bounds = [lo, *inner, hi]
    return [(bounds[i], bounds[i + 1]) for i in range(n)]


class SplitPull:
    """The coordinator of a split stream's run (module docstring): holds the stream's lock from ``__enter__`` to
    ``__exit__``; ``shards`` to hand out, ``finish(outcomes)`` to land them in one commit."""

    def __init__(
        self,
        settings,
        stream: str,
        selection: Selection,
        run_id: str,
        shards: int,
        *,
        rate_share: int = 1,
        run_cache: RunCache | None = None,
        lock_timeout: float = 600.0,
    ):
        if not splits(stream, selection):
            raise ValueError(f"stream {stream!r} with this selection cannot be split (see ingest.split)")
        self.settings = settings
        self.stream = stream
        self.sdef = get_stream(stream)
        self.selection = selection
        self.run_id = run_id
        self.count = max(1, int(shards))
        self.rate_share = max(1, int(rate_share))
        self.run_cache = run_cache if run_cache is not None else RunCache()
        self.lock_timeout = lock_timeout
        self.shards: list[Shard] = []
        self._stack = ExitStack()
        self._reserve: str | None = None
        self._t0 = 0.0
        self._started = datetime.now(UTC)
        self._requests = 0

    # -- opening --------------------------------------------------------------------------------------------
    def __enter__(self) -> SplitPull:
        from kalshi_extract.ingest.time_rule import _window
        from kalshi_extract.lake.store import Lake

        self._t0 = time.monotonic()
        self.lake = Lake.from_settings(self.settings)
        self._stack.enter_context(self.lake.lock(self.stream, timeout=self.lock_timeout))
        try:
            self._reserve = self.lake.reserve_space(self.stream)
            self.book = StateBook(self.lake, self.stream, None)
            self.state = self.book.partition("all")
            probe = SimpleNamespace(sdef=self.sdef, selection=self.selection)
            self.ranges, self.new_from, _ = _window(probe, self.state)
            # the cutoff the new state will record, read before any shard reads its own (the same or a later one):
            # "the archive before it is read in full" then holds for every shard
            self.cutoff = self._cutoff() if self.sdef.historical_path else None
            self.shards = self._plan()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._reserve is not None:
            self.lake._delete_quiet(self._reserve)
            self._reserve = None
        self._stack.close()

    def _hints(self) -> tuple[datetime, datetime]:
        """(oldest, newest) event time to spread the inner bounds over (balance only, see the module)."""
        hi = None
        try:
            from kalshi_extract.api.client import KalshiClient

            with KalshiClient(self.settings) as client:
                data = client.get(self.sdef.path, {"limit": 1})
                self._requests += client.stats.requests
            rows = data.get(self.sdef.data_key) if isinstance(data, dict) else None
            if rows:
                hi = parse_iso(str(rows[0].get(self.sdef.time_column)))
        except (KalshiLakeError, ValueError, TypeError, AttributeError) as exc:
            log.info("%s: newest row unknown (%s); shards spread up to now", self.stream, exc)
        hi = hi + timedelta(seconds=1) if hi else datetime.now(UTC)
        lo = None
        try:
            opened = self.lake.scan("markets", ["open_time"])
            if opened is not None and opened.num_rows:
                import pyarrow.compute as pc

                from kalshi_extract.lake.state import from_micros

                low = pc.min(opened.column("open_time").cast("int64")).as_py()
                lo = from_micros(low) if low is not None else None
        except (KalshiLakeError, OSError, KeyError, ValueError) as exc:
            log.debug("%s: no market open times to estimate the oldest row (%s)", self.stream, exc)
        if lo is None or lo >= hi:
            lo = hi - GUESS_SPAN
        return lo, hi

    def _plan(self) -> list[Shard]:
        ranges = list(self.ranges)
        open_ended = any(a is None or b is None for a, b in ranges)
        lo_hint, hi_hint = self._hints() if open_ended else (None, None)
        windows: list[tuple[datetime | None, datetime | None]] = []
        if (
            len(ranges) == 2
        ):  # a wider window than before: the added stretch before the earlier runs is one shard
            windows.append(ranges[1])
        main_lo, main_hi = ranges[0]
        room = max(1, self.count - len(windows))
        windows[:0] = _cut(main_lo, main_hi, room, lo_hint or main_lo, hi_hint or main_hi)
        n = len(windows)
        return [
            Shard(
                self.stream,
                i,
                n,
                a,
                b,
                self.run_id,
                candle_interval=self.selection.candle_interval,
                rate_share=self.rate_share,
            )
            for i, (a, b) in enumerate(windows)
        ]

    # -- landing --------------------------------------------------------------------------------------------
    def finish(self, outcomes: list[ShardResult | BaseException]) -> StreamResult:
        """Land every successful shard's files (and, when all succeeded, the new state) in one commit; write the
        stream's run-log row; returns the stream's `StreamResult` (failed when any shard failed)."""
        result = StreamResult(stream=self.stream, run_id=self.run_id, started_at=self._started)
        result.shards, result.partitions = len(self.shards), 1
        good: list[ShardResult] = []
        failures: list[str] = []
        for shard, outcome in zip(self.shards, outcomes, strict=True):
            if isinstance(outcome, ShardResult) and outcome.ok:
                good.append(outcome)
            else:
                failures.append(f"{shard.name}: {_reason(outcome)}")
            counted = outcome.result if isinstance(outcome, ShardResult) else None
            if counted is not None:
                for name in ("pages", "rows_seen", "requests", "retries", "throttled", "rows_untimed"):
                    setattr(result, name, getattr(result, name) + getattr(counted, name))
                result.unknown_fields = sorted({*result.unknown_fields, *counted.unknown_fields})
                result.unfit_fields = sorted({*result.unfit_fields, *counted.unfit_fields})
        result.requests += self._requests
        files = [f for g in good for f in g.files]
        try:
            if failures:  # what landed stays (the re-run de-duplicates it); the watermark does not move
                self.book.commit(files)
            else:
                self.book.commit(files, partitions={"all": self._new_state(good)})
            result.rows = sum(g.result.rows for g in good)
            result.files = len(files)
            starts = [g.result.range_start for g in good if g.result.range_start]
            ends = [g.result.range_end for g in good if g.result.range_end]
            result.range_start, result.range_end = min(starts, default=None), max(ends, default=None)
            self.lake.recover(self.stream)  # temp files of killed shards (never committed)
        except (KalshiLakeError, OSError) as exc:
            for src, _ in files:
                self.lake._delete_quiet(src)
            failures.append(f"commit: {type(exc).__name__}: {exc}")
            result.rows = result.files = 0
        if failures:
            result.outcome = "failed"
            result.error = f"{len(failures)} of {len(self.shards)} shards failed: " + "; ".join(failures)
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            result.error_type = "ShardFailed"
            result.retriable = all(retriable(e) for e in errors) and all(
                o.result.retriable for o in outcomes if isinstance(o, ShardResult) and not o.ok
            )
        result.seconds = time.monotonic() - self._t0
        result.finished_at = datetime.now(UTC)
        reserve, self._reserve = self._reserve, None
        report_run(self.lake, result, self.selection, reserve, time_column=self.sdef.time_column)
        return result

    def _new_state(self, good: list[ShardResult]) -> dict:
        st = self.state
        tops = [parse_iso(g.top) for g in good if g.top]
        old = parse_iso(st.get("watermark"))
        new_wm = max([t for t in [old, *tops] if t is not None], default=None)
        state = {
            **st,
            "watermark": iso(new_wm),
            "runs": st.get("runs", 0) + 1,
            "last_run_id": self.run_id,
            "from": iso(self.new_from),
            "cutoff": st.get("cutoff"),
            "shards": len(self.shards),
        }
        state.pop("resume", None)
        cut = self.cutoff
        until = self.selection.until
        if cut is not None and (until is None or until >= cut):
            state["cutoff"] = iso(cut)
        return state

    def _cutoff(self) -> datetime | None:
        data = self.run_cache.get("cutoff", self._read_cutoff)
        value = data.get(self.sdef.cutoff_key) if isinstance(data, dict) and self.sdef.cutoff_key else None
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        return parse_iso(str(value)) if value else None

    def _read_cutoff(self):
        from kalshi_extract.api.client import KalshiClient

        with KalshiClient(self.settings) as client:
            data = client.get("/historical/cutoff")
            self._requests += client.stats.requests
        return data


def _reason(outcome) -> str:
    if isinstance(outcome, ShardResult):
        return outcome.result.error or "failed"
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {outcome}"
    return f"no result ({outcome!r})"


def pull_split(
    settings,
    stream: str,
    selection: Selection,
    run_id: str,
    shards: int,
    *,
    progress=None,
    run_cache: RunCache | None = None,
    lock_timeout: float = 600.0,
) -> StreamResult:
    """A split stream in this process: the coordinator here, its shards on a pool of threads (one each); never
    raises for a failed pull."""
    try:
        with SplitPull(
            settings, stream, selection, run_id, shards, run_cache=run_cache, lock_timeout=lock_timeout
        ) as split:
            with ThreadPoolExecutor(max_workers=len(split.shards), thread_name_prefix="kalshi-shard") as pool:
                outcomes = list(
                    pool.map(
                        lambda s: pull_shard(settings, s, progress=progress, run_cache=split.run_cache),
                        split.shards,
                    )
                )
            return split.finish(outcomes)
    except (KalshiLakeError, OSError) as exc:  # the lock, the state: before any shard ran
        result = StreamResult(stream=stream, run_id=run_id)
        _failed(result, exc)
        return result
