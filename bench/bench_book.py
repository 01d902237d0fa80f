"""Benchmark `book_at`: one market's book at one instant over a day of a busy market's recorded deltas.

    uv run python -m bench.bench_book                        # 1,000,000 deltas of one market, 20 quieter markets
    uv run python -m bench.bench_book --deltas 100000 --keep /tmp/booklake

Generates a recorded lake with pyarrow (vectorised numpy, decimal128 from unscaled integers, hive `date=`
partitions, the `ws_book` / `ws_coverage` columns of kalshi_extract/lake/schemas.py): the busy market gets a
snapshot of 20 levels a side at the start of the day, then `--deltas` deltas over 24 hours (adds and their later
cancels on the cent grid, so no level goes negative), a reconnect (fresh snapshot on a new connection) every
`--reconnect-hours`, and the coverage log (whole per snapshot, alive every minute); `--markets` quieter markets get
`--deltas // 100` each. Then, in a CHILD process (its peak RSS is the warehouse's alone): `warehouse.build` into a
fresh DuckDB file, and on the built database, for `--instants` instants spread over the day: `book_at` for the busy
market, beside the baseline measured in the same run — a plain `count(*)` of that market's rows in
int_book_events, and the same count read from the Parquet files (`src_ws_book`). Median and max seconds per query.
Prints a table on stderr and one JSON summary as the last stdout line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_models import DAY_US, START_US, _dec, _ts, _write

BUSY = "KXBUSY-26NOV01-T50"


def _book_rows(np, pa, ticker, start_us, deltas, reconnect_hours, rng, conn_prefix):
    """ws_book rows of one market over a day: snapshots (one per connection) and `deltas` add/cancel deltas."""
    n_conn = max(1, int(24 // reconnect_hours))
    conn_start = start_us + np.arange(n_conn) * (DAY_US // n_conn)
    # deltas: n/2 adds at random times, each cancelled later (same side, price, quantity)
    half = deltas // 2
    side_yes = rng.random(half) < 0.5
    price_c = rng.integers(1, 50, half)  # both sides bid 0.01..0.49: never crossed
    qty = rng.integers(1, 100, half)
    t_add = start_us + 1_000_000 + rng.integers(0, DAY_US - 120_000_000, half)
    t_del = t_add + rng.integers(1_000_000, 60_000_000, half)
    t = np.concatenate([t_add, t_del])
    order = np.argsort(t, kind="stable")
    t = t[order]
    sides = np.concatenate([side_yes, side_yes])[order]
    prices = np.concatenate([price_c, price_c])[order]
    q = np.concatenate([qty, -qty])[order]
    conn = np.searchsorted(conn_start, t, side="right") - 1
    # a cancel after a reconnect may hit a level the new snapshot does not hold: the snapshot carries every
    # level then resting, so cancels of adds from before the snapshot are fine; keep seq per connection
    seq = np.empty(len(t), dtype=np.int64)
    for c in range(n_conn):
        idx = np.nonzero(conn == c)[0]
        seq[idx] = np.arange(2, len(idx) + 2)
    # snapshot of each connection: 20 standing levels a side (qty 1000) plus what is resting then
    snap_rows = []
    for c in range(n_conn):
        resting = {}
        for s in ("yes", "no"):
            for p in range(30, 50):
                resting[(s, p)] = 1000
        live = (t < conn_start[c]) & (conn < c) if c else np.zeros(len(t), bool)
        if live.any():
            # net resting quantity per (side, price) of the deltas before this snapshot
            key = sides[live].astype(np.int64) * 100 + prices[live]
            net = np.bincount(key, weights=q[live], minlength=200).astype(np.int64)
            for k in np.nonzero(net)[0]:
                s = "yes" if k >= 100 else "no"
                resting[(s, int(k % 100))] = resting.get((s, int(k % 100)), 0) + int(net[k])
        for (s, p), v in sorted(resting.items()):
            if v > 0:
                snap_rows.append((c, s, p, v))
    sc = np.array([r[0] for r in snap_rows])
    tables = [
        pa.table(
            {
                "ticker": pa.array(np.full(len(snap_rows), ticker)),
                "kind": pa.array(np.full(len(snap_rows), "snapshot")),
                "side": pa.array([r[1] for r in snap_rows]),
                "price_dollars": _dec(np, np.array([r[2] for r in snap_rows]) * 10_000, 6),
                "quantity_fp": _dec(np, np.array([r[3] for r in snap_rows]) * 100, 2),
                "seq": pa.array(np.ones(len(snap_rows), dtype=np.int64)),
                "ts": pa.nulls(len(snap_rows), pa.timestamp("us", tz="UTC")),
                "sid": pa.array(np.ones(len(snap_rows), dtype=np.int64)),
                "received_at": _ts(np, conn_start[sc]),
                "connection_id": pa.array(np.char.add(conn_prefix, sc.astype(str))),
            }
        ),
        pa.table(
            {
                "ticker": pa.array(np.full(len(t), ticker)),
                "kind": pa.array(np.full(len(t), "delta")),
                "side": pa.array(np.where(sides, "yes", "no")),
                "price_dollars": _dec(np, prices * 10_000, 6),
                "quantity_fp": _dec(np, q * 100, 2),
                "seq": pa.array(seq),
                "ts": _ts(np, t),
                "sid": pa.array(np.ones(len(t), dtype=np.int64)),
                "received_at": _ts(np, t),
                "connection_id": pa.array(np.char.add(conn_prefix, conn.astype(str))),
            }
        ),
    ]
    coverage = [(int(cs), "whole", ticker, f"{conn_prefix}{c}") for c, cs in enumerate(conn_start)]
    return tables, coverage


def generate(root: Path, deltas: int, markets: int, reconnect_hours: float, seed: int = 7) -> dict:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    loaded = START_US + DAY_US + 3_600_000_000
    tables, cov = _book_rows(np, pa, BUSY, START_US, deltas, reconnect_hours, rng, "busy-")
    for i in range(markets):
        tb, cv = _book_rows(
            np, pa, f"KXQUIET-26NOV01-T{i}", START_US, deltas // 100, reconnect_hours, rng, f"q{i}-"
        )
        tables += tb
        cov += cv
    book = pa.concat_tables(tables)
    for name, col in (
        ("_loaded_at", _ts(np, np.full(book.num_rows, loaded))),
        ("_run_id", pa.array(np.full(book.num_rows, "bench"))),
        ("_extra", pa.nulls(book.num_rows, pa.string())),
    ):
        book = book.append_column(name, col)
    _write(book, root, "ws_book", book.column("received_at").cast("int64").to_numpy())
    alive = START_US + np.arange(1, 24 * 60 + 1) * 60_000_000
    at = np.array([START_US - 1_000_000] + [c[0] for c in cov] + list(alive))
    cov_t = pa.table(
        {
            "at": _ts(np, at),
            "event": pa.array(["started"] + [c[1] for c in cov] + ["alive"] * len(alive)),
            "ticker": pa.array([None] + [c[2] for c in cov] + [None] * len(alive), pa.string()),
            "channel": pa.array([None] + ["orderbook_delta"] * len(cov) + [None] * len(alive), pa.string()),
            "connection_id": pa.array([None] + [c[3] for c in cov] + [None] * len(alive), pa.string()),
            "_loaded_at": _ts(np, np.full(len(at), loaded)),
            "_run_id": pa.array(np.full(len(at), "bench")),
            "_extra": pa.nulls(len(at), pa.string()),
        }
    )
    _write(cov_t, root, "ws_coverage", at)
    return {"ws_book": book.num_rows, "ws_coverage": cov_t.num_rows}


def _timed(con, sql: str, params: list, repeats: int) -> tuple[list[float], list]:
    out, rows = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = con.execute(sql, params).fetchall()
        out.append(time.perf_counter() - t0)
    return out, rows


def measure(lake_dir: Path, instants: int, repeats: int) -> dict:
    """Child process: build, then book_at and the baselines on the built database."""
    import datetime as dt

    from kalshi_lake import warehouse

    t0 = time.perf_counter()
    result = warehouse.build(lake_dir)
    build_s = time.perf_counter() - t0
    slow = {m.name: round(m.seconds, 2) for m in result.models if m.name.startswith(("int_book", "fct_book"))}
    con = warehouse.connect(str(lake_dir / "kalshi.duckdb"))
    day0 = dt.datetime.fromtimestamp(START_US / 1e6, dt.UTC)
    points = [day0 + dt.timedelta(hours=24 * (i + 0.5) / instants) for i in range(instants)]
    book, count_tbl, count_pq, levels = [], [], [], []
    for p in points:
        s, rows = _timed(con, "select * from book_at(?, ?)", [BUSY, p], repeats)
        book += s
        levels.append(len(rows))
        s, _ = _timed(con, "select count(*) from int_book_events where ticker = ?", [BUSY], repeats)
        count_tbl += s
        s, _ = _timed(con, "select count(*) from src_ws_book where ticker = ?", [BUSY], repeats)
        count_pq += s
    busy_rows = con.execute("select count(*) from int_book_events where ticker = ?", [BUSY]).fetchone()[0]
    con.close()

    def stats(xs):
        return {"median_s": round(statistics.median(xs), 4), "max_s": round(max(xs), 4)}

    return {
        "build_s": round(build_s, 2),
        "book_models_s": slow,
        "test_failures": [f.name for f in result.failures],
        "busy_market_rows": busy_rows,
        "book_at": stats(book),
        "baseline_count_int_book_events": stats(count_tbl),
        "baseline_count_parquet": stats(count_pq),
        "levels_returned_min_max": [min(levels), max(levels)],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--deltas", type=int, default=1_000_000, help="deltas of the busy market over the day")
    p.add_argument("--markets", type=int, default=20, help="quieter markets (deltas / 100 each)")
    p.add_argument(
        "--reconnect-hours", type=float, default=6.0, help="a new connection (snapshot) every N hours"
    )
    p.add_argument("--instants", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--keep", help="write the lake here and keep it (default: a temp dir, removed)")
    p.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the child process
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.instants, args.repeats)))
        return 0
    lake_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-book-"))
    try:
        if (lake_dir / "lake").exists():
            shutil.rmtree(lake_dir / "lake")
        (lake_dir / "kalshi.duckdb").unlink(missing_ok=True)
        t0 = time.perf_counter()
        rows = generate(lake_dir / "lake", args.deltas, args.markets, args.reconnect_hours)
        gen_s = time.perf_counter() - t0
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench_book",
                "--measure",
                str(lake_dir),
                "--instants",
                str(args.instants),
                "--repeats",
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ},
        )
        if child.returncode:
            sys.stderr.write(child.stderr)
            return child.returncode
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        summary = {"deltas": args.deltas, "generate_s": round(gen_s, 2), "lake_rows": rows, **figures}
        for k, v in summary.items():
            print(f"{k:>32}: {v}", file=sys.stderr)
        print(json.dumps(summary))
        return 0 if not figures["test_failures"] else 1
    finally:
        if not args.keep:
            shutil.rmtree(lake_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
