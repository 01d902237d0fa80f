"""Write small lakes with exactly the column names and types of docs/CONTRACTS.md ("Columns"), for the
backtest tests, the notebook test (when no demo lake can be produced) and bench/bench_backtest.py."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("us", tz="UTC")
D6 = pa.decimal128(18, 6)
D2 = pa.decimal128(18, 2)
META = [("_loaded_at", TS), ("_run_id", pa.string()), ("_extra", pa.string())]

SCHEMAS = {
    "series": pa.schema(
        [
            ("ticker", pa.string()),
            ("title", pa.string()),
            ("category", pa.string()),
            ("frequency", pa.string()),
            ("fee_type", pa.string()),
            ("fee_multiplier", D6),
            *META,
        ]
    ),
    "events": pa.schema(
        [
            ("event_ticker", pa.string()),
            ("series_ticker", pa.string()),
            ("title", pa.string()),
            ("category", pa.string()),
            ("fee_type_override", pa.string()),
            ("fee_multiplier_override", D6),
            *META,
        ]
    ),
    "markets": pa.schema(
        [
            ("ticker", pa.string()),
            ("event_ticker", pa.string()),
            ("market_type", pa.string()),
            ("title", pa.string()),
            ("yes_sub_title", pa.string()),
            ("created_time", TS),
            ("updated_time", TS),
            ("open_time", TS),
            ("close_time", TS),
            ("status", pa.string()),
            ("yes_bid_dollars", D6),
            ("yes_bid_size_fp", D2),
            ("yes_ask_dollars", D6),
            ("yes_ask_size_fp", D2),
            ("last_price_dollars", D6),
            ("volume_fp", D2),
            ("open_interest_fp", D2),
            ("result", pa.string()),
            ("settlement_value_dollars", D6),
            ("settlement_ts", TS),
            ("price_level_structure", pa.string()),
            ("price_ranges", pa.string()),
            ("fee_waiver_expiration_time", TS),
            *META,
        ]
    ),
    "trades": pa.schema(
        [
            ("trade_id", pa.string()),
            ("ticker", pa.string()),
            ("count_fp", D2),
            ("yes_price_dollars", D6),
            ("no_price_dollars", D6),
            ("taker_outcome_side", pa.string()),
            ("taker_book_side", pa.string()),
            ("created_time", TS),
            ("is_block_trade", pa.bool_()),
            *META,
        ]
    ),
    "orderbook_snapshots": pa.schema(
        [
            ("ticker", pa.string()),
            ("snapshot_ts", TS),
            ("side", pa.string()),
            ("price_dollars", D6),
            ("count_fp", D2),
            ("level", pa.int32()),
            *META,
        ]
    ),
    "candlesticks": pa.schema(
        [
            ("ticker", pa.string()),
            ("series_ticker", pa.string()),
            ("period_interval", pa.int32()),
            ("end_period_ts", TS),
            *[(f"yes_{s}_{k}_dollars", D6) for s in ("bid", "ask") for k in ("open", "low", "high", "close")],
            *[(f"price_{k}_dollars", D6) for k in ("open", "high", "low", "close", "mean", "previous")],
            ("volume_fp", D2),
            ("open_interest_fp", D2),
            *META,
        ]
    ),
    # the WebSocket recorder's streams (kalshi_extract/lake/schemas.py WS_BOOK, WS_COVERAGE)
    "ws_book": pa.schema(
        [
            ("ticker", pa.string()),
            ("market_id", pa.string()),
            ("kind", pa.string()),
            ("side", pa.string()),
            ("price_dollars", D6),
            ("quantity_fp", D2),
            ("client_order_id", pa.string()),
            ("seq", pa.int64()),
            ("ts", TS),
            ("sid", pa.int64()),
            ("received_at", TS),
            ("connection_id", pa.string()),
            *META,
        ]
    ),
    "ws_coverage": pa.schema(
        [
            ("at", TS),
            ("event", pa.string()),
            ("ticker", pa.string()),
            ("channel", pa.string()),
            ("sid", pa.int64()),
            ("connection_id", pa.string()),
            ("reason", pa.string()),
            ("expected_seq", pa.int64()),
            ("got_seq", pa.int64()),
            ("exchange_ts", TS),
            *META,
        ]
    ),
}
DATE_COL = {
    "trades": "created_time",
    "orderbook_snapshots": "snapshot_ts",
    "candlesticks": "end_period_ts",
    "ws_book": "received_at",
    "ws_coverage": "at",
}
CENT_GRID = json.dumps([{"start": "0.0000", "end": "1.0000", "step": "0.0100"}])
LOADED = datetime(2026, 11, 1, tzinfo=UTC)


def _dec(v, scale):
    if v is None:
        return None
    return Decimal(str(v)).quantize(Decimal(1).scaleb(-scale))


def write_stream(root: Path | str, stream: str, rows: list[dict], run_id: str = "test-run") -> None:
    """Write rows (dicts; missing columns null) into <root>/<stream>/date=YYYY-MM-DD/part-<run>-0.parquet."""
    schema = SCHEMAS[stream]
    by_date: dict[str, list[dict]] = {}
    for r in rows:
        r = {"_loaded_at": LOADED, "_run_id": run_id, **r}
        when = r.get(DATE_COL.get(stream, "_loaded_at")) or LOADED
        by_date.setdefault(when.date().isoformat(), []).append(r)
    for day, part in by_date.items():
        cols = {}
        for f in schema:
            vals = [r.get(f.name) for r in part]
            if pa.types.is_decimal(f.type):
                vals = [_dec(v, f.type.scale) for v in vals]
            cols[f.name] = pa.array(vals, type=f.type)
        d = Path(root) / stream / f"date={day}"
        d.mkdir(parents=True, exist_ok=True)
        n = len(list(d.glob(f"part-{run_id}-*.parquet")))
        pq.write_table(pa.table(cols, schema=schema), d / f"part-{run_id}-{n}.parquet")


def market(
    ticker,
    event,
    *,
    close,
    result="",
    value=None,
    settle=None,
    grid=CENT_GRID,
    status=None,
    open_=None,
    waiver=None,
    title=None,
):
    """A markets row (latest state)."""
    return {
        "ticker": ticker,
        "event_ticker": event,
        "market_type": "scalar" if result == "scalar" else "binary",
        "title": title or ticker,
        "created_time": open_ or close - timedelta(days=3),
        "updated_time": settle or close,
        "open_time": open_ or close - timedelta(days=3),
        "close_time": close,
        "status": status or ("finalized" if result else "active"),
        "result": result,
        "settlement_value_dollars": value,
        "settlement_ts": settle,
        "price_ranges": grid,
        "price_level_structure": "linear_cent",
        "fee_waiver_expiration_time": waiver,
    }


def trade(ticker, when, price, count, taker="bid", trade_id=None, block=False):
    """A trades row: price = YES price in dollars, taker = taker_book_side."""
    p = Decimal(str(price))
    return {
        "trade_id": trade_id or str(uuid.uuid4()),
        "ticker": ticker,
        "count_fp": Decimal(str(count)),
        "yes_price_dollars": p,
        "no_price_dollars": 1 - p,
        "taker_outcome_side": "yes" if taker == "bid" else "no",
        "taker_book_side": taker,
        "created_time": when,
        "is_block_trade": block,
    }


def book_rows(ticker, when, yes, no):
    """orderbook_snapshots rows: yes/no = [(price, count), ...] bids, best first."""
    rows = []
    for side, levels in (("yes", yes), ("no", no)):
        if not levels:
            rows.append({"ticker": ticker, "snapshot_ts": when, "side": side, "level": 0})
        for i, (p, c) in enumerate(levels):
            rows.append(
                {
                    "ticker": ticker,
                    "snapshot_ts": when,
                    "side": side,
                    "price_dollars": Decimal(str(p)),
                    "count_fp": Decimal(str(c)),
                    "level": i,
                }
            )
    return rows


def ws_snapshot(ticker, when, seq, yes, no, conn="c1", sid=1):
    """ws_book rows of one snapshot: yes/no = [(price, count), ...] resting bids of each side."""
    base = {"ticker": ticker, "kind": "snapshot", "seq": seq, "ts": when, "received_at": when}
    rows = [
        {**base, "side": side, "price_dollars": Decimal(str(p)), "quantity_fp": Decimal(str(c))}
        for side, levels in (("yes", yes), ("no", no))
        for p, c in levels
    ] or [dict(base)]
    return [{**r, "sid": sid, "connection_id": conn} for r in rows]


def ws_delta(ticker, when, seq, side, price, change, conn="c1", sid=1):
    """One ws_book delta row: ``change`` is the signed quantity change at (side, price)."""
    return {
        "ticker": ticker,
        "kind": "delta",
        "side": side,
        "price_dollars": Decimal(str(price)),
        "quantity_fp": Decimal(str(change)),
        "seq": seq,
        "ts": when,
        "received_at": when,
        "sid": sid,
        "connection_id": conn,
    }


def synthetic_lake(
    root: Path | str,
    *,
    n_markets: int = 12,
    n_trades: int = 6000,
    days: int = 6,
    seed: int = 7,
    start: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    books_every: int = 50,
) -> dict:
    """A demo-like lake: 3 series, random-walk YES prices, most markets settled, books and hourly candles."""
    rng = random.Random(seed)
    root = Path(root)
    series_names = [
        ("KXHIGHNY", "Climate and Weather", "quadratic", "1"),
        ("KXBTC", "Crypto", "quadratic_with_maker_fees", "1"),
        ("KXFED", "Economics", "quadratic", "0.5"),
    ]
    write_stream(
        root,
        "series",
        [
            {
                "ticker": t,
                "title": t,
                "category": c,
                "frequency": "daily",
                "fee_type": ft,
                "fee_multiplier": Decimal(m),
            }
            for t, c, ft, m in series_names
        ],
    )
    markets, events, trades, books, candles = [], [], [], [], []
    per_market = max(1, n_trades // n_markets)
    span = timedelta(days=days)
    for i in range(n_markets):
        s = series_names[i % len(series_names)][0]
        event = f"{s}-26NOV{i // 3:02d}"
        ticker = f"{event}-T{i}"
        if i % 3 == 0:
            events.append(
                {
                    "event_ticker": event,
                    "series_ticker": s,
                    "title": event,
                    "category": series_names[i % len(series_names)][1],
                }
            )
        open_t = start + timedelta(hours=rng.randint(0, 12))
        close_t = start + span - timedelta(hours=rng.randint(1, 24))
        p = rng.randint(5, 95)
        step = (close_t - open_t) / (per_market + 1)
        for k in range(per_market):
            p = min(99, max(1, p + rng.choice((-2, -1, -1, 0, 1, 1, 2))))
            when = open_t + step * (k + 1) + timedelta(microseconds=rng.randint(0, 999_999))
            trades.append(
                trade(
                    ticker,
                    when,
                    Decimal(p) / 100,
                    rng.randint(1, 50) + rng.choice((0, Decimal("0.5"))),
                    taker=rng.choice(("bid", "ask")),
                )
            )
            if books_every and k % books_every == 0:
                bid = max(1, p - 1)
                ask = min(99, p + 1)
                books += book_rows(
                    ticker,
                    when,
                    [(Decimal(bid) / 100, 100), (Decimal(max(1, bid - 1)) / 100, 200)],
                    [(Decimal(100 - ask) / 100, 100), (Decimal(max(1, 99 - ask)) / 100, 200)],
                )
        settled = i % 4 != 3
        result = ("yes" if rng.random() < p / 100 else "no") if settled else ""
        value = (Decimal(1) if result == "yes" else Decimal(0)) if settled else None
        markets.append(
            market(
                ticker,
                event,
                close=close_t,
                result=result,
                value=value,
                settle=close_t + timedelta(minutes=5) if settled else None,
                open_=open_t,
            )
        )
        for h in range(int((close_t - open_t).total_seconds() // 3600)):
            end = open_t + timedelta(hours=h + 1)
            candles.append(
                {
                    "ticker": ticker,
                    "series_ticker": s,
                    "period_interval": 60,
                    "end_period_ts": end,
                    "price_close_dollars": Decimal(p) / 100,
                    "volume_fp": Decimal(10),
                }
            )
    write_stream(root, "events", events)
    write_stream(root, "markets", markets)
    write_stream(root, "trades", trades)
    if books:
        write_stream(root, "orderbook_snapshots", books)
    write_stream(root, "candlesticks", candles)
    return {"markets": len(markets), "trades": len(trades)}
