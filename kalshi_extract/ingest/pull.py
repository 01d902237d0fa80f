"""Pull streams from Kalshi (or the local exchange) into the lake: the public API of the lake side.

::

    from kalshi_extract import KalshiClient
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.ingest.pull import pull, pull_stream, Selection, STREAM_NAMES

    client = KalshiClient.from_env()
    lake = Lake.from_settings(client.settings)
    sel = Selection(series=["KXHIGHNY"], since=datetime(2026, 6, 1, tzinfo=UTC), candle_interval=60)
    result = pull(client, lake, ["markets", "trades"], sel, progress=lambda stream, pages, rows: ...)
    for s in result.streams: print(s.stream, s.rows, s.outcome)

(For a planned pull with waves, concurrent streams and progress, as the CLI and the flows do it, see
:mod:`kalshi_extract.ingest.run`.) ``pull`` runs the streams one after another (so each stream's request counts
in ``_runs`` are its own); inside a stream, independent partitions (tickers, series, historical/live slices) run
concurrently on a thread pool of ``settings.concurrency`` (``KALSHI_CONCURRENCY``) workers, all sharing the
client's pacer. A stream holds its lake lock for the whole pull: a second pull of the same stream waits up to
``lock_timeout`` seconds and then fails with :class:`~kalshi_extract.errors.LakeLockedError`.

``pull_stream`` never raises for a failed pull of an otherwise valid request (API error, lock held, disk full…): it records
the failure in ``_runs`` and returns ``StreamResult(outcome="failed", error=...)``. Invalid input (unknown stream,
bad selection) raises ``ValueError`` before anything is requested or written. Programming errors propagate after
being recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from kalshi_extract.errors import KalshiLakeError, retriable
from kalshi_extract.ingest.streams import STREAM_NAMES, StreamDef, get_stream
from kalshi_extract.lake.convert import BodyDecoder, Converter, loads_exact
from kalshi_extract.lake.run_log import new_run_id, record_run
from kalshi_extract.lake.schemas import arrow_schema
from kalshi_extract.lake.state import StateBook, parse_iso, ts_bounds

__all__ = [
    "pull",
    "pull_stream",
    "Selection",
    "StreamResult",
    "RunResult",
    "RunCache",
    "STREAM_NAMES",
    "failed_result",
]

log = logging.getLogger("kalshi_extract.ingest.pull")

Progress = Callable[[str, int, int], None]
CANDLE_INTERVALS = (1, 60, 1440)


def _utc(value, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = parse_iso(value.strip()) if value.strip() else None
        except KalshiLakeError:
            raise ValueError(
                f"Selection.{name}: {value!r} is not an RFC3339 time (e.g. 2026-06-01T00:00:00Z)"
            ) from None
        if value is None:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, datetime):
        raise ValueError(f"Selection.{name} must be a datetime, RFC3339 text or Unix seconds, not {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _names(value, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    out = tuple(str(v).strip() for v in value if str(v).strip())
    if not out:
        raise ValueError(f"Selection.{name} is empty; pass None for no filter")
    return out


@dataclass(frozen=True)
class Selection:
    """What to pull: narrow by series, events, market tickers and an event-time window ``[since, until)``.

    Filters combine as a union of scopes (``series`` ∪ ``events`` ∪ ``tickers``); None everywhere = everything.
    ``candle_interval`` is the candlestick period in minutes: 1, 60 or 1440. Naive datetimes are taken as UTC.
    """

    series: Sequence[str] | None = None
    events: Sequence[str] | None = None
    tickers: Sequence[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    candle_interval: int = 60

    def __post_init__(self):
        object.__setattr__(self, "series", _names(self.series, "series"))
        object.__setattr__(self, "events", _names(self.events, "events"))
        object.__setattr__(self, "tickers", _names(self.tickers, "tickers"))
        object.__setattr__(self, "since", _utc(self.since, "since"))
        object.__setattr__(self, "until", _utc(self.until, "until"))
        if self.since and self.until and self.since >= self.until:
            raise ValueError(
                f"Selection.since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})"
            )
        if self.candle_interval not in CANDLE_INTERVALS:
            raise ValueError(
                f"Selection.candle_interval must be one of {CANDLE_INTERVALS} minutes "
                f"(1 minute, 1 hour, 1 day), not {self.candle_interval!r}"
            )

    @property
    def narrowed(self) -> bool:
        return bool(self.series or self.events or self.tickers)

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass
class StreamResult:
    """Outcome of pulling one stream in one run (also one row of ``_runs``)."""

    stream: str
    run_id: str = ""
    pages: int = 0
    rows: int = 0
    rows_seen: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    seconds: float = 0.0
    outcome: str = "ok"
    error: str | None = None  # the message, for people
    error_type: str | None = None  # the exception's class name, e.g. "AuthenticationError"
    retriable: bool | None = None  # None when ok; else whether retrying later may heal it (errors.retriable)
    partitions: int = 0
    files: int = 0
    unknown_fields: list[str] = field(default_factory=list)
    unfit_fields: list[str] = field(default_factory=list)
    rows_untimed: int = 0  # rows landed without their event time (time null, partition = load date)
    range_start: datetime | None = None
    range_end: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    shards: int = (
        0  # a split stream (``kalshi_extract.ingest.split``): how many shards pulled it; 0 = not split
    )

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class RunResult:
    run_id: str
    streams: list[StreamResult]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.streams)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.streams)


class RunCache:
    """Lookups shared by the streams of one run (``/historical/cutoff``), each loaded once: the first stream that
    needs a value loads it while the others wait for it. Thread-safe; pickles empty (a process that receives it,
    e.g. a Dask worker, loads its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, object] = {}

    def get(self, key: str, load: Callable[[], object]) -> object:
        """The value under ``key``, from ``load()`` the first time (a failed load caches nothing)."""
        with self._lock:
            if key not in self._values:
                self._values[key] = load()
            return self._values[key]

    def __reduce__(self):
        return (RunCache, ())


class RunContext:
    """Everything a rule needs while pulling one stream: client, lake, state, counters, converters."""

    def __init__(
        self,
        client,
        lake,
        sdef: StreamDef,
        selection: Selection,
        run_id: str,
        progress: Progress | None,
        run_cache: RunCache | None = None,
    ):
        self.client = client
        self.lake = lake
        self.sdef = sdef
        self.selection = selection
        self.run_id = run_id
        self.progress = progress
        self.loaded_at = datetime.now(UTC)
        self.schema = arrow_schema(sdef.name)
        settings = getattr(client, "settings", None)
        self.account = (getattr(settings, "account", None) or "default") if sdef.private else None
        self.concurrency = max(1, int(getattr(settings, "concurrency", 8) or 8))
        self.book = StateBook(lake, sdef.name, self.account)  # private streams: per account
        self._lock = threading.Lock()
        self.pages = self.rows = self.rows_seen = self.files = 0
        self.rows_written = 0  # rows handed to writers (progress); ``rows`` counts them once committed
        self._writers: list = []
        self.rows_untimed = 0
        self.partitions = 0
        self.range_start: datetime | None = None
        self.range_end: datetime | None = None
        self.unknown: set[str] = set()
        # field → the first value that did not fit its column (landed as null, kept in _extra)
        self.unfit: dict[str, object] = {}
        self._run_cache = run_cache if run_cache is not None else RunCache()
        # pages decoded column-wise straight from their body (None: every page goes through dicts)
        self.decoder = (
            BodyDecoder.for_stream(sdef.name, sdef.columns, sdef.data_key)
            if getattr(type(client), "paginate_decodes", False) and not sdef.exact_numbers
            else None
        )

    # -- conversion and writing -------------------------------------------------------------------------
    def writer(self, **kwargs):
        """A rolling writer of this stream and run whose files count as landed rows once committed."""
        w = self.lake.writer(self.sdef.name, self.run_id, self.schema, self.sdef.date_column, **kwargs)
        with self._lock:
            self._writers.append(w)
        return w

    def converter(self) -> Converter:
        return Converter(
            self.sdef.name,
            self.sdef.columns,
            self.schema,
            run_id=self.run_id,
            loaded_at=self.loaded_at,
            account=self.account,
        )

    def paginate(self, path: str, params: dict, cursor: str | None = None):
        """The stream's pages of ``path``; with a :class:`BodyDecoder`, decoded column-wise (``page.items`` is then
        a :class:`~kalshi_extract.lake.convert.PageColumns` that :meth:`Converter.convert` takes as is)."""
        paginate = self.client.paginate
        # only the client's own method takes ``decode`` (a wrapped or stand-in ``paginate`` gets plain pages)
        if self.decoder is None or getattr(paginate, "__self__", None) is not self.client:
            return paginate(path, params, data_key=self.sdef.data_key, cursor=cursor)
        return paginate(path, params, data_key=self.sdef.data_key, cursor=cursor, decode=self.decoder.decode)

    def items(self, page) -> list[dict]:
        """The page's items; for streams with decimal columns from JSON numbers, re-parsed keeping their text."""
        if self.sdef.exact_numbers and page.body:
            data = loads_exact(page.body)
            key = self.sdef.data_key
            if isinstance(data, dict) and key in data:
                return data[key] or []
        return page.items

    def retire(self, conv: Converter) -> None:
        with self._lock:
            self.unknown |= conv.unknown_fields
            for name, value in conv.unfit_fields.items():
                self.unfit.setdefault(name, value)

    # -- counters ---------------------------------------------------------------------------------------
    def page_done(self, seen: int, written: int, batch: pa.RecordBatch | None = None, bounds=None) -> None:
        """Count a page; ``bounds`` = (min, max) event time of ``batch`` when the caller already has it."""
        with self._lock:
            self.pages += 1
            self.rows_seen += seen
            self.rows_written += written
            pages, rows = self.pages, self.rows_written
        if batch is not None and written and self.sdef.time_column:
            lo, hi = bounds if bounds is not None else ts_bounds(batch.column(self.sdef.time_column))
            with self._lock:
                if lo is not None and (self.range_start is None or lo < self.range_start):
                    self.range_start = lo
                if hi is not None and (self.range_end is None or hi > self.range_end):
                    self.range_end = hi
        if self.progress is not None:
            self.progress(self.sdef.name, pages, rows)

    def untimed(self, n: int) -> None:
        """Count ``n`` rows landed without their event time (the watermark ignores them)."""
        with self._lock:
            self.rows_untimed += n

    def committed(self, files: list[str]) -> None:
        """Count the files a commit made visible, and their rows (a failed run reports only what landed)."""
        with self._lock:
            self.files += len(files)
            for path in files:
                for w in self._writers:
                    if path in w.rows_by_path:
                        self.rows += w.rows_by_path.pop(path)
                        break

    # -- shared lookups ---------------------------------------------------------------------------------
    def cutoff(self) -> dict:
        """``/historical/cutoff``, read once per run: by the first stream that needs it, then shared through the
        run's :class:`RunCache` by its other streams (every run reads it afresh).

        A cutoff that moves while the run goes on is safe: a partition's state records the cutoff its slices
        used, and the next run's historical slice starts there, so rows archived in between are read then.
        """
        data = self._run_cache.get("cutoff", lambda: self.client.get("/historical/cutoff"))
        return data if isinstance(data, dict) else {}

    def cutoff_time(self, key: str | None) -> datetime | None:
        if not key:
            return None
        value = self.cutoff().get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        return parse_iso(str(value))


def pull_stream(
    client,
    lake,
    stream: str,
    selection: Selection | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
    *,
    lock_timeout: float = 600.0,
    run_cache: RunCache | None = None,
) -> StreamResult:
    """Pull one stream incrementally into the lake; returns its :class:`StreamResult` (also logged in ``_runs``).

    ``run_cache`` shares run-wide lookups (the historical cutoff) between the streams of one run."""
    from kalshi_extract.ingest import rules

    sdef = get_stream(stream)
    selection = selection or Selection()
    if not isinstance(selection, Selection):
        raise ValueError(f"selection must be a Selection, not {type(selection).__name__}")
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    t0 = time.monotonic()
    stats = client.stats
    before = (stats.requests, stats.retries, stats.throttled_429)
    result = StreamResult(stream=stream, run_id=run_id, started_at=started)
    ctx: RunContext | None = None
    failure: BaseException | None = None
    reserve: str | None = None
    try:
        with lake.lock(stream, timeout=lock_timeout):
            reserve = lake.reserve_space(stream)  # room for the run-log row should the disk fill up
            ctx = RunContext(client, lake, sdef, selection, run_id, progress, run_cache)
            rules.RULES[sdef.rule](ctx)
    except (KalshiLakeError, OSError) as exc:  # OSError: the disk (full, read-only…), not a bug
        _failed(result, exc)
    except Exception as exc:
        _failed(result, exc)
        failure = exc
    if ctx is not None:
        result.pages, result.rows, result.rows_seen = ctx.pages, ctx.rows, ctx.rows_seen
        result.partitions, result.files = ctx.partitions, ctx.files
        result.unknown_fields = sorted(ctx.unknown)
        result.unfit_fields = sorted(ctx.unfit)
        result.rows_untimed = ctx.rows_untimed
        result.range_start, result.range_end = ctx.range_start, ctx.range_end
        if ctx.decoder is not None and (ctx.decoder.fast_pages or ctx.decoder.row_pages):
            log.debug(
                "%s: %d pages decoded column-wise, %d through the row path",
                stream,
                ctx.decoder.fast_pages,
                ctx.decoder.row_pages,
            )
    result.requests = stats.requests - before[0]
    result.retries = stats.retries - before[1]
    result.throttled = stats.throttled_429 - before[2]
    result.seconds = time.monotonic() - t0
    result.finished_at = datetime.now(UTC)
    report_run(
        lake,
        result,
        selection,
        reserve,
        time_column=sdef.time_column,
        unfit_examples=ctx.unfit if ctx else None,
    )
    if failure is not None:
        raise failure
    return result


def report_run(
    lake,
    result: StreamResult,
    selection: Selection,
    reserve: str | None,
    *,
    time_column: str | None = None,
    unfit_examples: dict | None = None,
) -> None:
    """The end of a stream's run (whole or split): warn about what landed oddly (unknown fields kept in ``_extra``,
    values that did not fit, rows without their event time), then free the run-log reserve and write the run's
    ``_runs`` row. A row that cannot be written is logged, never raised: the stream's own outcome stands."""
    stream = result.stream
    if result.unknown_fields:
        log.warning(
            "%s: the API sent fields the schema does not know (kept in _extra): %s",
            stream,
            ", ".join(result.unknown_fields),
        )
    if result.unfit_fields:
        examples = unfit_examples or {}
        log.warning(
            "%s: values that do not fit their column landed as null, the original kept in _extra: %s",
            stream,
            ", ".join(
                f"{name} (e.g. {examples[name]!r})" if name in examples else name
                for name in result.unfit_fields
            ),
        )
    if result.rows_untimed:
        log.warning(
            "%s: %d rows came without their event time (%s): landed with it null, in the partition of their "
            "load date; the watermark ignores them",
            stream,
            result.rows_untimed,
            time_column,
        )
    if result.error:
        log.error("%s: pull failed: %s", stream, result.error)
    row = asdict(result)
    row["selection"] = selection.as_dict()
    if reserve is not None:
        lake._delete_quiet(reserve)
    try:
        record_run(lake, row)
    except (OSError, KalshiLakeError) as exc:
        log.error(
            "%s: could not write the run-log row of run %s (%s: %s); `kalshi-lake status` will show the run "
            "as interrupted",
            stream,
            result.run_id,
            type(exc).__name__,
            exc,
        )


def failed_result(stream: str, exc: BaseException, run_id: str = "") -> StreamResult:
    """The outcome of a stream that ended with ``exc`` before :func:`pull_stream` could report it."""
    result = StreamResult(stream=stream, run_id=run_id)
    _failed(result, exc)
    return result


def _failed(result: StreamResult, exc: BaseException) -> None:
    result.outcome = "failed"
    result.error = f"{type(exc).__name__}: {exc}"
    result.error_type = type(exc).__name__
    result.retriable = retriable(exc)


def pull(
    client,
    lake,
    streams: Sequence[str],
    selection: Selection | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    *,
    lock_timeout: float = 600.0,
) -> RunResult:
    """Pull several streams (validated first: a bad name changes nothing) under one run id."""
    if isinstance(streams, str):
        streams = [streams]
    names = list(dict.fromkeys(streams))
    for name in names:
        get_stream(name)
    if not names:
        raise ValueError(f"no streams given; choose from {', '.join(STREAM_NAMES)}")
    selection = selection or Selection()
    run_id = run_id or new_run_id()
    run_cache = RunCache()  # /historical/cutoff, read once for all the streams of this run
    results = [
        pull_stream(
            client, lake, name, selection, run_id, progress, lock_timeout=lock_timeout, run_cache=run_cache
        )
        for name in names
    ]
    return RunResult(run_id=run_id, streams=results)
