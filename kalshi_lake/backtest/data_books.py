"""Load the quote sources beyond trades and REST books: the recorded WebSocket book, the recorder's coverage log
and the markets rows' bid/ask (see ``quotes.py`` for how each is used).

* ``ws_book`` (grain: one row per level of a snapshot, one per delta; a snapshot's rows share
  ``(connection_id, sid, seq)``; an empty snapshot is one row with null side/price/quantity) → messages
  ``(ts, market, ("snapshot", conn, yes_levels, no_levels))`` and ``(ts, market, ("delta", conn, side, price,
  change))`` on the exchange's clock (below); in time, then connection, sid and seq order. A book enters the
  replay with its first snapshot inside the window.
* ``ws_coverage`` → ``(at, market or -1, conn, event, received)`` for the events that make recorded books unusable:
  ``gap`` (one ticker), ``disconnected`` (one connection), ``stopped`` (the recorder).
* ``markets`` → ``(_loaded_at, market, yes_bid, bid_size, yes_ask, ask_size)``: a pull's view of the top of
  the book, timed by when the pull saw it. Sizes are None when the row has none.

One clock, the exchange's. A delta states its ``ts``; a snapshot states none, and coverage events are timed by
this machine (``received_at``, ``at``), whose clock may be skewed or — the local exchange's — run at another rate,
so neither local time is comparable with ``ts``. Frames of one connection arrive in the order they were sent, so:
- a snapshot is placed at the ``ts`` of the first timed frame its connection received after it: it cannot have
  been sent later, and its book held until then (a change would have come as a delta in between), so it is never
  shown before it existed nor older than it is. A snapshot with no timed frame after it is left out of the replay
  (its book is unusable, not guessed). Within a subscription times are then made non-decreasing in ``seq`` order.
- a coverage event (gap, disconnect, stop) is placed at the ``ts`` of the last timed frame received before it (on
  its connection; for the recorder's stop, on any): the frames it lost were sent after that, so the book is
  distrusted from the earliest moment it may have been wrong.
"""

from __future__ import annotations

import itertools

from kalshi_lake.backtest.lakesql import stream_source, ticker_map_sql, window_sql


def load_ws_book(con, lake_root, index, start_us, end_us) -> list[tuple[int, int, tuple, int]]:
    found = stream_source(con, lake_root, "ws_book")
    if found is None:
        return []
    src, cols = found
    need = {"ticker", "kind", "side", "price_dollars", "quantity_fp", "seq", "received_at"}
    if need - cols:
        return []
    tmap = ticker_map_sql(con, index)
    conn = "connection_id" if "connection_id" in cols else "cast(null as varchar)"
    sid = "sid" if "sid" in cols else "cast(0 as bigint)"
    sql = f"""
        with frames as ({_timed_frames_sql(found, start_us, end_us)}),
        rows as (
            select epoch_us(ts) as stated, epoch_us(received_at) as local_t, m.market,
                   coalesce({conn}, '') as conn, {sid} as sid, seq, kind, side,
                   cast(price_dollars * 1000000 as bigint) as price, cast(quantity_fp * 100 as bigint) as qty
            from {src} s join {tmap} m using (ticker)
            where {_days_sql(cols, start_us, end_us)}
        ),
        untimed as (select distinct conn, local_t from rows where stated is null),
        snapshot_at as (
            select u.conn, u.local_t, f.stated as at_us
            from untimed u asof left join frames f on u.conn = f.conn and f.local_t > u.local_t
        ),
        own as (
            select r.*, coalesce(r.stated, a.at_us) as own_t
            from rows r left join snapshot_at a on r.stated is null and a.conn = r.conn and a.local_t = r.local_t
        ),
        placed as (
            select *, case when own_t is not null then max(own_t) over (
                       partition by conn, sid order by seq rows unbounded preceding) end as t
            from own
        )
        select distinct t, market, conn, sid, seq, kind, local_t, side, price, qty from placed
        where t is not null and {window_sql("make_timestamp(t)", start_us, end_us)}
        order by t, local_t, conn, sid, seq, market, side, price"""
    out: list[tuple[int, int, tuple, int]] = []
    rows = con.execute(sql).fetchall()
    for (t, mi, conn_id, _sid, _seq, kind, local_t), group in itertools.groupby(rows, key=lambda r: r[:7]):
        if kind == "snapshot":
            yes, no = [], []
            for *_k, side, price, qty in group:
                if side is not None and price is not None and qty:
                    (yes if side == "yes" else no).append((price, qty))
            out.append((t, mi, ("snapshot", conn_id, yes, no), local_t))
        elif kind == "delta":
            for *_k, side, price, qty in group:
                if side in ("yes", "no") and price is not None and qty:
                    out.append((t, mi, ("delta", conn_id, side, price, qty), local_t))
    return out


def load_ws_coverage(con, lake_root, index, start_us, end_us) -> list[tuple[int, int, str, str, int]]:
    found = stream_source(con, lake_root, "ws_coverage")
    if found is None:
        return []
    src, cols = found
    if {"at", "event"} - cols:
        return []
    ticker = "ticker" if "ticker" in cols else "cast(null as varchar)"
    conn = "connection_id" if "connection_id" in cols else "cast(null as varchar)"
    book = stream_source(con, lake_root, "ws_book")
    if book is None:  # no recorded book: nothing for these events to make unusable
        return []
    sql = f"""
        with frames as ({_timed_frames_sql(book, start_us, end_us)}),
        events as (
            select distinct epoch_us("at") as local_t, {ticker} as ticker, coalesce({conn}, '') as conn, event
            from {src} where event in ('gap', 'disconnected', 'stopped') and {_days_sql(cols, start_us, end_us)}
        ),
        on_conn as (
            select e.*, f.stated as conn_t
            from events e asof left join frames f on e.conn = f.conn and f.local_t <= e.local_t
        ),
        any_frames as (select local_t, stated from frames),
        placed as (
            select o.local_t, o.ticker, o.conn, o.event, coalesce(o.conn_t, a.stated) as t
            from on_conn o asof left join any_frames a on a.local_t <= o.local_t
        )
        select distinct t, ticker, conn, event, local_t from placed
        where t is not null and {window_sql("make_timestamp(t)", start_us, end_us)}
        order by t, local_t"""
    out = []
    for at, ticker, conn_id, event, local_t in con.execute(sql).fetchall():
        if event == "gap":
            if ticker in index:
                out.append((at, index[ticker], conn_id, event, local_t))
        else:
            out.append((at, -1, conn_id, event, local_t))
    return out


_DAY_MARGIN = (
    1  # days of partitions read either side of the window: a partition's day is an estimate for some rows
)


def _days_sql(cols: set[str], start_us: int | None, end_us: int | None) -> str:
    """Partition pruning: the recorder partitions by the exchange's day (estimated for rows stating no time)."""
    if "date" not in cols:
        return "true"
    parts = []
    if start_us is not None:
        parts.append(f"cast(date as date) >= cast(make_timestamp({int(start_us)}) as date) - {_DAY_MARGIN}")
    if end_us is not None:
        parts.append(f"cast(date as date) <= cast(make_timestamp({int(end_us)}) as date) + {_DAY_MARGIN}")
    return " and ".join(parts) or "true"


def _timed_frames_sql(book: tuple[str, set[str]], start_us: int | None, end_us: int | None) -> str:
    """The ws_book frames that state the exchange's time, every ticker's: (conn, local_t, stated) in µs."""
    src, cols = book
    if "ts" not in cols:
        return "select cast(null as varchar) as conn, cast(null as bigint) as local_t, cast(null as bigint) as stated where false"
    conn = "connection_id" if "connection_id" in cols else "cast(null as varchar)"
    return f"""select distinct coalesce({conn}, '') as conn, epoch_us(received_at) as local_t, epoch_us(ts) as stated
               from {src} where ts is not null and {_days_sql(cols, start_us, end_us)}"""


def load_market_quotes(con, lake_root, index, start_us, end_us) -> list[tuple]:
    found = stream_source(con, lake_root, "markets")
    if found is None:
        return []
    src, cols = found
    if {"ticker", "_loaded_at"} - cols or {"yes_bid_dollars", "yes_ask_dollars"} - cols:
        return []
    tmap = ticker_map_sql(con, index)

    def micros(c: str) -> str:
        return f"cast({c} * 1000000 as bigint)" if c in cols else "cast(null as bigint)"

    def centi(c: str) -> str:
        return f"cast({c} * 100 as bigint)" if c in cols else "cast(null as bigint)"

    sql = f"""
        select distinct epoch_us(_loaded_at) as t, m.market, {micros("yes_bid_dollars")},
               {centi("yes_bid_size_fp")}, {micros("yes_ask_dollars")}, {centi("yes_ask_size_fp")}
        from {src} s join {tmap} m using (ticker)
        where {window_sql("_loaded_at", start_us, end_us)}
              and (yes_bid_dollars is not null or yes_ask_dollars is not null)
        order by t, m.market"""
    return [tuple(r) for r in con.execute(sql).fetchall()]
