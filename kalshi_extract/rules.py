"""The incremental rules (time, state, snapshot, candles) that turn API pages into lake commits.

See :mod:`kalshi_extract.streams` for what each rule promises. Shared mechanics:

- every page is converted column-wise (:mod:`kalshi_extract.convert`) and streamed to a rolling
  :class:`~kalshi_extract.lake.StreamWriter` (memory stays flat);
- *time* streams commit rolled files as they go (without moving the watermark) and the watermark with the last
  files of a partition; after a crash the re-run pulls the same window again and drops every row whose key is
  already in the lake, so the lake holds each row once;
- *state* and *snapshot* streams commit their files and state in one commit at the end (all or nothing).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kalshi_extract.arrowfast import all_true, bool_scalar, str_array, ts_scalar
from kalshi_extract.convert import _json_default
from kalshi_extract.errors import KalshiApiError, NotFoundError, PaginationError
from kalshi_extract.shapes import flatten_candle, orderbook_rows, series_of
from kalshi_extract.state import iso, parse_iso, to_micros, ts_bounds

__all__ = ["RULES"]

PAGE_LIMIT = 1000
CHECKPOINT_PAGES = 100  # a long slice commits its files and cursor every this many pages (resume point)
TICKER_CHUNK = 100
FINAL_STATUSES = frozenset({"finalized", "settled", "determined", "amended", "closed", "disputed"})
# orders change state (resting → executed/canceled): a row per observed state, keyed by id + state fields
DEDUP = {"orders": ("order_id", "status", "fill_count_fp", "remaining_count_fp", "last_update_time")}
DEDUP_ALL = frozenset({"orders", "settlements"})  # small streams: de-duplicate against the whole stream


def _run_all(ctx, fn: Callable, jobs: list) -> list:
    """Run ``fn(job)`` for every job on the context's thread pool; re-raise the first failure."""
    if len(jobs) <= 1 or ctx.concurrency == 1:
        return [fn(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=min(ctx.concurrency, len(jobs)), thread_name_prefix="pull") as pool:
        futures = [pool.submit(fn, j) for j in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
        return [f.result() for f in futures]


def _secs(value: datetime, up: bool = False) -> int:
    ts = value.timestamp()
    return math.ceil(ts) if up else math.floor(ts)


def _content_hash(item: dict) -> str:
    raw = orjson.dumps(item, default=_json_default, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _chunks(values: list, n: int) -> Iterable[list]:
    for i in range(0, len(values), n):
        yield values[i : i + n]


# --------------------------------------------------------------------------------------------------------------
# market resolution (series / events → tickers), shared by time, snapshot and candle streams
# --------------------------------------------------------------------------------------------------------------
def _scopes(sel) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for s in sel.series or ():
        out.append((f"series={s}", {"series_ticker": s}))
    for e in sel.events or ():
        out.append((f"event={e}", {"event_ticker": e}))
    for chunk in _chunks(sorted(sel.tickers or ()), TICKER_CHUNK):
        out.append((f"tickers={','.join(chunk)}", {"tickers": ",".join(chunk)}))
    return out


def resolve_markets(ctx, historical: bool = True, status: str | None = None) -> dict[str, dict]:
    """Markets of the selection's scopes: ticker → {event_ticker, status, close_time} (live, then historical)."""
    out: dict[str, dict] = {}
    lock = threading.Lock()
    scopes = _scopes(ctx.selection) or [("all", {})]
    jobs = []
    for _, params in scopes:
        q = {**params, "limit": PAGE_LIMIT, "mve_filter": "exclude"}
        if status:
            q["status"] = status
        jobs.append(("/markets", q))
        if historical and not status:
            jobs.append(("/historical/markets", {**params, "limit": PAGE_LIMIT, "mve_filter": "exclude"}))

    def fetch(job):
        path, q = job
        for page in ctx.client.paginate(path, q, data_key="markets"):
            with lock:
                for m in page.items:
                    t = m.get("ticker")
                    if t and t not in out:
                        out[t] = {
                            "event_ticker": m.get("event_ticker"),
                            "status": m.get("status"),
                            "close_time": m.get("close_time"),
                            "open_time": m.get("open_time"),
                            "historical": path.startswith("/historical"),
                        }

    _run_all(ctx, fetch, jobs)
    for t in ctx.selection.tickers or ():
        out.setdefault(
            t,
            {
                "event_ticker": None,
                "status": None,
                "close_time": None,
                "open_time": None,
                "historical": False,
            },
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# time rule
# --------------------------------------------------------------------------------------------------------------
def _time_expr(batch: pa.RecordBatch, sdef) -> pa.Array:
    col = batch.column(sdef.time_column)
    if sdef.name == "fills" and col.null_count:
        col = pc.coalesce(col, batch.column("ts"))
    return col


def _keys(batch, cols: tuple[str, ...]) -> pa.Array:
    if len(cols) == 1:
        return batch.column(cols[0])
    parts = [pc.cast(batch.column(c), pa.string()) for c in cols]
    return pc.binary_join_element_wise(*parts, "|", null_handling="replace", null_replacement="")


class _TimeJob:
    def __init__(self, key: str, params: dict, ticker: str | None, final: bool = False, alone: bool = False):
        self.key, self.params, self.ticker, self.final = key, params, ticker, final
        self.alone = alone  # the only partition of the run: its slices may run concurrently


def _slices(
    ctx, a: datetime | None, b: datetime | None, prev_cut: datetime | None = None
) -> list[tuple[str, datetime | None, datetime | None]]:
    """Split [a, b) at the historical cutoff: older part from /historical/*, the rest live.

    ``prev_cut`` is the cutoff of the partition's previous complete run: everything older was read from the
    archive then (archived data does not change), so the historical part starts there.
    """
    sdef = ctx.sdef
    cut = ctx.cutoff_time(sdef.cutoff_key) if sdef.historical_path else None
    if cut is None:
        return [(sdef.path, a, b)]
    out = []
    ha = a if prev_cut is None or (a is not None and a >= prev_cut) else prev_cut
    if ha is None or ha < cut:
        end = cut if b is None or b > cut else b
        if ha is None or ha < end:
            out.append((sdef.historical_path, ha, end))
    if b is None or b > cut:
        start = cut if a is None or a < cut else a
        out.append((sdef.path, start, b))
    return out


class _Landed:
    """Keys already in the lake, indexed by event time: a page is checked only against keys of its own time span
    (so a re-run after a crash compares each page with a few thousand keys, not with millions)."""

    def __init__(self, keys: pa.Array, times: pa.Array | None):
        self.all = None
        if times is None:
            self.all = pc.unique(keys)
            return
        valid = pc.is_valid(times)
        self.nulls = keys.filter(pc.invert(valid))
        t = times.filter(valid).cast(pa.int64())
        order = pc.sort_indices(t)
        self.keys = keys.filter(valid).take(order)
        t = t.take(order)
        # straight from the buffer: Array.to_numpy would import pandas (see arrowfast)
        self.t = np.frombuffer(t.buffers()[1], dtype=np.int64, count=len(t), offset=t.offset * 8)

    def fresh(self, keys: pa.Array, times: pa.Array | None) -> pa.Array:
        """True where a key is not in the lake yet."""
        if self.all is not None or times is None:
            cand = self.all if self.all is not None else pa.concat_arrays([self.keys, self.nulls])
        else:
            mm = pc.min_max(times.cast(pa.int64())).as_py()
            if mm["min"] is None:
                cand = pa.concat_arrays([self.keys, self.nulls])
            else:
                i0 = int(np.searchsorted(self.t, mm["min"], "left"))
                i1 = int(np.searchsorted(self.t, mm["max"], "right"))
                cand = pa.concat_arrays([self.keys.slice(i0, i1 - i0), self.nulls])
        if len(cand) == 0:
            return all_true(len(keys))
        return pc.invert(pc.is_in(keys, value_set=cand.cast(keys.type)))


def _load_landed(ctx, windows: dict[str, datetime | None], tickers: dict[str, str | None]) -> dict:
    """One scan of the stream for every partition's window → {partition key: _Landed}."""
    if not windows:
        return {}
    sdef = ctx.sdef
    cols = DEDUP.get(sdef.name, sdef.primary_key)
    by_time = sdef.name not in DEDUP_ALL
    los = list(windows.values())
    lo = None if any(x is None for x in los) else min(los)
    wanted = sorted({t for t in tickers.values() if t is not None})
    names = list(dict.fromkeys([*cols, sdef.time_column, *(["ticker"] if wanted else [])]))
    min_date = (lo - timedelta(days=1)).strftime("%Y-%m-%d") if lo is not None and by_time else None
    table = ctx.lake.scan(sdef.name, names, min_date)
    if table is None or table.num_rows == 0:
        return {}
    if wanted:
        known = str_array(wanted)
        table = table.filter(pc.is_in(table.column("ticker"), value_set=known))
    groups: dict[str | None, pa.Table] = {}
    if wanted:
        table = table.sort_by("ticker")
        values = table.column("ticker").to_pylist()
        start = 0
        for i in range(1, len(values) + 1):
            if i == len(values) or values[i] != values[start]:
                groups[values[start]] = table.slice(start, i - start)
                start = i
    out = {}
    for key, win_lo in windows.items():
        part = groups.get(tickers[key]) if wanted else table
        if part is None or part.num_rows == 0:
            continue
        if win_lo is not None and by_time:
            col = part.column(sdef.time_column)
            keep = pc.fill_null(
                pc.greater_equal(col, ts_scalar(to_micros(win_lo), col.type)), bool_scalar(True)
            )
            part = part.filter(keep)
        if part.num_rows:
            keys = _keys(part, cols)
            times = part.column(sdef.time_column) if by_time else None
            out[key] = _Landed(
                keys.combine_chunks() if hasattr(keys, "combine_chunks") else keys,
                times.combine_chunks() if times is not None else None,
            )
    return out


def _window(ctx, st: dict) -> tuple[list, datetime | None, datetime | None]:
    """(ranges to pull, the new "from" of the partition, the lowest time pulled) for a partition's state."""
    sdef, sel = ctx.sdef, ctx.selection
    wm = parse_iso(st.get("watermark"))
    first_run = not st
    covered_from = parse_iso(st.get("from")) if not first_run else None
    overlap = timedelta(seconds=sdef.overlap_seconds)
    if first_run:
        new_from = sel.since
    elif covered_from is None or sel.since is None:
        new_from = None
    else:
        new_from = min(sel.since, covered_from)
    if wm is None:
        ranges = [(new_from, sel.until)]
    else:
        lo = wm - overlap
        if sel.since and sel.since > lo:
            lo = sel.since
        ranges = [(lo, sel.until)]
        # a wider window than before: also pull what lies before the earlier runs' start
        if covered_from is not None and (sel.since is None or sel.since < covered_from):
            ranges.append((sel.since, covered_from + overlap))
    window_lo = None if any(r[0] is None for r in ranges) else min(r[0] for r in ranges)
    return ranges, new_from, window_lo


def _time_partition(ctx, landed_by_key: dict, job: _TimeJob) -> None:
    sdef, sel = ctx.sdef, ctx.selection
    st = ctx.book.partition(job.key)
    wm = parse_iso(st.get("watermark"))
    ranges, new_from, _ = _window(ctx, st)
    landed: _Landed | None = landed_by_key.get(job.key)
    written: set | None = set() if sdef.name in DEDUP_ALL else None
    dedup_cols = DEDUP.get(sdef.name, sdef.primary_key)
    lock = threading.Lock()
    lanes: list = []  # (converter, writer) per concurrently pulled slice
    new_wm = wm
    seen_status: dict[str, str] = {}

    def new_lane():
        lane = (ctx.converter(), ctx.lake.writer(sdef.name, ctx.run_id, ctx.schema, sdef.date_column))
        with lock:
            lanes.append(lane)
        return lane

    def land(lane, items: list[dict], a, b, live: bool) -> None:
        nonlocal new_wm
        conv, w = lane
        if not items:
            ctx.page_done(0, 0)
            return
        batch = conv.convert(items)
        mask = None
        if a is not None or b is not None:
            t = _time_expr(batch, sdef)
            if a is not None:
                mask = pc.greater_equal(t, ts_scalar(to_micros(a), t.type))
            if b is not None:
                m2 = pc.less(t, ts_scalar(to_micros(b), t.type))
                mask = m2 if mask is None else pc.and_(mask, m2)
            mask = pc.fill_null(mask, bool_scalar(live))
        if landed is not None or written:
            keys = _keys(batch, dedup_cols)
            times = _time_expr(batch, sdef) if sdef.name not in DEDUP_ALL else None
            fresh = landed.fresh(keys, times) if landed is not None else None
            if written:
                known = str_array(list(written)) if pa.types.is_string(keys.type) else None
                known = known if known is not None else pa.array(list(written), keys.type)
                mine = pc.invert(pc.is_in(keys, value_set=known))
                fresh = mine if fresh is None else pc.and_(fresh, mine)
            mask = fresh if mask is None else pc.and_(mask, fresh)
        if mask is not None:
            batch = batch.filter(mask)
        if written is not None and batch.num_rows:
            written.update(_keys(batch, dedup_cols).to_pylist())
        if sdef.name == "orders":
            for oid, status in zip(
                batch.column("order_id").to_pylist(), batch.column("status").to_pylist(), strict=True
            ):
                seen_status[oid] = status
        if batch.num_rows:
            w.write(batch)
            top = ts_bounds(_time_expr(batch, sdef))[1]
            with lock:
                if top is not None and (new_wm is None or top > new_wm):
                    new_wm = top
        ctx.page_done(len(items), batch.num_rows, batch)
        ready = w.take_ready()
        if ready:
            ctx.committed(ctx.book.commit(ready))

    old_resume = st.get("resume") or {}
    resume: dict = {}  # slice id → {"cursor", "max_seen"} at the last checkpoint of this run

    def checkpoint(lane, slice_id: str, cursor: str | None) -> None:
        """Close the lane's files and commit them with the slice's cursor (the watermark does not move)."""
        nonlocal new_wm
        files = lane[1].finish()
        with lock:
            resume[slice_id] = {"cursor": cursor, "max_seen": iso(new_wm)}
            partial = {**st, "resume": {**old_resume, **resume}}
        ctx.committed(ctx.book.commit(files, partitions={job.key: partial}))

    def pull_slice(sl) -> None:
        nonlocal new_wm
        path, a, b = sl
        lane = new_lane()
        q = {**job.params, "limit": PAGE_LIMIT}
        if a is not None:
            q["min_ts"] = max(_secs(a) - 1, 0)
        if b is not None:
            q["max_ts"] = _secs(b, up=True) + 1
        slice_id = f"{path}|{iso(a)}|{iso(b)}"
        saved = old_resume.get(slice_id) or {}
        cursor = saved.get("cursor")
        if cursor:  # a killed run got this far: continue after its last checkpoint
            seen = parse_iso(saved.get("max_seen"))
            with lock:
                if seen is not None and (new_wm is None or seen > new_wm):
                    new_wm = seen
        pages = 0
        try:
            for page in ctx.client.paginate(path, q, data_key=sdef.data_key, cursor=cursor):
                land(lane, ctx.items(page), a, b, path == sdef.path)
                pages += 1
                if page.cursor and pages % CHECKPOINT_PAGES == 0:
                    checkpoint(lane, slice_id, page.cursor)
        except (KalshiApiError, PaginationError):
            if not cursor or pages:
                raise
            # the saved cursor is no longer accepted: pull the slice from its start (rows are de-duplicated)
            for page in ctx.client.paginate(path, q, data_key=sdef.data_key):
                land(lane, ctx.items(page), a, b, path == sdef.path)

    prev_cut = parse_iso(st.get("cutoff")) if len(ranges) == 1 else None
    slices = [sl for lo_r, hi_r in ranges for sl in _slices(ctx, lo_r, hi_r, prev_cut)]
    try:
        if job.alone and written is None and sdef.name != "orders":
            _run_all(ctx, pull_slice, slices)  # disjoint time slices, pulled concurrently
        else:
            for sl in slices:
                pull_slice(sl)
        resting = st.get("resting", [])
        if sdef.name == "orders":
            lane = new_lane()
            resting = _orders_recheck(ctx, job, st, lambda *args: land(lane, *args), seen_status)
        files = [f for _, w in lanes for f in w.finish()]
    except BaseException:
        for _, w in lanes:
            w.abort()
        raise
    finally:
        for conv, _ in lanes:
            ctx.retire(conv)
    state = {
        **st,
        "watermark": iso(new_wm) if new_wm else st.get("watermark"),
        "runs": st.get("runs", 0) + 1,
        "last_run_id": ctx.run_id,
        "from": iso(new_from),
        "cutoff": st.get("cutoff"),
    }
    state.pop("resume", None)  # the partition is complete: no slice to resume
    cut = ctx.cutoff_time(sdef.cutoff_key) if sdef.historical_path else None
    if cut is not None and (sel.until is None or sel.until >= cut):
        state["cutoff"] = iso(cut)  # the archive before this cutoff has been read in full
    if sdef.name == "orders":
        state["resting"] = resting
    if job.final and sel.until is None:
        state["closed"] = True  # the market no longer trades and everything up to now is landed
    ctx.committed(ctx.book.commit(files, partitions={job.key: state}))


def _orders_recheck(ctx, job, st, land, seen_status: dict) -> list[str]:
    """Land the current state of every resting order and of orders that were resting at the previous run."""
    for page in ctx.client.paginate(
        ctx.sdef.path, {**job.params, "status": "resting", "limit": PAGE_LIMIT}, data_key="orders"
    ):
        land(ctx.items(page), None, None, True)
    for oid in st.get("resting", []):
        if oid in seen_status:
            continue
        try:
            data = ctx.client.get(f"/portfolio/orders/{oid}")
        except NotFoundError:
            continue
        order = data.get("order") if isinstance(data, dict) else None
        if order:
            land([order], None, None, True)
    return sorted(oid for oid, status in seen_status.items() if status == "resting")


def run_time(ctx) -> None:
    sdef, sel = ctx.sdef, ctx.selection
    if sel.narrowed:
        markets = resolve_markets(ctx)
        jobs = []
        for ticker, info in sorted(markets.items()):
            key = f"ticker={ticker}"
            if sdef.name in ("trades", "fills"):
                if ctx.book.partition(key).get("closed"):
                    continue  # the market closed and everything was landed after it closed: no request needed
            final = info.get("status") in FINAL_STATUSES
            jobs.append(_TimeJob(key, {"ticker": ticker}, ticker, final))
    else:
        jobs = [_TimeJob("all", {}, None, alone=True)]
    ctx.partitions = len(jobs)
    windows = {job.key: _window(ctx, ctx.book.partition(job.key))[2] for job in jobs}
    landed = _load_landed(ctx, windows, {job.key: job.ticker for job in jobs})
    _run_all(ctx, lambda job: _time_partition(ctx, landed, job), jobs)


# --------------------------------------------------------------------------------------------------------------
# state rule (series, events, markets): a row per observed state
# --------------------------------------------------------------------------------------------------------------
def _state_queries(ctx) -> list[tuple[str, str, dict, str, bool]]:
    """(scope key, path, params, data key, is_object) for the stream and selection."""
    name, sel = ctx.sdef.name, ctx.selection
    out = []
    if name == "series":
        if sel.series:
            out += [(f"series={s}", f"/series/{s}", {}, "series", True) for s in sel.series]
        if sel.events or sel.tickers or not sel.series:
            if sel.events or sel.tickers:
                wanted = sorted(
                    {series_of(e, e) for e in (sel.events or ())}
                    | {series_of(None, t) for t in (sel.tickers or ())}
                )
                out += [(f"series={s}", f"/series/{s}", {}, "series", True) for s in wanted]
            else:
                out.append(("all", "/series", {}, "series", False))
    elif name == "events":
        if not sel.narrowed:
            out.append(("all", "/events", {"limit": 200}, "events", False))
        for s in sel.series or ():
            out.append((f"series={s}", "/events", {"series_ticker": s, "limit": 200}, "events", False))
        events = set(sel.events or ()) | {t.rsplit("-", 1)[0] for t in sel.tickers or ()}
        out += [(f"event={e}", f"/events/{e}", {}, "event", True) for e in sorted(events)]
    else:  # markets
        for key, params in _scopes(sel) or [("all", {})]:
            out.append(
                (key, "/markets", {**params, "limit": PAGE_LIMIT, "mve_filter": "exclude"}, "markets", False)
            )
    return out


def run_state(ctx) -> None:
    sdef = ctx.sdef
    pk = sdef.primary_key[0]
    queries = _state_queries(ctx)
    meta_updates: dict = {}
    if sdef.name == "markets":
        cut = ctx.cutoff().get(sdef.cutoff_key)
        seen_cut = ctx.book.meta("historical_cutoff", {})
        for key, _path, params, data_key, is_obj in list(queries):
            if seen_cut.get(key) != cut:  # first run of this scope, or the cutoff moved
                hist = {k: v for k, v in params.items() if k != "limit"}
                queries.append((key, sdef.historical_path, {**hist, "limit": PAGE_LIMIT}, data_key, is_obj))
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
                h = _content_hash(item)
                if key is None:
                    keep.append(item)
                    continue
                if pending.get(key, ctx.book.hash_of(key)) == h:
                    continue
                pending[key] = h
                keep.append(item)
        return keep

    def one(query) -> None:
        _, path, params, data_key, is_obj = query
        conv = ctx.converter()
        w = ctx.lake.writer(sdef.name, ctx.run_id, ctx.schema, sdef.date_column)
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
                keep = fresh(items)
                batch = conv.convert(keep) if keep else None
                if batch is not None:
                    w.write(batch)
                ctx.page_done(len(items), len(keep), batch)
        finally:
            ctx.retire(conv)

    try:
        _run_all(ctx, one, queries)
        files = [f for w in writers for f in w.finish()]
    except BaseException:
        for w in writers:
            w.abort()
        raise
    ctx.committed(ctx.book.commit(files, hashes=pending, meta=meta_updates or None))


# --------------------------------------------------------------------------------------------------------------
# snapshot rule (positions, balance, exchange_status, orderbook_snapshots)
# --------------------------------------------------------------------------------------------------------------
def _snapshot_items(ctx, snapshot_ts: str) -> Iterable[list[dict]]:
    name, sel = ctx.sdef.name, ctx.selection
    if name in ("balance", "exchange_status"):
        data = ctx.client.get(ctx.sdef.path)
        yield [{**(data or {}), "snapshot_ts": snapshot_ts}]
        return
    if name == "positions":
        scopes = [{"ticker": t} for t in sel.tickers or ()] + [{"event_ticker": e} for e in sel.events or ()]
        if sel.series:
            tickers = sorted(t for t, m in resolve_markets(ctx, historical=False).items())
            scopes += [{"ticker": t} for t in tickers if {"ticker": t} not in scopes]
        for params in scopes or [{}]:
            for page in ctx.client.paginate(
                ctx.sdef.path, {**params, "limit": PAGE_LIMIT}, data_key="market_positions"
            ):
                yield [{**item, "snapshot_ts": snapshot_ts} for item in ctx.items(page)]
        return
    # order books of the selected (or all open) markets, 100 tickers per request
    if sel.tickers and not (sel.series or sel.events):
        tickers = sorted(sel.tickers)
    else:
        tickers = sorted(t for t, m in resolve_markets(ctx, historical=False, status="open").items())
    for chunk in _chunks(tickers, TICKER_CHUNK):
        books = ctx.client.get_orderbooks(chunk)
        rows: list[dict] = []
        for entry in books:
            rows += orderbook_rows(
                entry.get("ticker") or entry.get("market_ticker"), entry.get("orderbook_fp"), snapshot_ts
            )
        yield rows


def run_snapshot(ctx) -> None:
    snapshot_ts = iso(ctx.loaded_at)
    ctx.partitions = 1
    conv = ctx.converter()
    w = ctx.lake.writer(ctx.sdef.name, ctx.run_id, ctx.schema, ctx.sdef.date_column)
    try:
        for items in _snapshot_items(ctx, snapshot_ts):
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
    ctx.committed(ctx.book.commit(files, meta={"last_snapshot": snapshot_ts, "last_run_id": ctx.run_id}))


# --------------------------------------------------------------------------------------------------------------
# candles rule
# --------------------------------------------------------------------------------------------------------------
def run_candles(ctx) -> None:
    sel = ctx.selection
    interval = sel.candle_interval
    markets = resolve_markets(ctx)
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
        start = wm + timedelta(seconds=1) if wm else (sel.since or parse_iso(info.get("open_time")))
        close = parse_iso(info.get("close_time"))
        end = sel.until or close
        final = info.get("status") in FINAL_STATUSES
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
            path = ctx.sdef.historical_path.format(ticker=ticker)
        else:
            path = ctx.sdef.path.format(series_ticker=series, ticker=ticker)
        conv = ctx.converter()
        w = ctx.lake.writer(ctx.sdef.name, ctx.run_id, ctx.schema, ctx.sdef.date_column)
        newest = wm
        try:
            a = start
            while a < end:  # ≤ 5000 candles per request
                b = min(end, a + 4999 * step)
                data = ctx.client.get(
                    path, {"start_ts": _secs(a), "end_ts": _secs(b, up=True), "period_interval": interval}
                )
                candles = (data or {}).get("candlesticks") or []
                rows = [flatten_candle(c, ticker, series, interval) for c in candles]
                rows = [r for r in rows if r.get("end_period_ts") is not None]
                rows.sort(key=lambda r: r["end_period_ts"])
                if rows and not final:
                    rows = rows[:-1]  # the newest candle of an open market may still be forming
                batch = conv.convert(rows) if rows else None
                if batch is not None:
                    if wm is not None:
                        batch = batch.filter(
                            pc.greater(
                                batch.column("end_period_ts"),
                                ts_scalar(to_micros(wm), batch.column("end_period_ts").type),
                            )
                        )
                    w.write(batch)
                    top = ts_bounds(batch.column("end_period_ts"))[1]
                    if top is not None and (newest is None or top > newest):
                        newest = top
                ctx.page_done(len(candles), batch.num_rows if batch is not None else 0, batch)
                last = max(
                    (c.get("end_period_ts") for c in candles if isinstance(c.get("end_period_ts"), int)),
                    default=None,
                )
                if not final and (last is None or last < _secs(b) - interval * 60):
                    break  # an open market's candles stop at the exchange's "now": later chunks are empty
                a = b + timedelta(seconds=1)
            files = w.finish()
        except BaseException:
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
        ctx.committed(ctx.book.commit(files, partitions={key: state}))

    _run_all(ctx, one, jobs)


RULES: dict[str, Callable] = {
    "time": run_time,
    "state": run_state,
    "snapshot": run_snapshot,
    "candles": run_candles,
}
