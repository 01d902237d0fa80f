"""Load the quote sources beyond trades and REST books: the recorded WebSocket book, the recorder's coverage log
and the markets rows' bid/ask (see ``quotes.py`` for how each is used).

* ``ws_book`` (grain: one row per level of a snapshot, one per delta; a snapshot's rows share
  ``(connection_id, sid, seq)``; an empty snapshot is one row with null side/price/quantity) → messages
  ``(ts, market, ("snapshot", conn, yes_levels, no_levels))`` and ``(ts, market, ("delta", conn, side, price,
  change))``, timed by the exchange's ``ts`` when the frame had one, else ``received_at``; in time, then
  connection, sid and seq order. A book enters the replay with its first snapshot inside the window.
* ``ws_coverage`` → ``(at, market or -1, conn, event)`` for the events that make recorded books unusable:
  ``gap`` (one ticker), ``disconnected`` (one connection), ``stopped`` (the recorder).
* ``markets`` → ``(_loaded_at, market, yes_bid, bid_size, yes_ask, ask_size)``: a pull's view of the top of
  the book, timed by when the pull saw it. Sizes are None when the row has none.
"""

from __future__ import annotations

import itertools

from kalshi_lake.backtest.lakesql import stream_source, ticker_map_sql, window_sql


def load_ws_book(con, lake_root, index, start_us, end_us) -> list[tuple[int, int, tuple]]:
    found = stream_source(con, lake_root, "ws_book")
    if found is None:
        return []
    src, cols = found
    need = {"ticker", "kind", "side", "price_dollars", "quantity_fp", "seq", "received_at"}
    if need - cols:
        return []
    tmap = ticker_map_sql(con, index)
    when = "coalesce(ts, received_at)" if "ts" in cols else "received_at"
    conn = "connection_id" if "connection_id" in cols else "cast(null as varchar)"
    sid = "sid" if "sid" in cols else "cast(0 as bigint)"
    sql = f"""
        select distinct epoch_us({when}) as t, m.market, coalesce({conn}, '') as conn, {sid} as sid, seq, kind,
               side, cast(price_dollars * 1000000 as bigint) as price, cast(quantity_fp * 100 as bigint) as qty
        from {src} s join {tmap} m using (ticker)
        where {window_sql(when, start_us, end_us)}
        order by t, conn, sid, seq, m.market, side, price"""
    out: list[tuple[int, int, tuple]] = []
    rows = con.execute(sql).fetchall()
    for (t, mi, conn_id, _sid, _seq, kind), group in itertools.groupby(rows, key=lambda r: r[:6]):
        if kind == "snapshot":
            yes, no = [], []
            for *_k, side, price, qty in group:
                if side is not None and price is not None and qty:
                    (yes if side == "yes" else no).append((price, qty))
            out.append((t, mi, ("snapshot", conn_id, yes, no)))
        elif kind == "delta":
            for *_k, side, price, qty in group:
                if side in ("yes", "no") and price is not None and qty:
                    out.append((t, mi, ("delta", conn_id, side, price, qty)))
    return out


def load_ws_coverage(con, lake_root, index, start_us, end_us) -> list[tuple[int, int, str, str]]:
    found = stream_source(con, lake_root, "ws_coverage")
    if found is None:
        return []
    src, cols = found
    if {"at", "event"} - cols:
        return []
    ticker = "ticker" if "ticker" in cols else "cast(null as varchar)"
    conn = "connection_id" if "connection_id" in cols else "cast(null as varchar)"
    sql = f"""
        select distinct epoch_us("at"), {ticker}, coalesce({conn}, ''), event from {src}
        where event in ('gap', 'disconnected', 'stopped') and {window_sql('"at"', start_us, end_us)}
        order by 1"""
    out = []
    for at, ticker, conn_id, event in con.execute(sql).fetchall():
        if event == "gap":
            if ticker in index:
                out.append((at, index[ticker], conn_id, event))
        else:
            out.append((at, -1, conn_id, event))
    return out


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
