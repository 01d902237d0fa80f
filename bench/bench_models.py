"""Benchmark the SQL models: a full build, a no-change build and an incremental top-up build on a generated lake.

    uv run python bench/bench_models.py                      # 10,000,000 trades, 100,000 fills
    uv run python bench/bench_models.py --trades 200000 --fills 5000 --keep /tmp/lake
    uv run python bench/bench_models.py --keep /tmp/lake10m --reuse   # generate once, then measure again

Generates a lake with pyarrow (vectorised numpy, decimal128 built from unscaled integers, hive `date=`
partitions, exactly the columns of docs/CONTRACTS.md): trades over `--markets` markets and 30 days, order-book
snapshots (5 levels a side, some one-sided and empty), hourly candlesticks, market snapshots, fills with fees for
one account,
settlements for the settled markets and a positions snapshot. Then, in a CHILD process (so its peak RSS is the
warehouse's alone): `warehouse.build` into a fresh DuckDB file (every model, with its sql/tests checks, timed
apart), the same-run floor of that full build (`write_floor`: every finished table copied into a fresh file, what
storing them costs before a row is computed), a no-change build twice (`if_changed`, what
`kalshi-lake build` does; and the incremental pass keeping every model),
then a 15-minute pull landed as new files (`top_up`) built incrementally (its phases, process CPU, the models
rebuilt whole and why, and its checks timed apart: those reading only kept models are skipped), the next
15-minute pull built the same way (`next_top_up_*`: a top-up after a top-up), a pull landing at noon of that new
day (`noon_top_up_*`: the first two land just after midnight, when the new day has no rows yet, the cheapest case
for a recompute by day; the morning between lands first as one catch-up pull, built untimed, so at noon the day
holds half a day of rows and nothing after them, as on a 15-minute schedule), and beside them, as
the baseline of the same run, the same lake rebuilt whole (`full_refresh`). Prints a table on stderr and one JSON summary as the last
stdout line (read by `python -m bench --models`). Seconds, rows, peak RSS (MB).

`--reuse` (with `--keep`) measures a lake kept by an earlier run instead of generating it again (a 10M-trade lake
takes minutes): the files the earlier run's top-up added (`part-topup-*`) are removed first, so the lake is the
generated one again; the warehouse file is always rebuilt from scratch. A missing lake is generated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY_US = 86_400_000_000
START_US = 1_793_491_200_000_000  # 2026-11-01T00:00:00Z


def _dec(np, unscaled, scale: int):
    """decimal128(18, scale) array from int64 unscaled values (no Python objects, no floats)."""
    import pyarrow as pa

    unscaled = np.asarray(unscaled, dtype=np.int64)
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(unscaled), [None, pa.py_buffer(words)])


def _uuids(np, n: int, namespace: int):
    """`n` distinct ids shaped like Kalshi's (36-character UUID strings, e.g. `027b2b24-c6e1-b20b-29fe-d53031761309`):
    the first 16 hex digits are a bijection of the index (an odd multiplier modulo 2^64), the last 12 hold
    `namespace` (< 2^16) and 32 more mixed bits, so ids of different namespaces (trades, fills, each top-up) never
    collide. Real ids are this long: DuckDB inlines strings of up to 12 bytes, so short ids (`t123`) would make
    every join, dedup and uniqueness check on them cheaper than on real data. Hex digits are written by a lookup
    table over 1M ids at a time (no Python string per id)."""
    import pyarrow as pa

    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chunks = []
    for lo in range(0, n, 1_000_000):
        i = np.arange(lo, min(n, lo + 1_000_000), dtype=np.uint64)
        with np.errstate(over="ignore"):
            a = i * np.uint64(0x9E3779B97F4A7C15)
            b = (i * np.uint64(0xC2B2AE3D27D4EB4F)) >> np.uint64(32)
        groups = (
            (a >> np.uint64(32), 0, 8),
            ((a >> np.uint64(16)) & np.uint64(0xFFFF), 9, 4),
            (a & np.uint64(0xFFFF), 14, 4),
            (b >> np.uint64(16), 19, 4),
            ((np.uint64(namespace) << np.uint64(32)) | b, 24, 12),
        )
        out = np.full((len(i), 36), ord("-"), dtype=np.uint8)
        for value, start, width in groups:
            shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
            out[:, start : start + width] = digits[(value[:, None] >> shifts) & np.uint64(0xF)]
        chunks.append(pa.array(out.view("S36").ravel(), type=pa.binary()).cast(pa.string()))
    return (
        pa.chunked_array(chunks, type=pa.string()).combine_chunks() if chunks else pa.array([], pa.string())
    )


def _ts(np, us):
    import pyarrow as pa

    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us", tz="UTC"))


def _write(table, root: Path, stream: str, date_us, run: str = "bench") -> None:
    """Write a table hive-partitioned by the UTC date of `date_us` (the partition column is not in the files)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.dataset as ds

    days = (np.asarray(date_us) // DAY_US).astype("int32")
    table = table.append_column("date", pa.array(days, type=pa.date32()))
    ds.write_dataset(
        table,
        root / stream,
        format="parquet",
        partitioning=["date"],
        partitioning_flavor="hive",
        basename_template=f"part-{run}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
        max_rows_per_group=1_000_000,
    )


def _meta(n: int, loaded_us: int, account: str | None = None) -> dict:
    import numpy as np
    import pyarrow as pa

    cols = {
        "_loaded_at": _ts(np, np.full(n, loaded_us)),
        "_run_id": pa.array(np.full(n, "bench"), type=pa.string()),
        "_extra": pa.nulls(n, type=pa.string()),
    }
    if account:
        cols["_account"] = pa.array(np.full(n, account), type=pa.string())
    return cols


def generate(root: Path, trades: int, fills: int, markets: int, seed: int = 7) -> dict[str, int]:
    """Write the benchmark lake; returns rows per stream."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    tickers = np.array([f"KXBENCH{i // 10:04d}-26NOV-M{i % 10}" for i in range(markets)])
    events = np.array([t.rsplit("-", 1)[0] for t in tickers])
    loaded = START_US + 31 * DAY_US
    settled = rng.random(markets) < 0.5
    value_c = np.where(rng.random(markets) < 0.5, 100, 0)
    value_c[::17] = rng.integers(1, 100, len(value_c[::17]))  # a few scalar settlements
    rows: dict[str, int] = {}

    # trades: random-walk-ish prices per market, times over 30 days
    mk = rng.integers(0, markets, trades)
    t_us = np.sort(START_US + rng.integers(0, 30 * DAY_US, trades))
    base = rng.integers(10, 90, markets)
    price_c = np.clip(base[mk] + rng.integers(-8, 9, trades), 1, 99)
    side = rng.random(trades) < 0.5
    t = pa.table(
        {
            "trade_id": _uuids(np, trades, 1),
            "ticker": pa.array(tickers[mk]),
            "count_fp": _dec(np, rng.integers(1, 500, trades) * 100, 2),
            "yes_price_dollars": _dec(np, price_c * 10_000, 6),
            "no_price_dollars": _dec(np, (100 - price_c) * 10_000, 6),
            "taker_outcome_side": pa.array(np.where(side, "yes", "no")),
            "taker_book_side": pa.array(np.where(side, "bid", "ask")),
            "created_time": _ts(np, t_us),
            "is_block_trade": pa.array(rng.random(trades) < 0.001),
            **_meta(trades, loaded),
        }
    )
    _write(t, root, "trades", t_us)
    rows["trades"] = trades
    del t

    # order-book snapshots: every market every 6 hours, 5 levels a side; 5% one-sided, 1% empty
    snaps_per = 120
    n_s = markets * snaps_per
    s_mk = np.repeat(np.arange(markets), snaps_per)
    s_us = START_US + np.tile(np.arange(snaps_per), markets) * (DAY_US // 4)
    mid_c = np.clip(base[s_mk] + rng.integers(-5, 6, n_s), 8, 92)
    state = rng.random(n_s)
    lv = 5
    L = np.repeat(np.arange(n_s), 2 * lv)
    side_is_yes = np.tile(np.r_[np.ones(lv, bool), np.zeros(lv, bool)], n_s)
    level = np.tile(np.r_[np.arange(lv), np.arange(lv)], n_s)
    yes_bid_c = mid_c - 1
    no_bid_c = 100 - (mid_c + 1)
    p_c = np.where(side_is_yes, yes_bid_c[L] - level, no_bid_c[L] - level)
    keep = ~((state[L] < 0.01) | ((state[L] < 0.06) & ~side_is_yes))  # empty books; NO side missing
    empty_side = ((state < 0.01)[:, None] & np.ones((1, 2), bool)) | np.c_[np.zeros(n_s, bool), state < 0.06]
    e_snap, e_side = np.nonzero(empty_side)
    n_l = int(keep.sum())
    ob = pa.concat_tables(
        [
            pa.table(
                {
                    "ticker": pa.array(tickers[s_mk[L[keep]]]),
                    "snapshot_ts": _ts(np, s_us[L[keep]]),
                    "side": pa.array(np.where(side_is_yes[keep], "yes", "no")),
                    "price_dollars": _dec(np, p_c[keep] * 10_000, 6),
                    "count_fp": _dec(np, rng.integers(1, 300, n_l) * 100, 2),
                    "level": pa.array(level[keep].astype(np.int32)),
                }
            ),
            pa.table(
                {
                    "ticker": pa.array(tickers[s_mk[e_snap]]),
                    "snapshot_ts": _ts(np, s_us[e_snap]),
                    "side": pa.array(np.where(e_side == 0, "yes", "no")),
                    "price_dollars": pa.nulls(len(e_snap), pa.decimal128(18, 6)),
                    "count_fp": pa.nulls(len(e_snap), pa.decimal128(18, 2)),
                    "level": pa.nulls(len(e_snap), pa.int32()),
                }
            ),
        ]
    )
    ob_us = ob.column("snapshot_ts").cast("int64").to_numpy()
    for k, v in _meta(ob.num_rows, loaded).items():
        ob = ob.append_column(k, v)
    _write(ob, root, "orderbook_snapshots", ob_us)
    rows["orderbook_snapshots"] = ob.num_rows
    del ob

    # hourly candlesticks per market over the 30 days (bid/ask closes: a quote source of fct_spreads)
    c_per = 30 * 24
    n_c = markets * c_per
    c_mk = np.repeat(np.arange(markets), c_per)
    c_us = START_US + (np.tile(np.arange(c_per), markets) + 1) * (DAY_US // 24)
    c_mid = np.clip(base[c_mk] + rng.integers(-5, 6, n_c), 8, 92)
    cdl = pa.table(
        {
            "ticker": pa.array(tickers[c_mk]),
            "series_ticker": pa.array(np.full(n_c, "KXBENCH")),
            "period_interval": pa.array(np.full(n_c, 60, dtype=np.int32)),
            "end_period_ts": _ts(np, c_us),
            "yes_bid_close_dollars": _dec(np, (c_mid - 1) * 10_000, 6),
            "yes_ask_close_dollars": _dec(np, (c_mid + 1) * 10_000, 6),
            "volume_fp": _dec(np, rng.integers(0, 10_000, n_c), 2),
            **_meta(n_c, loaded),
        }
    )
    _write(cdl, root, "candlesticks", c_us)
    rows["candlesticks"] = n_c
    del cdl

    # market snapshots: daily per market (active), last one settled where settled
    m_per = 30
    n_m = markets * m_per
    m_mk = np.repeat(np.arange(markets), m_per)
    m_day = np.tile(np.arange(m_per), markets)
    m_us = START_US + m_day * DAY_US + 3_600_000_000
    last = m_day == m_per - 1
    status = np.where(last & settled[m_mk], "finalized", "active")
    mid_m = np.clip(base[m_mk] + rng.integers(-5, 6, n_m), 8, 92)
    mkt = pa.table(
        {
            "ticker": pa.array(tickers[m_mk]),
            "event_ticker": pa.array(events[m_mk]),
            "market_type": pa.array(np.where(value_c[m_mk] % 100 == 0, "binary", "scalar")),
            "title": pa.array(tickers[m_mk]),
            "status": pa.array(status),
            "result": pa.array(
                np.where(
                    status == "finalized",
                    np.where(value_c[m_mk] == 100, "yes", np.where(value_c[m_mk] == 0, "no", "scalar")),
                    "",
                )
            ),
            "created_time": _ts(np, np.full(n_m, START_US)),
            "updated_time": _ts(np, m_us),
            "open_time": _ts(np, np.full(n_m, START_US)),
            "close_time": _ts(np, np.full(n_m, START_US + 29 * DAY_US)),
            "settlement_ts": _ts(np, np.full(n_m, START_US + 30 * DAY_US)),
            "yes_bid_dollars": _dec(np, (mid_m - 1) * 10_000, 6),
            "yes_bid_size_fp": _dec(np, np.full(n_m, 1000), 2),
            "yes_ask_dollars": _dec(np, (mid_m + 1) * 10_000, 6),
            "yes_ask_size_fp": _dec(np, np.full(n_m, 1000), 2),
            "last_price_dollars": _dec(np, mid_m * 10_000, 6),
            "settlement_value_dollars": pc.if_else(
                pa.array(status == "finalized"),
                _dec(np, value_c[m_mk] * 10_000, 6),
                pa.scalar(None, pa.decimal128(18, 6)),
            ),
            **_meta(n_m, 0),
        }
    )
    mkt = mkt.set_column(mkt.schema.get_field_index("_loaded_at"), "_loaded_at", _ts(np, m_us))
    _write(mkt, root, "markets", m_us)
    rows["markets"] = n_m

    # fills of one account on the first 200 markets (or fewer), with fees; settlements; a positions snapshot
    f_markets = min(200, markets)
    f_mk = rng.integers(0, f_markets, fills)
    f_us = np.sort(START_US + rng.integers(0, 28 * DAY_US, fills))
    f_p = np.clip(base[f_mk] + rng.integers(-8, 9, fills), 1, 99)
    f_n = rng.integers(1, 50, fills)
    f_bid = rng.random(fills) < 0.5
    fee_u = (7 * f_n * f_p * (100 - f_p) + 99) // 100  # 0.07 C P (1-P) in 1e-6 dollars, rounded up
    fl = pa.table(
        {
            "fill_id": _uuids(np, fills, 2),
            "trade_id": _uuids(np, fills, 3),
            "order_id": _uuids(np, fills, 4),
            "ticker": pa.array(tickers[f_mk]),
            "outcome_side": pa.array(np.where(f_bid, "yes", "no")),
            "book_side": pa.array(np.where(f_bid, "bid", "ask")),
            "count_fp": _dec(np, f_n * 100, 2),
            "yes_price_dollars": _dec(np, f_p * 10_000, 6),
            "no_price_dollars": _dec(np, (100 - f_p) * 10_000, 6),
            "is_taker": pa.array(np.ones(fills, bool)),
            "created_time": _ts(np, f_us),
            "fee_cost": _dec(np, fee_u, 6),
            "ts": _ts(np, f_us // 1_000_000 * 1_000_000),
            **_meta(fills, loaded, "bench"),
        }
    )
    _write(fl, root, "fills", f_us)
    rows["fills"] = fills
    net = np.bincount(f_mk, weights=np.where(f_bid, f_n, -f_n), minlength=markets).astype(np.int64)
    revenue = np.where(net > 0, net * value_c, -net * (100 - value_c))  # payout of the position, cents
    st_mk = np.nonzero(settled[:f_markets])[0]
    n_st = len(st_mk)
    st = pa.table(
        {
            "ticker": pa.array(tickers[st_mk]),
            "event_ticker": pa.array(events[st_mk]),
            "market_result": pa.array(
                np.where(value_c[st_mk] == 100, "yes", np.where(value_c[st_mk] == 0, "no", "scalar"))
            ),
            "revenue": pa.array(revenue[st_mk].astype(np.int64)),
            "value": pa.array(value_c[st_mk].astype(np.int64)),
            "settled_time": _ts(np, np.full(n_st, START_US + 30 * DAY_US)),
            **_meta(n_st, loaded, "bench"),
        }
    )
    _write(st, root, "settlements", np.full(n_st, START_US + 30 * DAY_US))
    rows["settlements"] = n_st
    return rows


def top_up(
    root: Path,
    trades: int,
    markets: int,
    minutes: int = 15,
    seed: int = 8,
    pull: int = 0,
    at_us: int | None = None,
) -> dict[str, int]:
    """Land what a `minutes` pull adds after the generated 30 days, as new files of a new run: trades at the lake's
    rate, one order-book snapshot of every market, the hourly candle ending in the window, every market's state
    observed again. `pull` n > 0: the n-th pull after the first (its window `minutes` later, its own trade ids and
    files `part-topup-<n>-*`). `at_us`: the window's start instead (the midday pull lands inside the last generated
    day, beside rows already there). Returns rows per stream."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    win = minutes * 60_000_000
    t0 = START_US + 30 * DAY_US + pull * win if at_us is None else at_us
    run = f"topup-{pull}" if pull else "topup"
    loaded = t0 + win
    tickers = np.array([f"KXBENCH{i // 10:04d}-26NOV-M{i % 10}" for i in range(markets)])
    n = max(1, trades * minutes // (30 * 24 * 60))
    mk = rng.integers(0, markets, n)
    t_us = np.sort(t0 + rng.integers(0, win, n))
    price_c = rng.integers(10, 90, n)
    side = rng.random(n) < 0.5
    table = pa.table(
        {
            "trade_id": _uuids(np, n, 16 + pull),
            "ticker": pa.array(tickers[mk]),
            "count_fp": _dec(np, rng.integers(1, 500, n) * 100, 2),
            "yes_price_dollars": _dec(np, price_c * 10_000, 6),
            "no_price_dollars": _dec(np, (100 - price_c) * 10_000, 6),
            "taker_outcome_side": pa.array(np.where(side, "yes", "no")),
            "taker_book_side": pa.array(np.where(side, "bid", "ask")),
            "created_time": _ts(np, t_us),
            "is_block_trade": pa.array(np.zeros(n, bool)),
            **_meta(n, loaded),
        }
    )
    _write(table, root, "trades", t_us, run)
    rows = {"trades": n}
    s_us = np.full(2 * markets, t0 + win // 2)
    mid = rng.integers(10, 90, markets)
    books = pa.table(
        {
            "ticker": pa.array(np.repeat(tickers, 2)),
            "snapshot_ts": _ts(np, s_us),
            "side": pa.array(np.tile(["yes", "no"], markets)),
            "price_dollars": _dec(np, np.ravel(np.c_[mid - 1, 99 - mid]) * 10_000, 6),
            "count_fp": _dec(np, rng.integers(1, 300, 2 * markets) * 100, 2),
            "level": pa.array(np.zeros(2 * markets, np.int32)),
            **_meta(2 * markets, loaded),
        }
    )
    _write(books, root, "orderbook_snapshots", s_us, run)
    rows["orderbook_snapshots"] = books.num_rows
    c_us = np.full(markets, t0 + DAY_US // 24)
    candles = pa.table(
        {
            "ticker": pa.array(tickers),
            "series_ticker": pa.array(np.full(markets, "KXBENCH")),
            "period_interval": pa.array(np.full(markets, 60, dtype=np.int32)),
            "end_period_ts": _ts(np, c_us),
            "yes_bid_close_dollars": _dec(np, (mid - 1) * 10_000, 6),
            "yes_ask_close_dollars": _dec(np, (mid + 1) * 10_000, 6),
            "volume_fp": _dec(np, rng.integers(0, 10_000, markets), 2),
            **_meta(markets, loaded),
        }
    )
    _write(candles, root, "candlesticks", c_us, run)
    rows["candlesticks"] = markets
    # the markets pull: every market's latest state observed again (same values, a new _loaded_at); the latest
    # load's rows only (the partition also holds the earlier pulls' of that day: re-landing them all would double
    # the markets each pull)
    latest = sorted((root / "markets").glob("date=*"))[-1]
    mkt = pq.ParquetDataset(latest).read()
    mkt = mkt.filter(pc.equal(mkt["_loaded_at"], pc.max(mkt["_loaded_at"])))
    mkt = mkt.drop_columns([c for c in ("date",) if c in mkt.column_names])
    for col in ("_loaded_at", "updated_time"):
        mkt = mkt.set_column(mkt.schema.get_field_index(col), col, _ts(np, np.full(mkt.num_rows, loaded)))
    _write(mkt, root, "markets", np.full(mkt.num_rows, loaded), run)
    rows["markets"] = mkt.num_rows
    return rows


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _build(lake_dir: Path, **kw) -> tuple[float, object]:
    """Seconds of a build (without its checks when it ran them: `phases["checks"]`) and its result; the process
    CPU seconds of the build go in `result.cpu_s`."""
    from kalshi_lake import warehouse

    kw.setdefault("run_tests", False)
    t, c = time.perf_counter(), _cpu()
    result = warehouse.build(lake_dir, **kw)
    result.cpu_s = _cpu() - c
    return time.perf_counter() - t - result.phases.get("checks", 0.0), result


def _slowest(result, k: int = 5) -> list[str]:
    models = sorted(result.models, key=lambda m: -m.seconds)[:k]
    return [f"{m.name} {m.seconds:.2f}s {m.how}" for m in models]


# the per-trade tables of a build: the two largest of its writes
PER_TRADE_TABLES = ("stg_trades", "fct_effective_spreads")


def write_floor(db: Path, work: Path) -> dict:
    """Seconds to copy every finished table of the warehouse `db` (models, key-hash companions, carries, the build
    registry) into a fresh DuckDB file, one CTAS each, then a checkpoint: what a build storing these tables pays
    before it computes a row, the baseline the full build is read against. With the two per-trade tables' own
    copies and the number of tables."""
    import duckdb

    target = work / "floor.duckdb"
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute(f"attach '{db}' as built (read_only)")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'built' and not temporary"
            ).fetchall()
        ]
        each = {}
        t0 = time.perf_counter()
        for table in tables:
            t = time.perf_counter()
            con.execute(f'create table "{table}" as select * from built."{table}"')
            each[table] = time.perf_counter() - t
        con.execute("checkpoint")
        total = time.perf_counter() - t0
    finally:
        con.close()
        target.unlink(missing_ok=True)
    return {
        "all_tables": round(total, 2),
        "tables": len(tables),
        **{t: round(each[t], 2) for t in PER_TRADE_TABLES},
    }


def measure(lake_dir: Path, trades: int, markets: int) -> dict:
    """Child process: a full build, two no-change builds, a 15-minute top-up built incrementally and, as its
    baseline in the same run, rebuilt whole (`full_refresh`); then the checks. Returns the figures."""
    from kalshi_lake import warehouse

    # with its checks, as `kalshi-lake build` runs them (a model rebuilt whole is checked through its key hashes)
    full_s, full = _build(lake_dir, run_tests=True)
    tests_s, failures = full.phases["checks"], full.failures
    con = warehouse.connect(str(lake_dir / "kalshi.duckdb"), read_only=True)
    counts = dict(
        con.execute(
            "select 'trades', count(*) from stg_trades union all select 'fills', count(*) from stg_fills "
            "union all select 'book_rows', count(*) from stg_orderbook_snapshots "
            "union all select 'candle_rows', count(*) from stg_candlesticks"
        ).fetchall()
    )
    con.close()
    floor = write_floor(lake_dir / "kalshi.duckdb", lake_dir)
    skip_s, skipped = _build(lake_dir, if_changed=True)  # what `kalshi-lake build` does on an unchanged lake
    # the incremental pass with nothing to do: every model kept (its checks too, but those reading the lake)
    keep_s, kept = _build(lake_dir, run_tests=True)
    added = top_up(lake_dir / "lake", trades, markets)
    inc_s, inc = _build(lake_dir, run_tests=True)  # timed without its checks (top_up_checks_s)
    inc_how = {m.name: m.how for m in inc.models}
    # the next pull, 15 minutes later: a top-up after a top-up (the first one after a full build also pays DuckDB's
    # first checkpoint of the tables it modifies, which reorganises them once)
    top_up(lake_dir / "lake", trades, markets, seed=9, pull=1)
    inc2_s, inc2 = _build(lake_dir, run_tests=True)
    # a pull at noon: the two pulls above land just after midnight on a day with no rows yet, the cheapest case for
    # a recompute by day; at noon the day already holds half a day of rows. The morning's pulls land first (one
    # catch-up of 00:30-12:00, built untimed), so the lake is current up to noon, as it is for a 15-minute schedule
    day30 = START_US + 30 * DAY_US
    top_up(lake_dir / "lake", trades, markets, minutes=690, seed=10, pull=2, at_us=day30 + 30 * 60_000_000)
    _build(lake_dir, run_tests=True)
    top_up(lake_dir / "lake", trades, markets, seed=11, pull=3, at_us=day30 + DAY_US // 2)
    noon_s, noon = _build(lake_dir, run_tests=True)
    refresh_s, refresh = _build(lake_dir, full_refresh=True)  # the baseline: the same lake rebuilt whole
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "full_build_s": round(full_s, 2),
        "tests_s": round(tests_s, 2),
        "full_write_floor_s": floor,
        "full_per_trade_models_s": {
            m.name: round(m.seconds, 2) for m in full.models if m.name in PER_TRADE_TABLES
        },
        "models": len(full.models),
        "tests": len(full.tests),
        "test_failures": [f.name for f in failures],
        "no_change_skip_s": round(skip_s, 3),
        "no_change_skipped": skipped.skipped,
        "no_change_incremental_s": round(keep_s, 2),
        "no_change_kept": sum(m.how == "kept" for m in kept.models),
        "top_up_rows": added,
        "top_up_incremental_s": round(inc_s, 2),
        "top_up_full_refresh_s": round(refresh_s, 2),
        "top_up_speedup": round(refresh_s / inc_s, 1),
        "top_up_cpu_s": round(inc.cpu_s, 2),
        "top_up_phases": {k: round(v, 3) for k, v in inc.phases.items()},
        "top_up_checks_s": round(inc.phases.get("checks", 0.0), 2),
        "top_up_checks_run": len(inc.tests) - inc.tests_skipped,
        "top_up_checks_skipped": inc.tests_skipped,
        "top_up_check_failures": [f.name for f in inc.failures],
        "top_up_rebuilt_whole": {m.name: m.why for m in inc.models if m.how == "full"},
        "next_top_up_incremental_s": round(inc2_s, 2),
        "next_top_up_cpu_s": round(inc2.cpu_s, 2),
        "next_top_up_phases": {k: round(v, 3) for k, v in inc2.phases.items()},
        "next_top_up_check_failures": [f.name for f in inc2.failures],
        "noon_top_up_incremental_s": round(noon_s, 2),
        "noon_top_up_cpu_s": round(noon.cpu_s, 2),
        "noon_top_up_phases": {k: round(v, 3) for k, v in noon.phases.items()},
        "noon_top_up_check_failures": [f.name for f in noon.failures],
        "noon_top_up_slowest": _slowest(noon, 8),
        "top_up_models": {h: sum(v == h for v in inc_how.values()) for h in ("kept", "incremental", "full")},
        "top_up_seconds_by_how": {
            h: round(sum(m.seconds for m in inc.models if m.how == h), 2)
            for h in ("kept", "incremental", "full")
        },
        "top_up_slowest": _slowest(inc, 8),
        "full_slowest": _slowest(full),
        "build_trades_per_s": round(counts["trades"] / full_s),
        "peak_rss_mb": round(peak_mb),
        "code": str(Path(warehouse.__file__).resolve().parents[2]),  # the tree whose models were measured
        **{f"rows_{k}": v for k, v in counts.items()},
    }


def _kept_lake(lake: Path, manifest: Path, wanted: dict) -> dict[str, int] | None:
    """Rows per stream of a lake kept by an earlier run with the same sizes, restored to its generated state (the
    top-up's files removed); None when there is none to reuse (missing, or generated with other sizes)."""
    if not lake.is_dir() or not manifest.is_file():
        return None
    meta = json.loads(manifest.read_text())
    if {k: meta.get(k) for k in wanted} != wanted:
        print(f"kept lake has {meta} , not {wanted}: generating again", file=sys.stderr)
        return None
    for f in lake.rglob("part-topup-*.parquet"):
        f.unlink()
    for d in sorted(lake.glob("*/date=*"), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return meta["rows"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trades", type=int, default=10_000_000)
    p.add_argument("--fills", type=int, default=100_000)
    p.add_argument("--markets", type=int, default=2_000)
    p.add_argument("--keep", help="write the lake here and keep it (default: a temp dir, removed)")
    p.add_argument(
        "--reuse", action="store_true", help="with --keep: measure the kept lake, generate it if missing"
    )
    p.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the child process
    args = p.parse_args(argv)
    if args.reuse and not args.keep:
        p.error("--reuse needs --keep DIR (the kept lake)")
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.trades, args.markets)))
        return 0
    lake_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-models-"))
    try:
        (lake_dir / "kalshi.duckdb").unlink(missing_ok=True)
        manifest = lake_dir / "bench-lake.json"
        wanted = {"trades": args.trades, "fills": args.fills, "markets": args.markets, "ids": "uuid"}
        reused = _kept_lake(lake_dir / "lake", manifest, wanted) if args.reuse else None
        t0 = time.perf_counter()
        if reused is None:
            if (lake_dir / "lake").exists():
                shutil.rmtree(lake_dir / "lake")
            manifest.unlink(missing_ok=True)
            rows = generate(lake_dir / "lake", args.trades, args.fills, args.markets)
            manifest.write_text(json.dumps({**wanted, "rows": rows}))
        else:
            rows = reused
        gen_s = time.perf_counter() - t0
        child = subprocess.run(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--measure",
                str(lake_dir),
                "--trades",
                str(args.trades),
                "--markets",
                str(args.markets),
            ],
            capture_output=True,
            text=True,
        )
        if child.returncode:
            sys.stderr.write(child.stderr)
            return child.returncode
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        summary = {
            "lake": "reused" if reused is not None else "generated",
            "generate_s": round(gen_s, 2),
            "lake_rows": rows,
            **figures,
            "lake_mb": round(sum(f.stat().st_size for f in (lake_dir / "lake").rglob("*.parquet")) / 1e6),
        }
        for k, v in summary.items():
            print(f"{k:>22}: {v}", file=sys.stderr)
        print(json.dumps(summary))
        failed = (
            figures["test_failures"]
            or figures["top_up_check_failures"]
            or figures["next_top_up_check_failures"]
        )
        return 0 if not failed else 1
    finally:
        if not args.keep:
            shutil.rmtree(lake_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
