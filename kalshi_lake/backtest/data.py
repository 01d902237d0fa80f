"""Load what a backtest replays from the lake's Parquet (column contract: docs/CONTRACTS.md "Columns").

The backtester reads the lake itself (not the marts) so it needs only the contracted stream columns:

* ``markets``: the first observed row per ticker gives the static terms a strategy sees (``MarketInfo``: a
  later row's ``close_time`` could reveal an early close); the latest row gives the engine its trading
  cut-off (``close_time``) and tick grid; the latest row that has one gives the outcome (``result``,
  ``settlement_value_dollars``, ``settlement_ts``; engine only). A market with a result but no
  ``settlement_value_dollars`` settles at $1 (yes) / $0 (no); its settlement time is ``settlement_ts``, else
  ``close_time``. A settlement after the window's end is not replayed.
* ``events`` → the market's ``series_ticker`` (fallback: the event ticker's text before the first ``-``) and any
  ``fee_type_override`` / ``fee_multiplier_override``; ``series`` → ``fee_type`` / ``fee_multiplier`` (the
  latest row; missing series = ``quadratic`` × 1): the *current* terms.
* the fee terms' history (fee-change streams, recorded ``event_fee_update`` messages, rows landed before a first
  change): ``data_fees.py``; each fill pays the terms in force at its time and says where they came from
  (``fee_terms``: ``history`` | ``no_change_listed`` | ``current_assumed``).
* ``trades`` (deduplicated by ``trade_id``), ``orderbook_snapshots`` and ``candlesticks`` within the window
  ``[start, end)``, converted by DuckDB to integer micro-dollars / centi-contracts / µs timestamps.
* the other quote sources (``ws_book``, ``ws_coverage``, the markets rows' bid/ask): ``data_books.py``.

A stream with no files is simply empty. DuckDB reads the lake root path or URI it is given.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pyarrow as pa

from kalshi_lake.backtest import data_books
from kalshi_lake.backtest.data_fees import fee_history, fee_schedule
from kalshi_lake.backtest.errors import BacktestDataError
from kalshi_lake.backtest.events import Book, Candle
from kalshi_lake.backtest.fees import FeeSchedule
from kalshi_lake.backtest.lakesql import connect, stream_source, ticker_map_sql, window_sql
from kalshi_lake.backtest.money import dollars_to_micros, parse_price_ranges


@dataclass(frozen=True)
class MarketInfo:
    """Static terms of a market — everything a strategy may know before the market trades."""

    ticker: str
    event_ticker: str | None
    series_ticker: str | None
    market_type: str | None
    open_time_us: int | None
    close_time_us: int | None
    price_ranges: tuple[tuple[int, int, int], ...]
    title: str | None = None


@dataclass(frozen=True)
class MarketOutcome:
    """How a market settled (engine only: a strategy never sees this before settlement)."""

    result: str
    value_micros: int
    ts_us: int


@dataclass
class ReplayData:
    """Everything a run replays, already in integer units and time order."""

    markets: list[MarketInfo]
    fees: list[FeeSchedule]
    outcomes: list[MarketOutcome | None]
    trades: pa.Table  # ts, market, price, count, side, block (all int64), sorted by ts
    books: list[tuple[int, int, Book]] = field(default_factory=list)  # (ts, market index, Book)
    candles: list[tuple[int, int, Candle]] = field(default_factory=list)
    start_us: int | None = None
    end_us: int | None = None
    # engine only: the final close time (trading cut-off) and tick grid of each market (latest observation)
    close_us: list[int | None] | None = None
    grids: list[tuple[tuple[int, int, int], ...]] | None = None
    # more quote sources (see data_books.py and quotes.py)
    ws_book: list[tuple[int, int, tuple, int]] = field(default_factory=list)  # + received µs (ordering)
    ws_coverage: list[tuple[int, int, str, str, int]] = field(default_factory=list)
    market_quotes: list[tuple] = field(default_factory=list)  # (ts, market, bid, bid size, ask, ask size)

    @property
    def index(self) -> dict[str, int]:
        return {m.ticker: i for i, m in enumerate(self.markets)}


def to_us(value: datetime | date | str | None, *, end: bool = False) -> int | None:
    """A window bound (datetime, date or ISO text; naive = UTC) → µs since epoch. A bare date as ``end`` means
    the end of that day (exclusive bound = next midnight)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise BacktestDataError(
                f"cannot read {text!r} as a date or time (use YYYY-MM-DD or ISO 8601)"
            ) from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if end:
            return int(value.timestamp()) * 1_000_000 + 86_400_000_000
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp()) * 1_000_000 + value.microsecond


def _col(cols: set[str], name: str, sql_type: str) -> str:
    return name if name in cols else f"cast(null as {sql_type}) as {name}"


def _latest_markets(con, lake_root: str) -> list[dict]:
    found = stream_source(con, lake_root, "markets")
    if found is None:
        return []
    src, cols = found
    if "ticker" not in cols:
        raise BacktestDataError("the lake's markets stream has no ticker column")
    wanted = {
        "event_ticker": "varchar",
        "market_type": "varchar",
        "title": "varchar",
        "open_time": "timestamptz",
        "close_time": "timestamptz",
        "price_ranges": "varchar",
        "result": "varchar",
        "settlement_value_dollars": "decimal(18,6)",
        "settlement_ts": "timestamptz",
        "fee_waiver_expiration_time": "timestamptz",
        "updated_time": "timestamptz",
        "_loaded_at": "timestamptz",
    }
    select = ", ".join(_col(cols, c, t) for c, t in wanted.items())
    sql = f"""
        with src as (select ticker, {select} from {src}),
        ranked as (
            select *,
                   row_number() over (partition by ticker order by updated_time desc nulls last,
                                                               _loaded_at desc nulls last) as rn,
                   -- the outcome comes from the latest row that has one (a result never reverts)
                   row_number() over (partition by ticker order by coalesce(result, '') <> '' desc,
                                      updated_time desc nulls last, _loaded_at desc nulls last) as rn_outcome
            from src),
        terms as (select * from ranked where rn = 1),
        -- what a strategy may see: the first observation (a later close_time may reveal an early close)
        first_seen as (
            select * from (select *, row_number() over (partition by ticker order by updated_time asc nulls last,
                                                        _loaded_at asc nulls last) as rn_first from src)
            where rn_first = 1),
        outcome as (select * from ranked where rn_outcome = 1)
        select t.ticker, t.event_ticker, t.market_type, t.title,
               epoch_us(t.open_time) as open_us, epoch_us(t.close_time) as close_us, t.price_ranges, o.result,
               cast(o.settlement_value_dollars as varchar) as settlement_value,
               epoch_us(o.settlement_ts) as settle_us, epoch_us(t.fee_waiver_expiration_time) as waiver_us,
               epoch_us(f.open_time) as first_open_us, epoch_us(f.close_time) as first_close_us,
               f.price_ranges as first_price_ranges
        from terms t join outcome o using (ticker) join first_seen f using (ticker) order by t.ticker"""
    names = [
        d
        for d in (
            "ticker",
            "event_ticker",
            "market_type",
            "title",
            "open_us",
            "close_us",
            "price_ranges",
            "result",
            "settlement_value",
            "settle_us",
            "waiver_us",
            "first_open_us",
            "first_close_us",
            "first_price_ranges",
        )
    ]
    return [dict(zip(names, row, strict=True)) for row in con.execute(sql).fetchall()]


def _latest_by(con, lake_root: str, stream: str, key: str, wanted: dict[str, str]) -> dict[str, dict]:
    found = stream_source(con, lake_root, stream)
    if found is None:
        return {}
    src, cols = found
    if key not in cols:
        return {}
    select = ", ".join(_col(cols, c, t) for c, t in wanted.items())
    order = "_loaded_at desc nulls last" if "_loaded_at" in cols else "1"
    sql = f"""select {key}, {", ".join(wanted)} from (
                select {key}, {select}, row_number() over (partition by {key} order by {order}) as rn
                from {src}) where rn = 1"""
    out = {}
    for row in con.execute(sql).fetchall():
        out[row[0]] = dict(zip(wanted, row[1:], strict=True))
    return out


def _in_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def load_replay_data(
    lake_root: str,
    *,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    events: list[str] | None = None,
    start: datetime | date | str | None = None,
    end: datetime | date | str | None = None,
    include_books: bool = True,
    include_candles: bool = True,
    candle_interval: int | None = None,
) -> ReplayData:
    """Read the markets, fees, trades, book snapshots and candles a run needs, in integer units."""
    start_us, end_us = to_us(start), to_us(end, end=True)
    if start_us is not None and end_us is not None and end_us <= start_us:
        raise BacktestDataError(f"the window is empty: end {end} is not after start {start}")
    con = connect()
    try:
        rows = _latest_markets(con, lake_root)
        if not rows:
            raise BacktestDataError(
                f"no markets in the lake at {lake_root} (run a pull or `kalshi-lake demo` first)"
            )
        ev = _latest_by(
            con,
            lake_root,
            "events",
            "event_ticker",
            {
                "series_ticker": "varchar",
                "fee_type_override": "varchar",
                "fee_multiplier_override": "varchar",
            },
        )
        ser = _latest_by(
            con, lake_root, "series", "ticker", {"fee_type": "varchar", "fee_multiplier": "varchar"}
        )
        history = fee_history(con, lake_root)
        picked = []
        for r in rows:
            e = ev.get(r["event_ticker"]) if r["event_ticker"] else None
            s_ticker = (e or {}).get("series_ticker") or ((r["event_ticker"] or r["ticker"]).split("-")[0])
            if series and s_ticker not in series:
                continue
            if tickers and r["ticker"] not in tickers:
                continue
            if events and r["event_ticker"] not in events:
                continue
            picked.append((r, e, s_ticker))
        if not picked:
            raise BacktestDataError(
                "no market matches the selection "
                f"(series={series or 'any'}, tickers={tickers or 'any'}, events={events or 'any'})"
            )
        markets, fees, outcomes, close_us, grids = [], [], [], [], []
        for r, e, s_ticker in picked:
            markets.append(
                MarketInfo(
                    ticker=r["ticker"],
                    event_ticker=r["event_ticker"],
                    series_ticker=s_ticker,
                    market_type=r["market_type"],
                    open_time_us=r["first_open_us"],
                    close_time_us=r["first_close_us"],
                    price_ranges=parse_price_ranges(r["first_price_ranges"]),
                    title=r["title"],
                )
            )
            close_us.append(r["close_us"])
            grids.append(parse_price_ranges(r["price_ranges"]))
            e_terms = dict(e or {}, event_ticker=r["event_ticker"], series_ticker=s_ticker)
            fees.append(fee_schedule(ser.get(s_ticker), e_terms, r["waiver_us"], history))
            outcomes.append(_outcome(r, end_us))
        index = {m.ticker: i for i, m in enumerate(markets)}
        trades = _load_trades(con, lake_root, index, start_us, end_us)
        books = _load_books(con, lake_root, index, start_us, end_us) if include_books else []
        candles = (
            _load_candles(con, lake_root, index, start_us, end_us, candle_interval) if include_candles else []
        )
        ws_book, ws_coverage, market_quotes = [], [], []
        if include_books:
            ws_book = data_books.load_ws_book(con, lake_root, index, start_us, end_us)
            ws_coverage = data_books.load_ws_coverage(con, lake_root, index, start_us, end_us)
            market_quotes = data_books.load_market_quotes(con, lake_root, index, start_us, end_us)
    finally:
        con.close()
    return ReplayData(
        markets,
        fees,
        outcomes,
        trades,
        books,
        candles,
        start_us,
        end_us,
        close_us,
        grids,
        ws_book,
        ws_coverage,
        market_quotes,
    )


def _outcome(r: dict, end_us: int | None) -> MarketOutcome | None:
    result = (r["result"] or "").strip()
    if result not in ("yes", "no", "scalar"):
        return None
    if r["settlement_value"] is not None:
        value = dollars_to_micros(r["settlement_value"])
    elif result in ("yes", "no"):
        value = 1_000_000 if result == "yes" else 0
    else:
        return None  # a scalar result without its value cannot be paid out
    ts = r["settle_us"] if r["settle_us"] is not None else r["close_us"]
    if ts is None or (end_us is not None and ts >= end_us):
        return None
    return MarketOutcome(result, value, ts)


_TRADE_SCHEMA = pa.schema([(n, pa.int64()) for n in ("ts", "market", "price", "count", "side", "block")])


def _load_trades(con, lake_root, index, start_us, end_us) -> pa.Table:
    found = stream_source(con, lake_root, "trades")
    if found is None:
        return _TRADE_SCHEMA.empty_table()
    src, cols = found
    missing = {"ticker", "created_time", "yes_price_dollars", "count_fp"} - cols
    if missing:
        raise BacktestDataError(f"the lake's trades stream lacks column(s) {', '.join(sorted(missing))}")
    tmap = ticker_map_sql(con, index)
    block = "is_block_trade" if "is_block_trade" in cols else "cast(null as boolean)"
    side = "taker_book_side" if "taker_book_side" in cols else "cast(null as varchar)"
    tid = "trade_id" if "trade_id" in cols else "cast(null as varchar)"
    loaded = "_loaded_at" if "_loaded_at" in cols else "cast(null as timestamptz)"
    sql = f"""
        with t as (
            select {tid} as trade_id, s.ticker, created_time, yes_price_dollars, count_fp, {side} as side,
                   {block} as block,
                   {loaded} as loaded
            from {src} s join {tmap} using (ticker)
            where {window_sql("created_time", start_us, end_us)}),
        dedup as (
            select * from t
            qualify trade_id is null
                 or row_number() over (partition by trade_id order by loaded nulls last) = 1)
        select epoch_us(created_time) as ts, m.market,
               cast(yes_price_dollars * 1000000 as bigint) as price,
               cast(count_fp * 100 as bigint) as count,
               cast(case side when 'bid' then 1 when 'ask' then -1 else 0 end as bigint) as side,
               cast(coalesce(block, false) as bigint) as block
        from dedup join {tmap} m using (ticker)
        order by ts, market, trade_id"""
    table = con.sql(sql).to_arrow_table()
    return table.cast(_TRADE_SCHEMA)


def _load_books(con, lake_root, index, start_us, end_us) -> list[tuple[int, int, Book]]:
    found = stream_source(con, lake_root, "orderbook_snapshots")
    if found is None:
        return []
    src, cols = found
    if {"ticker", "snapshot_ts", "side", "price_dollars", "count_fp"} - cols:
        return []
    tmap = ticker_map_sql(con, index)
    level = "level" if "level" in cols else "0"
    sql = f"""
        select distinct epoch_us(snapshot_ts) as ts, m.market, side,
               cast(price_dollars * 1000000 as bigint) as price, cast(count_fp * 100 as bigint) as size,
               {level} as level
        from {src} s join {tmap} m using (ticker)
        where {window_sql("snapshot_ts", start_us, end_us)}
        order by ts, m.market, side, price desc nulls last"""
    tickers = {i: t for t, i in index.items()}
    out = []
    rows = con.execute(sql).fetchall()
    for (ts, mi), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        yes, no = [], []
        for _ts, _mi, side, price, size, _level in group:
            if price is None or size is None or size <= 0:
                continue  # the row that records an empty side
            (yes if side == "yes" else no).append((price, size))
        out.append((ts, mi, Book(ts, tickers[mi], tuple(yes), tuple(no))))
    return out


def _load_candles(con, lake_root, index, start_us, end_us, interval) -> list[tuple[int, int, Candle]]:
    found = stream_source(con, lake_root, "candlesticks")
    if found is None:
        return []
    src, cols = found
    if {"ticker", "end_period_ts"} - cols:
        return []
    tmap = ticker_map_sql(con, index)

    def micros(c: str) -> str:
        return f"cast({c} * 1000000 as bigint)" if c in cols else "cast(null as bigint)"

    interval_sql = "period_interval" if "period_interval" in cols else "cast(null as integer)"
    where = window_sql("end_period_ts", start_us, end_us)
    if interval is not None and "period_interval" in cols:
        where += f" and period_interval = {int(interval)}"
    volume = "cast(volume_fp * 100 as bigint)" if "volume_fp" in cols else "cast(null as bigint)"
    sql = f"""
        select distinct epoch_us(end_period_ts) as ts, m.market, {interval_sql} as iv,
               {micros("price_close_dollars")}, {micros("yes_bid_close_dollars")},
               {micros("yes_ask_close_dollars")}, {volume}
        from {src} s join {tmap} m using (ticker) where {where}
        order by ts, m.market, iv"""
    tickers = {i: t for t, i in index.items()}
    return [
        (ts, mi, Candle(ts, tickers[mi], iv, pc, bid, ask, vol))
        for ts, mi, iv, pc, bid, ask, vol in con.execute(sql).fetchall()
    ]


def describe_selection(data: ReplayData) -> str:
    """One line for logs: how much the run will replay."""
    return json.dumps(
        {
            "markets": len(data.markets),
            "trades": data.trades.num_rows,
            "books": len(data.books),
            "candles": len(data.candles),
            "settlements": sum(o is not None for o in data.outcomes),
        }
    )
