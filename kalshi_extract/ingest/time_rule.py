"""The *time* rule (trades, fills, orders, settlements): watermarks, cutoff routing, crash-safe de-duplication.

See :mod:`kalshi_extract.ingest.streams` for the promise and :mod:`kalshi_extract.ingest.rule_base` for the shared helpers.

A row that comes without its event time (or with one that does not parse) cannot be placed in a slice or a
window: it lands anyway, with the time null (an unreadable original kept in ``_extra``), in the partition of its
load date, is counted in ``StreamResult.rows_untimed`` / ``_runs`` and warned about once; it never moves the
watermark. De-duplication still finds it on a re-run (keys without a time are compared with every page).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kalshi_extract.api.client import is_loopback
from kalshi_extract.api.endpoints import ENDPOINTS, fill_path
from kalshi_extract.errors import KalshiApiError, KalshiLakeError, NotFoundError, PaginationError
from kalshi_extract.ingest import rule_base as R
from kalshi_extract.lake.arrowfast import all_true, bool_scalar, str_array, ts_scalar
from kalshi_extract.lake.convert import stamp_items
from kalshi_extract.lake.state import from_micros, iso, parse_iso, to_micros, ts_bounds

__all__ = ["run_time"]

_ONE_ORDER = ENDPOINTS["order"]  # re-reads one resting order by id


# --------------------------------------------------------------------------------------------------------------
# time rule
# --------------------------------------------------------------------------------------------------------------
def _time_expr(batch: pa.RecordBatch, sdef) -> pa.Array:
    col = batch.column(sdef.time_column)
    if sdef.time_fallback_column and col.null_count:
        col = pc.coalesce(col, batch.column(sdef.time_fallback_column))
    return col


def _micros_bounds(times: pa.Array) -> tuple[int | None, int | None]:
    """(min, max) Unix microseconds of a timestamp array's non-null values (None, None when there is none)."""
    mm = pc.min_max(times.cast(pa.int64()))
    return mm["min"].as_py(), mm["max"].as_py()


def _in_slice(t: pa.Array, a: datetime | None, b: datetime | None) -> pa.Array:
    """True where a row's time is in ``[a, b)``; a row without its time cannot be placed in a slice: it is kept
    (it lands with the time null, in the partition of its load date, and is reported) rather than lost."""
    mask = None
    if a is not None:
        mask = pc.greater_equal(t, ts_scalar(to_micros(a), t.type))
    if b is not None:
        m2 = pc.less(t, ts_scalar(to_micros(b), t.type))
        mask = m2 if mask is None else pc.and_(mask, m2)
    return pc.fill_null(mask, bool_scalar(True)) if t.null_count else mask


def _keys(batch, cols: tuple[str, ...]) -> pa.Array:
    if len(cols) == 1:
        return batch.column(cols[0])
    parts = [pc.cast(batch.column(c), pa.string()) for c in cols]
    return pc.binary_join_element_wise(*parts, "|", null_handling="replace", null_replacement="")


def _cpu_bound(ctx) -> bool:
    """True when nothing paces the requests (tier ``unlimited``) and the server is this machine (loopback).

    Then there is no waiting to overlap: every page is work for this process, and Python threads pulling the
    historical and live slices side by side only contend for the GIL: one slice after the other costs less CPU
    and one lane of buffers instead of two, at the same wall time (figures in BENCHMARKS.md). Against Kalshi
    (network latency, a rate limit) the slices still run concurrently.
    """
    client = ctx.client
    try:
        unlimited = bool(getattr(client.pacer, "unlimited", False))
    except (AttributeError, KalshiLakeError):
        return False
    base = getattr(client, "base_url", None)
    return unlimited and isinstance(base, str) and is_loopback(base)


class _TimeJob:
    def __init__(
        self,
        key: str,
        params: dict,
        ticker: str | None,
        final: bool = False,
        alone: bool = False,
        stamp: dict | None = None,
    ):
        self.key, self.params, self.ticker, self.final = key, params, ticker, final
        self.alone = alone  # the only partition of the run: its slices may run concurrently
        self.stamp = stamp or {}  # fields set on every row (per_subaccount streams: subaccount_number)

    def per_subaccount(self, q: dict, stamp: dict) -> _TimeJob:
        """This job for one subaccount. Subaccount 0 keeps the partition key (its watermark predates subaccounts:
        those rows were read without ``subaccount``), others get ``<key>|subaccount=n``."""
        n = stamp.get("subaccount_number")
        key = self.key if not n else f"{self.key}|subaccount={n}"
        return _TimeJob(
            key, {**self.params, **q}, self.ticker, self.final, self.alone, {**self.stamp, **stamp}
        )


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
    if sdef.archived_by_last_update:
        # a row created before the cutoff but changed after it is only on the live endpoint: live spans [a, b)
        out.append((sdef.path, a, b))
    elif b is None or b > cut:
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
    cols = sdef.dedup_key
    by_time = sdef.dedup_scope == "window"
    los = list(windows.values())
    lo = None if any(x is None for x in los) else min(los)
    wanted = sorted({t for t in tickers.values() if t is not None})
    mine = ctx.account is not None  # a private stream: only this account's rows count as landed
    names = list(
        dict.fromkeys(
            [*cols, sdef.time_column, *(["ticker"] if wanted else []), *(["_account"] if mine else [])]
        )
    )
    min_date = (lo - timedelta(days=1)).strftime("%Y-%m-%d") if lo is not None and by_time else None
    table = ctx.lake.scan(sdef.name, names, min_date)
    if table is None or table.num_rows == 0:
        return {}
    if mine:
        table = table.filter(
            pc.fill_null(pc.equal(table.column("_account"), ctx.account), bool_scalar(False))
        )
        if table.num_rows == 0:
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
    by_time = sdef.dedup_scope == "window"
    written: set | None = None if by_time else set()  # keys landed by this run (stream-wide de-duplication)
    dedup_cols = sdef.dedup_key
    lock = threading.Lock()
    lanes: list = []  # (converter, writer) per concurrently pulled slice
    new_wm = wm
    seen_status: dict[str, str] = {}

    def new_lane():
        writer = ctx.writer(max_open=sdef.open_days)
        lane = (ctx.converter(), writer)
        with lock:
            lanes.append(lane)
        return lane

    def land(lane, items: list[dict], a, b, live: bool) -> None:
        nonlocal new_wm
        conv, w = lane
        if not items:
            ctx.page_done(0, 0)
            return
        if job.stamp:
            items = stamp_items(items, job.stamp)  # dicts, or a page decoded column-wise
        batch = conv.convert(items)
        t = _time_expr(batch, sdef)
        lo_us, hi_us = _micros_bounds(t)
        mask = None
        if (a is not None and lo_us is not None and lo_us < to_micros(a)) or (
            b is not None and hi_us is not None and hi_us >= to_micros(b)
        ):  # some rows lie outside the slice (the usual page lies inside: no mask, no copy)
            mask = _in_slice(t, a, b)
            lo_us, hi_us = _micros_bounds(t.filter(mask))
        # the newest time of the window's rows, those already in the lake too: after a killed run landed the
        # newest pages, the re-run finds them landed and the watermark must still reach them
        window_top = from_micros(hi_us)
        if window_top is not None:
            with lock:
                if new_wm is None or window_top > new_wm:
                    new_wm = window_top
        kept = mask is None  # (lo_us, hi_us) are the bounds of the rows written
        if landed is not None or written:
            keys = _keys(batch, dedup_cols)
            times = _time_expr(batch, sdef) if by_time else None
            fresh = landed.fresh(keys, times) if landed is not None else None
            if written:
                known = str_array(list(written)) if pa.types.is_string(keys.type) else None
                known = known if known is not None else pa.array(list(written), keys.type)
                mine = pc.invert(pc.is_in(keys, value_set=known))
                fresh = mine if fresh is None else pc.and_(fresh, mine)
            mask = fresh if mask is None else pc.and_(mask, fresh)
        if mask is not None and not pc.all(mask).as_py():  # all rows kept (the usual case): no copy
            batch = batch.filter(mask)
            kept = False
        if written is not None and batch.num_rows:
            written.update(_keys(batch, dedup_cols).to_pylist())
        if sdef.recheck_resting:
            for oid, status in zip(
                batch.column("order_id").to_pylist(), batch.column("status").to_pylist(), strict=True
            ):
                seen_status[oid] = status
        if batch.num_rows:
            w.write(batch)
            times = t if kept else _time_expr(batch, sdef)
            if times.null_count:
                ctx.untimed(times.null_count)
            bounds = (from_micros(lo_us), from_micros(hi_us)) if kept else ts_bounds(times)
        else:
            bounds = None
        ctx.page_done(len(items), batch.num_rows, batch, bounds)
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
        q = {**job.params, "limit": R.PAGE_LIMIT}
        if a is not None:
            q["min_ts"] = max(R._secs(a) - 1, 0)
        if b is not None:
            q["max_ts"] = R._secs(b, up=True) + 1
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
            for page in ctx.paginate(path, q, cursor=cursor):
                land(lane, ctx.items(page), a, b, path == sdef.path)
                pages += 1
                if page.cursor and pages % R.CHECKPOINT_PAGES == 0:
                    checkpoint(lane, slice_id, page.cursor)
        except (KalshiApiError, PaginationError):
            if not cursor or pages:
                raise
            # the saved cursor is no longer accepted: pull the slice from its start (rows are de-duplicated)
            for page in ctx.paginate(path, q):
                land(lane, ctx.items(page), a, b, path == sdef.path)

    prev_cut = parse_iso(st.get("cutoff")) if len(ranges) == 1 else None
    slices = [sl for lo_r, hi_r in ranges for sl in _slices(ctx, lo_r, hi_r, prev_cut)]
    try:
        if job.alone and written is None and not sdef.archived_by_last_update and not _cpu_bound(ctx):
            R._run_all(ctx, pull_slice, slices)  # disjoint time slices, pulled concurrently
        else:
            for sl in slices:
                pull_slice(sl)
        resting = st.get("resting", [])
        if sdef.recheck_resting:
            lane = new_lane()
            resting = _recheck_resting(ctx, job, st, lambda *args: land(lane, *args), seen_status)
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
    if sdef.recheck_resting:
        state["resting"] = resting
    if job.final and sel.until is None:
        state["closed"] = True  # the market no longer trades and everything up to now is landed
    ctx.committed(ctx.book.commit(files, partitions={job.key: state}))


def _recheck_resting(ctx, job, st, land, seen_status: dict) -> list[str]:
    """Land the current state of orders that were resting at the previous run (they may have filled or been
    canceled since, outside the time window). Nothing to re-check when none was resting: every order created
    since is inside the window, so a no-change run stays at two requests."""
    if not st.get("resting"):
        return sorted(oid for oid, status in seen_status.items() if status == "resting")
    for page in ctx.client.paginate(
        ctx.sdef.path, {**job.params, "status": "resting", "limit": R.PAGE_LIMIT}, data_key=ctx.sdef.data_key
    ):
        land(ctx.items(page), None, None, True)
    for oid in st.get("resting", []):
        if oid in seen_status:
            continue
        try:
            data = ctx.client.get(fill_path(_ONE_ORDER.path, order_id=oid))
        except NotFoundError:
            continue
        order = data.get(_ONE_ORDER.object_key) if isinstance(data, dict) else None
        if order:
            land([order], None, None, True)
    return sorted(oid for oid, status in seen_status.items() if status == "resting")


def run_time(ctx) -> None:
    sdef, sel = ctx.sdef, ctx.selection
    if sel.narrowed:
        markets = R.resolve_markets(ctx)
        jobs = []
        for ticker, info in sorted(markets.items()):
            key = f"ticker={ticker}"
            if sdef.ends_at_market_close and ctx.book.partition(key).get("closed"):
                continue  # the market closed and everything was landed after it closed: no request needed
            final = info.get("status") in R.FINAL_STATUSES
            jobs.append(_TimeJob(key, {"ticker": ticker}, ticker, final))
    else:
        jobs = [_TimeJob("all", {}, None, alone=True)]
    if sdef.per_subaccount:
        subs = R.subaccount_scopes(ctx)
        jobs = [job.per_subaccount(q, stamp) for job in jobs for q, stamp in subs]
        if len(jobs) > 1:
            for job in jobs:
                job.alone = False
    ctx.partitions = len(jobs)
    windows = {job.key: _window(ctx, ctx.book.partition(job.key))[2] for job in jobs}
    landed = _load_landed(ctx, windows, {job.key: job.ticker for job in jobs})
    R._run_all(ctx, lambda job: _time_partition(ctx, landed, job), jobs)
