"""Write small Parquet lakes for the model tests, with exactly the column types of docs/CONTRACTS.md.

`write_stream(lake_root, stream, rows)` takes dicts with Python values (Decimal for money/counts, aware datetimes,
ints for cents) and writes `<lake_root>/<stream>/date=YYYY-MM-DD/part-<run>-<n>.parquet`, adding `_loaded_at`,
`_run_id`, `_extra` (and `_account` for private streams) unless the row sets them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kalshi_extract.lake.schemas import WS_STREAMS, arrow_schema

MONEY = pa.decimal128(18, 6)
COUNT = pa.decimal128(18, 2)
TS = pa.timestamp("us", tz="UTC")
S = pa.string()

PRIVATE = {
    "fills",
    "settlements",
    "orders",
    "positions",
    "balance",
    "order_events",
    "ws_fills",
    "ws_user_orders",
    "ws_positions",
}

SCHEMAS: dict[str, dict[str, pa.DataType]] = {
    "series": {
        "ticker": S,
        "frequency": S,
        "title": S,
        "category": S,
        "fee_type": S,
        "fee_multiplier": MONEY,
    },
    "events": {
        "event_ticker": S,
        "series_ticker": S,
        "title": S,
        "category": S,
        "mutually_exclusive": pa.bool_(),
    },
    "markets": {
        "ticker": S,
        "event_ticker": S,
        "market_type": S,
        "title": S,
        "status": S,
        "result": S,
        "created_time": TS,
        "updated_time": TS,
        "open_time": TS,
        "close_time": TS,
        "settlement_ts": TS,
        "yes_bid_dollars": MONEY,
        "yes_bid_size_fp": COUNT,
        "yes_ask_dollars": MONEY,
        "yes_ask_size_fp": COUNT,
        "no_bid_dollars": MONEY,
        "no_ask_dollars": MONEY,
        "last_price_dollars": MONEY,
        "volume_fp": COUNT,
        "open_interest_fp": COUNT,
        "settlement_value_dollars": MONEY,
        "price_ranges": S,
    },
    "trades": {
        "trade_id": S,
        "ticker": S,
        "count_fp": COUNT,
        "yes_price_dollars": MONEY,
        "no_price_dollars": MONEY,
        "taker_outcome_side": S,
        "taker_book_side": S,
        "created_time": TS,
        "is_block_trade": pa.bool_(),
    },
    "candlesticks": {
        "ticker": S,
        "series_ticker": S,
        "period_interval": pa.int32(),
        "end_period_ts": TS,
        "price_close_dollars": MONEY,
        "yes_bid_close_dollars": MONEY,
        "yes_ask_close_dollars": MONEY,
        "volume_fp": COUNT,
    },
    "orderbook_snapshots": {
        "ticker": S,
        "snapshot_ts": TS,
        "side": S,
        "price_dollars": MONEY,
        "count_fp": COUNT,
        "level": pa.int32(),
    },
    "exchange_status": {"exchange_active": pa.bool_(), "trading_active": pa.bool_(), "snapshot_ts": TS},
    "fills": {
        "fill_id": S,
        "trade_id": S,
        "order_id": S,
        "ticker": S,
        "outcome_side": S,
        "book_side": S,
        "count_fp": COUNT,
        "yes_price_dollars": MONEY,
        "no_price_dollars": MONEY,
        "is_taker": pa.bool_(),
        "created_time": TS,
        "fee_cost": MONEY,
        "ts": TS,
    },
    "settlements": {
        "ticker": S,
        "event_ticker": S,
        "market_result": S,
        "yes_count_fp": COUNT,
        "yes_total_cost_dollars": MONEY,
        "no_count_fp": COUNT,
        "no_total_cost_dollars": MONEY,
        "revenue": pa.int64(),
        "settled_time": TS,
        "fee_cost": MONEY,
        "value": pa.int64(),
    },
    "orders": {
        "order_id": S,
        "client_order_id": S,
        "ticker": S,
        "status": S,
        "created_time": TS,
        "last_update_time": TS,
    },
    "positions": {
        "ticker": S,
        "total_traded_dollars": MONEY,
        "position_fp": COUNT,
        "market_exposure_dollars": MONEY,
        "realized_pnl_dollars": MONEY,
        "fees_paid_dollars": MONEY,
        "last_updated_ts": TS,
        "snapshot_ts": TS,
    },
    "balance": {
        "balance": pa.int64(),
        "portfolio_value": pa.int64(),
        "balance_dollars": MONEY,
        "updated_ts": TS,
        "snapshot_ts": TS,
    },
    "order_events": {
        "event_id": S,
        "ts": TS,
        "client_order_id": S,
        "order_id": S,
        "action": S,
        "phase": S,
        "ticker": S,
        "request_json": S,
        "response_json": S,
        "http_status": pa.int32(),
        "error": S,
    },
}
# the WebSocket recorder's streams: every column of the lake's own schema (tests build them from the contract)
SCHEMAS.update(
    {
        stream: {f.name: f.type for f in arrow_schema(stream) if not f.name.startswith("_")}
        for stream in WS_STREAMS
    }
)
DATE_FIELD = {
    **{stream: "received_at" for stream in WS_STREAMS},
    "ws_coverage": "at",
    "trades": "created_time",
    "fills": "created_time",
    "settlements": "settled_time",
    "markets": "_loaded_at",
    "orderbook_snapshots": "snapshot_ts",
    "positions": "snapshot_ts",
    "balance": "snapshot_ts",
    "candlesticks": "end_period_ts",
    "order_events": "ts",
    "exchange_status": "snapshot_ts",
}
_counter = itertools.count()
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(minutes: float = 0, days: float = 0) -> datetime:
    """A timestamp `minutes` / `days` after T0 (2026-11-20 12:00 UTC)."""
    return T0 + timedelta(minutes=minutes, days=days)


def D(x) -> Decimal:
    return Decimal(str(x))


def write_stream(
    lake_root: Path,
    stream: str,
    rows: list[dict],
    run_id: str = "run-1",
    extra_columns: dict[str, pa.DataType] | None = None,
) -> list[Path]:
    """Write rows of one stream as hive-partitioned Parquet (one file per date partition)."""
    fields = dict(SCHEMAS[stream])
    fields.update(extra_columns or {})
    fields.update({"_loaded_at": TS, "_run_id": S, "_extra": S})
    if stream in PRIVATE:
        fields["_account"] = S
    schema = pa.schema(list(fields.items()))
    full = []
    for r in rows:
        r = dict(r)
        r.setdefault("_loaded_at", T0 + timedelta(days=30))
        r.setdefault("_run_id", run_id)
        r.setdefault("_extra", None)
        if stream in PRIVATE:
            r.setdefault("_account", "default")
        unknown = set(r) - set(fields)
        if unknown:
            raise ValueError(f"{stream}: columns not in the contract schema: {sorted(unknown)}")
        full.append(r)
    by_date: dict[str, list[dict]] = {}
    for r in full:
        d = r.get(DATE_FIELD.get(stream, "_loaded_at")) or r["_loaded_at"]
        by_date.setdefault(d.astimezone(UTC).date().isoformat(), []).append(r)
    paths = []
    for day, part in by_date.items():
        table = pa.Table.from_pylist(part, schema=schema)
        out = Path(lake_root) / stream / f"date={day}" / f"part-{run_id}-{next(_counter)}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)
        paths.append(out)
    return paths


def trade(trade_id, ticker, minutes, price, count=1, **kw):
    """A Trade row: a taker bought YES (`bid`) `count` contracts at `price`, `minutes` after the base instant."""
    return {
        "trade_id": trade_id,
        "ticker": ticker,
        "count_fp": D(count),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes",
        "taker_book_side": "bid",
        "created_time": at(minutes),
        "is_block_trade": False,
        **kw,
    }


def fill(fill_id, ticker, book_side, count, price, fee, minutes, account="default", outcome_side=None, **kw):
    """A Fill row: book_side bid buys YES at `price`; ask sells YES at `price` (buys NO at 1 - price)."""
    t = at(minutes)
    return {
        "fill_id": fill_id,
        "trade_id": fill_id,
        "order_id": f"o-{fill_id}",
        "ticker": ticker,
        "outcome_side": outcome_side or ("yes" if book_side == "bid" else "no"),
        "book_side": book_side,
        "count_fp": D(count),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "is_taker": True,
        "created_time": t,
        "fee_cost": D(fee),
        "ts": t.replace(microsecond=0),
        "_account": account,
        **kw,
    }


def market(ticker, event_ticker, status="active", minutes=0, **kw):
    row = {
        "ticker": ticker,
        "event_ticker": event_ticker,
        "market_type": "binary",
        "title": ticker,
        "status": status,
        "result": "",
        "close_time": at(days=5),
        "_loaded_at": at(minutes),
    }
    row.update(kw)
    return row


def book(ticker, minutes, yes=(), no=()):
    """Order-book snapshot rows: yes/no = [(price, count), ...] bids; an empty side is one null row."""
    rows = []
    for side, levels in (("yes", yes), ("no", no)):
        if not levels:
            rows.append(
                {
                    "ticker": ticker,
                    "snapshot_ts": at(minutes),
                    "side": side,
                    "price_dollars": None,
                    "count_fp": None,
                    "level": None,
                }
            )
        for i, (p, c) in enumerate(sorted(levels, key=lambda x: -D(x[0]))):
            rows.append(
                {
                    "ticker": ticker,
                    "snapshot_ts": at(minutes),
                    "side": side,
                    "price_dollars": D(p),
                    "count_fp": D(c),
                    "level": i,
                }
            )
    return rows


def ws_snapshot(ticker, minutes, connection_id, sid, seq, yes=(), no=()):
    """ws_book rows of one recorded snapshot: yes/no = [(price, quantity), ...]; an empty book is one null row."""
    base = {
        "ticker": ticker,
        "kind": "snapshot",
        "seq": seq,
        "sid": sid,
        "connection_id": connection_id,
        "received_at": at(minutes),
    }
    rows = [
        {**base, "side": side, "price_dollars": D(p), "quantity_fp": D(q)}
        for side, levels in (("yes", yes), ("no", no))
        for p, q in levels
    ]
    return rows or [{**base, "side": None, "price_dollars": None, "quantity_fp": None}]


def ws_delta(ticker, minutes, connection_id, sid, seq, side, price, delta):
    """One ws_book delta row (exchange ts = receipt, to the millisecond)."""
    t = at(minutes)
    return {
        "ticker": ticker,
        "kind": "delta",
        "side": side,
        "price_dollars": D(price),
        "quantity_fp": D(delta),
        "seq": seq,
        "ts": t.replace(microsecond=t.microsecond // 1000 * 1000),
        "sid": sid,
        "connection_id": connection_id,
        "received_at": t,
    }


def coverage(minutes, event, ticker=None, connection_id=None, sid=None, reason=None, **kw):
    """One ws_coverage row (the recorder's log)."""
    return {
        "at": at(minutes),
        "event": event,
        "ticker": ticker,
        "channel": "orderbook_delta" if ticker or sid else None,
        "connection_id": connection_id,
        "sid": sid,
        "reason": reason,
        **kw,
    }
