"""The *state* (series, events, markets), *snapshot* (positions, balance, exchange status, order books) and
*candles* rules. See :mod:`kalshi_extract.ingest.streams` for what each promises.

Snapshot time: ``snapshot_ts`` is the exchange's clock, read from the ``Date`` header of the response that carried
the snapshot (whole seconds; per response for order books, the run's first positions page for positions), so
snapshots line up with trades and candles, which carry exchange time too (the local exchange's clock is simulated
and jumps). Without a usable ``Date`` it falls back to this machine's clock (the run's ``_loaded_at``). The
partition date follows ``snapshot_ts``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pyarrow.compute as pc

from kalshi_extract.api.endpoints import ENDPOINTS, fill_path
from kalshi_extract.errors import NotFoundError
from kalshi_extract.ingest import rule_base as R
from kalshi_extract.ingest.shapes import flatten_candle, orderbook_rows, series_of
from kalshi_extract.lake.arrowfast import ts_scalar
from kalshi_extract.lake.state import iso, parse_iso, to_micros, ts_bounds

__all__ = ["run_state", "run_snapshot", "run_candles"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# state rule (series, events, markets): a row per observed state
# --------------------------------------------------------------------------------------------------------------
def _state_queries(ctx) -> list[tuple[str, str, dict, str, bool]]:
    """(scope key, path, params, data key, is_object) for the stream and selection.

    By the stream's level in the series → event → market hierarchy: a selection at or below the level reads the
    selected objects one by one (their parents derived from the tickers, Kalshi's naming rule); a selection above
    it lists the stream's endpoint filtered by the parent; markets, read in pages anyway, list by ticker too.
    """
    sdef, sel = ctx.sdef, ctx.selection
    listed = sdef.api.default_params

    def one(key: str, **params: str) -> tuple[str, str, dict, str, bool]:
        ep = ENDPOINTS[sdef.object_endpoint]
        return (key, fill_path(ep.path, **params), {}, ep.object_key, True)

    def many(key: str, params: dict) -> tuple[str, str, dict, str, bool]:
        return (key, sdef.path, {**params, **listed}, sdef.data_key, False)

    out = []
    if sdef.level == "series":
        out += [one(f"series={s}", series_ticker=s) for s in sel.series or ()]
        if sel.events or sel.tickers:
            wanted = sorted(
                {series_of(e, e) for e in (sel.events or ())}
                | {series_of(None, t) for t in (sel.tickers or ())}
            )
            out += [one(f"series={s}", series_ticker=s) for s in wanted]
        elif not sel.series:
            out.append(many("all", {}))
    elif sdef.level == "event":
        if not sel.narrowed:
            out.append(many("all", {}))
        out += [many(f"series={s}", {"series_ticker": s}) for s in sel.series or ()]
        events = set(sel.events or ()) | {t.rsplit("-", 1)[0] for t in sel.tickers or ()}
        out += [one(f"event={e}", event_ticker=e) for e in sorted(events)]
    elif sdef.level == "exchange":  # outside the hierarchy (fee changes): a small list, read whole every run
        out.append(many("all", {}))
    else:
        out += [many(key, params) for key, params in R._scopes(sel) or [("all", {})]]
    return out


def run_state(ctx) -> None:
    sdef = ctx.sdef
    pk = sdef.primary_key[0]
    queries = _state_queries(ctx)
    meta_updates: dict = {}
    if sdef.historical_path:  # first run of a scope, or the cutoff moved: read the archive of the scope too
        cut = ctx.cutoff().get(sdef.cutoff_key)
        seen_cut = ctx.book.meta("historical_cutoff", {})
        for key, _path, params, data_key, is_obj in list(queries):
            if seen_cut.get(key) != cut:
                hist = {k: v for k, v in params.items() if k != "limit"}
                queries.append((key, sdef.historical_path, {**hist, "limit": R.PAGE_LIMIT}, data_key, is_obj))
        meta_updates["historical_cutoff"] = {**seen_cut, **{q[0]: cut for q in queries}}
    ctx.partitions = len(queries)
    pending: dict[str, str] = {}
    lock = threading.Lock()
    writers = []

    def fresh(items: list[dict]) -> list[dict]:
        keep = []
        with lock:
            for item in items:
                key = item.get(pk)
                h = R._content_hash(item)
                if key is None:
                    keep.append(item)
                    continue
                if pending.get(key, ctx.book.hash_of(key)) == h:
                    continue
                pending[key] = h
                keep.append(item)
        return keep

    def one(query, keep: str | None = None, found: set | None = None) -> None:
        """Read one query and write its new states; ``keep`` (archive reads): land only the items with that field
        set, after adding every item's key to ``found``."""
        _, path, params, data_key, is_obj = query
        conv = ctx.converter()
        w = ctx.writer()
        with lock:
            writers.append(w)
        try:
            if is_obj:
                try:
                    data = ctx.client.get(path, params)
                except NotFoundError:
                    ctx.page_done(0, 0)
                    return
                obj = (data or {}).get(data_key) if isinstance(data, dict) else None
                pages = [[obj] if obj else []]
            else:
                pages = (ctx.items(p) for p in ctx.client.paginate(path, params, data_key=data_key))
            for items in pages:
                if keep is not None:
                    with lock:
                        found.update(i.get(pk) for i in items)
                    items = [i for i in items if i.get(keep)]
                new = fresh(items)
                batch = conv.convert(new) if new else None
                if batch is not None:
                    w.write(batch)
                ctx.page_done(len(items), len(new), batch)
        finally:
            ctx.retire(conv)

    try:
        R._run_all(ctx, one, queries)
        if sdef.archive_endpoint:
            _read_archive(ctx, one, lambda t: t in pending or ctx.book.hash_of(t) is not None)
        files = [f for w in writers for f in w.finish()]
    except BaseException:
        for w in writers:
            w.abort()
        raise
    ctx.committed(ctx.book.commit(files, hashes=pending, meta=meta_updates or None))


def _lake_tickers(lake, stream: str) -> set[str]:
    table = lake.scan(stream, ["ticker"])
    if table is None:
        return set()
    return {t for t in pc.unique(table.column("ticker")).to_pylist() if t}


def _read_archive(ctx, one, landed) -> None:
    """Ask ``sdef.archive_endpoint`` by ``tickers`` for the rows the live read cannot return (combos settled before
    the cutoff; see :class:`~kalshi_extract.ingest.streams.StreamDef`), and report the tickers still without a row.

    Candidates: the tickers of the ``archive_tickers_from`` streams' lake rows (inside the selection) and the
    selection's tickers, less those this stream has landed (``landed``) or an ``archive_known_from`` stream has."""
    sdef, sel = ctx.sdef, ctx.selection
    named: set[str] = set()
    for stream in sdef.archive_tickers_from:
        named |= _lake_tickers(ctx.lake, stream)
    if sel.narrowed:
        series, events, tickers = set(sel.series or ()), set(sel.events or ()), set(sel.tickers or ())
        named = {
            t for t in named if t in tickers or t.rsplit("-", 1)[0] in events or series_of(None, t) in series
        }
        named |= tickers
    for stream in sdef.archive_known_from:
        named -= _lake_tickers(ctx.lake, stream)
    wanted = sorted(t for t in named if not landed(t))
    if not wanted:
        return
    path = ENDPOINTS[sdef.archive_endpoint].path
    queries = [
        ("archive", path, {"tickers": ",".join(chunk), "limit": R.PAGE_LIMIT}, sdef.data_key, False)
        for chunk in R._chunks(wanted, R.TICKER_CHUNK)
    ]
    ctx.partitions += len(queries)
    found: set[str] = set()
    R._run_all(ctx, lambda q: one(q, sdef.archive_keep, found), queries)
    missing = [t for t in wanted if t not in found]
    if missing:
        log.warning(
            "%s: %d traded or named tickers have no market row (none in the lake, none live, none in %s): %s",
            sdef.name,
            len(missing),
            path,
            ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""),
        )


# --------------------------------------------------------------------------------------------------------------
# snapshot rule (positions, balance, exchange_status, orderbook_snapshots)
# --------------------------------------------------------------------------------------------------------------
def _snapshot_items(ctx) -> Iterable[tuple[datetime, list[dict]]]:
    """``(snapshot time, rows)`` per response. The time is the exchange's clock (the response's ``Date``) or,
    without a usable one, this machine's (``ctx.loaded_at``). Positions: every page of the run shares the first
    response's time (one positions snapshot is one instant); order books: each response its own."""
    sdef, sel = ctx.sdef, ctx.selection
    subs = R.subaccount_scopes(ctx)  # per_subaccount streams: one read per subaccount, rows stamped
    if sdef.snapshot_source == "object":
        for q, stamp in subs:
            data, when = ctx.client.get_with_time(sdef.path, q or None)
            ts = when or ctx.loaded_at
            yield ts, [{**(data or {}), **stamp, "snapshot_ts": iso(ts)}]
        return
    if sdef.snapshot_source == "pages":
        scopes = [{"ticker": t} for t in sel.tickers or ()] + [{"event_ticker": e} for e in sel.events or ()]
        if sel.series:
            tickers = sorted(t for t, m in R.resolve_markets(ctx, historical=False).items())
            scopes += [{"ticker": t} for t in tickers if {"ticker": t} not in scopes]
        ts = None
        for q, sub in subs:
            for params in scopes or [{}]:
                for page in ctx.client.paginate(
                    sdef.path, {**params, **q, "limit": R.PAGE_LIMIT}, data_key=sdef.data_key
                ):
                    if ts is None:
                        ts = page.server_time or ctx.loaded_at
                    stamp = iso(ts)
                    yield ts, [{**item, **sub, "snapshot_ts": stamp} for item in ctx.items(page)]
        return
    # order_books: the books of the selected (or all open) markets, TICKER_CHUNK tickers per request
    if sel.tickers and not (sel.series or sel.events):
        tickers = sorted(sel.tickers)
    else:
        tickers = sorted(t for t, m in R.resolve_markets(ctx, historical=False, status="open").items())
    for chunk in R._chunks(tickers, R.TICKER_CHUNK):
        data, when = ctx.client.get_with_time(sdef.path, {"tickers": chunk})
        ts = when or ctx.loaded_at
        stamp = iso(ts)
        rows: list[dict] = []
        for entry in (data or {}).get(sdef.data_key) or []:
            rows += orderbook_rows(
                entry.get("ticker") or entry.get("market_ticker"), entry.get("orderbook_fp"), stamp
            )
        yield ts, rows


def run_snapshot(ctx) -> None:
    ctx.partitions = 1
    conv = ctx.converter()
    w = ctx.writer()
    latest = None
    try:
        for ts, items in _snapshot_items(ctx):
            latest = ts if latest is None or ts > latest else latest
            batch = conv.convert(items) if items else None
            if batch is not None:
                w.write(batch)
            ctx.page_done(len(items), len(items), batch)
        files = w.finish()
    except BaseException:
        w.abort()
        raise
    finally:
        ctx.retire(conv)
    snapshot_ts = iso(latest or ctx.loaded_at)
    ctx.committed(ctx.book.commit(files, meta={"last_snapshot": snapshot_ts, "last_run_id": ctx.run_id}))


# --------------------------------------------------------------------------------------------------------------
# candles rule
# --------------------------------------------------------------------------------------------------------------
def _candle_end(row: dict):
    """Sort key of a flattened candle by its end (a number or RFC3339 text, as the API sent it)."""
    value = row["end_period_ts"]
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def _reached_now(now: datetime | None, b: datetime, last: int | None, interval: int) -> bool:
    """Did the chunk ending at ``b`` reach the exchange's "now" (so later chunks of an open market are empty)?

    By the exchange's clock (the response's ``Date``) when it sent one. Without it, by the candles: a chunk whose
    newest candle ends well before ``b``. An empty chunk is not proof on its own when the clock is known: the
    window may start before the market's first candle.
    """
    if now is not None:
        return b >= now
    return last is None or last < R._secs(b) - interval * 60


#: a market with at most this many new candles is buffered in memory and written through the run's shared writer
#: (one set of files for all small markets); a bigger one gets its own writer and commit
CANDLES_SMALL_ROWS = 20_000
#: the shared writer commits its complete markets (files + their states together) every this many rows
CANDLES_COMMIT_ROWS = 200_000


class _SharedCandles:
    """One writer for the small markets of a candles run, so a pull of many markets writes a few files (one per
    day partition), not one per market. A market is handed over only complete (its rows and its new state), so
    a commit covers whole markets: a killed run loses the markets not committed yet, never half of one."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.lock = threading.Lock()
        self.writer = ctx.writer(max_open=64)
        self.states: dict[str, dict] = {}
        self.rows = 0

    def add(self, key: str, batches: list, state: dict) -> None:
        with self.lock:
            for b in batches:
                self.writer.write(b)
                self.rows += b.num_rows
            self.states[key] = state
            if self.rows >= CANDLES_COMMIT_ROWS:
                self._commit()

    def _commit(self) -> None:
        files = self.writer.finish()
        self.ctx.committed(self.ctx.book.commit(files, partitions=self.states))
        self.states, self.rows = {}, 0

    def close(self) -> None:
        """Commit the complete markets (also after another market failed: they stay landed); drop the rest."""
        with self.lock:
            try:
                if self.states:
                    self._commit()
            finally:
                self.writer.abort()


def run_candles(ctx) -> None:
    sel = ctx.selection
    interval = sel.candle_interval
    markets = R.resolve_markets(ctx)
    cut = ctx.cutoff_time(ctx.sdef.cutoff_key)
    jobs = []
    for ticker, info in sorted(markets.items()):
        key = f"ticker={ticker}/interval={interval}"
        st = ctx.book.partition(key)
        if st.get("complete"):
            continue  # final market, every candle landed
        jobs.append((key, ticker, info, st))
    ctx.partitions = len(jobs)
    step = timedelta(minutes=interval)

    def one(job) -> None:
        key, ticker, info, st = job
        wm = parse_iso(st.get("watermark"))
        opened = parse_iso(info.get("open_time"))
        start = wm + timedelta(seconds=1) if wm else sel.since
        if opened is not None and (start is None or start < opened - step):
            start = opened - step  # nothing to ask before the market opened (a window may start long before)
        close = parse_iso(info.get("close_time"))
        end = sel.until or close
        final = info.get("status") in R.FINAL_STATUSES
        if start is None:
            start = (end or datetime.now(UTC)) - 5000 * step
        if end is None or (not final and end > datetime.now(UTC) + timedelta(days=3650)):
            end = datetime.now(UTC) + timedelta(days=3650)
        if start >= end:
            ctx.page_done(0, 0)
            return
        series = series_of(info.get("event_ticker"), ticker)
        historical = bool(info.get("historical")) or (
            cut is not None and final and close is not None and info.get("historical")
        )
        if historical:
            path = fill_path(ctx.sdef.historical_path, ticker=ticker)
        else:
            path = fill_path(ctx.sdef.path, series_ticker=series, ticker=ticker)
        conv = ctx.converter()
        small: list | None = []  # the market's batches while it is small (None: it has its own writer)
        small_rows = 0
        w = None
        newest = wm
        try:
            a = start
            while a < end:  # ≤ 5000 candles per request
                b = min(end, a + 4999 * step)
                data, now = ctx.client.get_with_time(
                    path, {"start_ts": R._secs(a), "end_ts": R._secs(b, up=True), "period_interval": interval}
                )
                candles = (data or {}).get(ctx.sdef.data_key) or []
                rows = [flatten_candle(c, ticker, series, interval) for c in candles]
                untimed = [r for r in rows if r.get("end_period_ts") is None]
                rows = sorted((r for r in rows if r.get("end_period_ts") is not None), key=_candle_end)
                if rows and not final:
                    rows = rows[:-1]  # the newest candle of an open market may still be forming
                rows += untimed  # kept and reported, never dropped (the watermark ignores them)
                batch = conv.convert(rows) if rows else None
                if batch is not None:
                    if wm is not None:
                        batch = batch.filter(
                            pc.fill_null(
                                pc.greater(
                                    batch.column("end_period_ts"),
                                    ts_scalar(to_micros(wm), batch.column("end_period_ts").type),
                                ),
                                True,
                            )
                        )
                    if small is not None and small_rows + batch.num_rows <= CANDLES_SMALL_ROWS:
                        small.append(batch)
                        small_rows += batch.num_rows
                    else:
                        if w is None:
                            w = ctx.writer()
                            for b in small or ():
                                w.write(b)
                            small = None
                        w.write(batch)
                    if batch.column("end_period_ts").null_count:
                        ctx.untimed(batch.column("end_period_ts").null_count)
                    top = ts_bounds(batch.column("end_period_ts"))[1]
                    if top is not None and (newest is None or top > newest):
                        newest = top
                ctx.page_done(len(candles), batch.num_rows if batch is not None else 0, batch)
                last = max(
                    (c.get("end_period_ts") for c in candles if isinstance(c.get("end_period_ts"), int)),
                    default=None,
                )
                if not final and _reached_now(now, b, last, interval):
                    break  # an open market's candles stop at the exchange's "now": later chunks are empty
                a = b + timedelta(seconds=1)
            files = w.finish() if w is not None else []
        except BaseException:
            if w is not None:
                w.abort()
            raise
        finally:
            ctx.retire(conv)
        state = {
            **st,
            "watermark": iso(newest),
            "complete": bool(final and sel.until is None),
            "last_run_id": ctx.run_id,
        }
        if w is None:
            shared.add(key, small, state)
        else:
            ctx.committed(ctx.book.commit(files, partitions={key: state}))

    shared = _SharedCandles(ctx)
    try:
        R._run_all(ctx, one, jobs)
    finally:
        shared.close()
