"""Benchmark the backtester's replay: trade events per minute of wall time (target >= 1,000,000 on 2 cores).

    uv run python -m bench.bench_backtest                    # 1,200,000 trades over 300 markets
    uv run python -m bench.bench_backtest --trades 200000 --keep /tmp/btlake

Generates a lake with pyarrow + numpy (exactly the columns of docs/CONTRACTS.md: series, events, markets with
results, trades with decimal128 prices/counts, hive `date=` partitions), then measures separately
1. loading (`load_replay_data`: DuckDB reads the Parquet, dedups by trade_id, converts to integer units),
2. the replay alone with a strategy that ignores trades (the loop, resting-order checks, marks, settlements),
3. the replay with the built-in `threshold` strategy (an `on_trade` call + Trade object per event, orders, fills,
   fees), and
4. the whole `run_backtest` (load + replay + metrics).
Prints a table on stderr and one JSON summary as the last stdout line (read by `python -m bench --backtest`).
Not a test: machines are noisy; the figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

DAY_US = 86_400_000_000
START_US = 1_793_491_200_000_000  # 2026-11-01T00:00:00Z
TARGET_PER_MINUTE = 1_000_000


def _dec(np, pa, unscaled, scale: int):
    """decimal128(18, scale) from int64 unscaled values (no Python objects, no floats)."""
    unscaled = np.asarray(unscaled, dtype=np.int64)
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(unscaled), [None, pa.py_buffer(words)])


def generate_lake(root: Path, n_trades: int, n_markets: int, days: int, seed: int) -> None:
    """Random-walk YES prices per market on the cent grid; 3 of 4 markets settle inside the window."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ts_type = pa.timestamp("us", tz="UTC")
    loaded = pa.array([START_US + days * DAY_US], ts_type)[0]
    series = ["KXHIGHNY", "KXBTC", "KXFED"]
    fee_types = ["quadratic", "quadratic_with_maker_fees", "quadratic"]

    def meta(n):
        return {
            "_loaded_at": pa.array([loaded.value] * n, pa.int64()).cast(ts_type),
            "_run_id": pa.array(["bench"] * n),
            "_extra": pa.nulls(n, pa.string()),
        }

    def write(stream, table, day_us=None):
        if day_us is None:
            d = root / stream / "date=2026-11-01"
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, d / "part-bench-0.parquet")
            return
        days_idx = (np.asarray(day_us) - START_US) // DAY_US
        for k in np.unique(days_idx):
            mask = pa.array(days_idx == k)
            day = time.strftime("%Y-%m-%d", time.gmtime((START_US + int(k) * DAY_US) // 1_000_000))
            d = root / stream / f"date={day}"
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.filter(mask), d / "part-bench-0.parquet")

    write(
        "series",
        pa.table(
            {
                "ticker": series,
                "fee_type": fee_types,
                "fee_multiplier": _dec(np, pa, [1_000_000, 1_000_000, 500_000], 6),
                **meta(3),
            }
        ),
    )
    m_series = [series[i % 3] for i in range(n_markets)]
    events = [f"{s}-E{i // 3:04d}" for i, s in enumerate(m_series)]
    tickers = [f"{e}-M{i}" for i, e in enumerate(events)]
    write("events", pa.table({"event_ticker": events, "series_ticker": m_series, **meta(n_markets)}))
    span = days * DAY_US
    close = START_US + span - rng.integers(DAY_US // 24, DAY_US // 2, n_markets)
    settled = np.arange(n_markets) % 4 != 3
    result = np.where(settled, np.where(rng.random(n_markets) < 0.5, "yes", "no"), "")
    value = np.where(result == "yes", 1_000_000, 0)
    grid = json.dumps([{"start": "0.0000", "end": "1.0000", "step": "0.0100"}])
    write(
        "markets",
        pa.table(
            {
                "ticker": tickers,
                "event_ticker": events,
                "market_type": ["binary"] * n_markets,
                "open_time": pa.array(np.full(n_markets, START_US), pa.int64()).cast(ts_type),
                "close_time": pa.array(close, pa.int64()).cast(ts_type),
                "updated_time": pa.array(close, pa.int64()).cast(ts_type),
                "status": np.where(settled, "finalized", "active").tolist(),
                "result": result.tolist(),
                "settlement_value_dollars": pa.array(
                    _dec(np, pa, value, 6).to_pylist(), pa.decimal128(18, 6), mask=~settled
                ),
                "settlement_ts": pa.array(close + 300_000_000, pa.int64(), mask=~settled).cast(ts_type),
                "price_ranges": [grid] * n_markets,
                **meta(n_markets),
            }
        ),
    )
    # trades: markets drawn at random, times sorted within each market's open window, random-walk cents
    market = rng.integers(0, n_markets, n_trades)
    frac = rng.random(n_trades)
    ts = START_US + (frac * (close[market] - START_US)).astype(np.int64)
    order = np.lexsort((ts, market))
    market, ts = market[order], ts[order]
    steps = rng.choice(np.array([-2, -1, 0, 1, 2]), n_trades)
    walk = np.cumsum(steps)
    first = np.r_[0, np.flatnonzero(np.diff(market)) + 1]
    base = np.repeat(walk[first] - rng.integers(5, 95, len(first)), np.diff(np.r_[first, n_trades]))
    cents = np.abs((walk - base - 1) % 196 - 98) + 1  # reflect into 1..99
    price = cents * 10_000
    count = rng.integers(1, 5_000, n_trades)  # centi-contracts
    side = rng.random(n_trades) < 0.5
    trade_ids = pa.array([f"t{i:09d}" for i in range(n_trades)])
    write(
        "trades",
        pa.table(
            {
                "trade_id": trade_ids,
                "ticker": pa.array(np.array(tickers, dtype=object)[market].tolist()),
                "count_fp": _dec(np, pa, count, 2),
                "yes_price_dollars": _dec(np, pa, price, 6),
                "no_price_dollars": _dec(np, pa, 1_000_000 - price, 6),
                "taker_outcome_side": pa.array(np.where(side, "yes", "no").tolist()),
                "taker_book_side": pa.array(np.where(side, "bid", "ask").tolist()),
                "created_time": pa.array(ts, pa.int64()).cast(ts_type),
                "is_block_trade": pa.array(np.zeros(n_trades, bool)),
                **meta(n_trades),
            }
        ),
        day_us=ts,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trades", type=int, default=1_200_000)
    p.add_argument("--markets", type=int, default=300)
    p.add_argument("--days", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", help="write the lake here and keep it (default: a temp dir, removed)")
    args = p.parse_args(argv)

    from kalshi_lake.backtest import Strategy, load_replay_data, make_strategy, run_backtest
    from kalshi_lake.backtest.engine import Engine

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    lake = root / "lake"
    try:
        t = time.perf_counter()
        generate_lake(lake, args.trades, args.markets, args.days, args.seed)
        gen_s = time.perf_counter() - t

        t = time.perf_counter()
        data = load_replay_data(str(lake), include_candles=False)
        load_s = time.perf_counter() - t
        n = data.trades.num_rows

        class Idle(Strategy):
            name = "idle"

        rows = []
        for label, strat in (
            ("replay, idle strategy", Idle()),
            ("replay, threshold", make_strategy("threshold")),
        ):
            state = Engine(data, strat).run()
            rows.append((label, state.events, state.seconds, len(state.fills)))
        t = time.perf_counter()
        full = run_backtest(make_strategy("threshold"), str(lake))
        full_s = time.perf_counter() - t
        rows.append(
            ("run_backtest (load + replay + metrics)", full.state.events, full_s, full.metrics.n_fills)
        )

        print(
            f"lake: {n:,} trades, {args.markets} markets, generated in {gen_s:.1f}s; load {load_s:.2f}s "
            f"({n / load_s * 60:,.0f} rows/min)",
            file=sys.stderr,
        )
        print(f"{'run':<42}{'events':>12}{'seconds':>10}{'events/min':>16}{'fills':>8}", file=sys.stderr)
        for label, ev, sec, fills in rows:
            print(f"{label:<42}{ev:>12,}{sec:>10.2f}{ev / sec * 60:>16,.0f}{fills:>8,}", file=sys.stderr)
        threshold_rate = rows[1][1] / rows[1][2] * 60
        print(
            f"target >= {TARGET_PER_MINUTE:,} events/min (replay, threshold): "
            f"{'MET' if threshold_rate >= TARGET_PER_MINUTE else 'MISSED'}",
            file=sys.stderr,
        )
        summary = {
            "trades": n,
            "markets": args.markets,
            "load_seconds": round(load_s, 3),
            "replay_idle_events_per_minute": round(rows[0][1] / rows[0][2] * 60),
            "replay_threshold_events_per_minute": round(threshold_rate),
            "end_to_end_events_per_minute": round(rows[2][1] / rows[2][2] * 60),
            "fills": rows[1][3],
            "target_events_per_minute": TARGET_PER_MINUTE,
            "target_met": threshold_rate >= TARGET_PER_MINUTE,
        }
        sys.stdout.write(json.dumps(summary) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
