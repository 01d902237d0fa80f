"""Benchmark the SQL models: build time on a generated lake, and the P&L and spread queries alone.

    uv run python bench/bench_models.py                      # 10,000,000 trades, 100,000 fills
    uv run python bench/bench_models.py --trades 200000 --fills 5000 --keep /tmp/lake

Generates a lake with pyarrow (vectorised numpy, decimal128 built from unscaled integers, hive `date=`
partitions, exactly the columns of docs/CONTRACTS.md): trades over `--markets` markets and 30 days, order-book
snapshots (5 levels a side, some one-sided and empty), hourly candlesticks, market snapshots, fills with fees for
one account,
settlements for the settled markets and a positions snapshot. Then, in a CHILD process (so its peak RSS is the
warehouse's alone): `warehouse.build` into a fresh DuckDB file (all models + every sql/tests check), then the
P&L models (int_pnl_lots -> fct_pnl) and the spread models (fct_spreads -> fct_spreads_daily,
fct_effective_spreads) re-run alone on the built database. Prints a table on stderr and one JSON summary as the
last stdout line (read by `python -m bench --models`). Seconds, input rows/s, peak RSS (MB).
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


def _ts(np, us):
    import pyarrow as pa

    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us", tz="UTC"))


def _write(table, root: Path, stream: str, date_us) -> None:
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
        basename_template="part-bench-{i}.parquet",
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
            "trade_id": pa.array(np.char.add("t", np.arange(trades).astype(str))),
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
            "fill_id": pa.array(np.char.add("f", np.arange(fills).astype(str))),
            "trade_id": pa.array(np.char.add("f", np.arange(fills).astype(str))),
            "order_id": pa.array(np.char.add("o", np.arange(fills).astype(str))),
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


def measure(lake_dir: Path) -> dict:
    """Child process: build, then the P&L and spread models alone; returns the figures."""
    from kalshi_lake import warehouse
    from kalshi_lake.warehouse.runner import discover

    models = {m.name: m for m in discover(warehouse.SQL_DIR)}
    t0 = time.perf_counter()
    result = warehouse.build(lake_dir)
    build_s = time.perf_counter() - t0
    con = warehouse.connect(str(lake_dir / "kalshi.duckdb"), read_only=False)
    counts = dict(
        con.execute(
            "select 'trades', count(*) from stg_trades union all select 'fills', count(*) from stg_fills "
            "union all select 'book_rows', count(*) from stg_orderbook_snapshots "
            "union all select 'market_rows', count(*) from stg_market_history "
            "union all select 'candle_rows', count(*) from stg_candlesticks"
        ).fetchall()
    )

    def rerun(names: list[str]) -> float:
        t = time.perf_counter()
        for n in names:
            con.execute(f"create or replace table {n} as\n{models[n].sql}")
        return time.perf_counter() - t

    pnl_s = rerun(["int_pnl_settlements", "int_market_marks", "int_pnl_lots", "fct_pnl"])
    spread_s = rerun(
        ["fct_spreads", "fct_spreads_daily", "fct_effective_spreads", "fct_effective_spreads_daily"]
    )
    con.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "build_s": round(build_s, 2),
        "models": len(result.models),
        "tests": len(result.tests),
        "test_failures": [f.name for f in result.failures],
        "pnl_s": round(pnl_s, 2),
        "spread_s": round(spread_s, 2),
        "build_trades_per_s": round(counts["trades"] / build_s),
        "pnl_fills_per_s": round(counts["fills"] / pnl_s),
        "spread_rows_per_s": round(
            (counts["book_rows"] + counts["market_rows"] + counts["candle_rows"] + counts["trades"])
            / spread_s
        ),
        "peak_rss_mb": round(peak_mb),
        **{f"rows_{k}": v for k, v in counts.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trades", type=int, default=10_000_000)
    p.add_argument("--fills", type=int, default=100_000)
    p.add_argument("--markets", type=int, default=2_000)
    p.add_argument("--keep", help="write the lake here and keep it (default: a temp dir, removed)")
    p.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the child process
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    lake_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-models-"))
    try:
        if (lake_dir / "lake").exists():
            shutil.rmtree(lake_dir / "lake")
        (lake_dir / "kalshi.duckdb").unlink(missing_ok=True)
        t0 = time.perf_counter()
        rows = generate(lake_dir / "lake", args.trades, args.fills, args.markets)
        gen_s = time.perf_counter() - t0
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--measure", str(lake_dir)],
            capture_output=True,
            text=True,
        )
        if child.returncode:
            sys.stderr.write(child.stderr)
            return child.returncode
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        summary = {
            "generate_s": round(gen_s, 2),
            "lake_rows": rows,
            **figures,
            "lake_mb": round(sum(f.stat().st_size for f in (lake_dir / "lake").rglob("*.parquet")) / 1e6),
        }
        for k, v in summary.items():
            print(f"{k:>22}: {v}", file=sys.stderr)
        print(json.dumps(summary))
        return 0 if not figures["test_failures"] else 1
    finally:
        if not args.keep:
            shutil.rmtree(lake_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
