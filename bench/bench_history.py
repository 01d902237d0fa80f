"""What a 15-minute top-up costs as the lake's history grows: the same small lake with 30 or with `--days` days of
daily files.

    uv run python bench/bench_history.py --days 365
    uv run python bench/bench_history.py --days 365 --code /tmp/wt   # another revision's kalshi_lake and sql/

Generates `bench_models`' lake (`--trades` over `--markets` markets and 30 days, one file per stream and day), and a
copy whose trades, order-book snapshots, candlesticks and market snapshots are repeated back in time to `--days`
days, rounded up to whole 30-day blocks (365 gives 390 days; the summary's key says which). Each block's files are
rewritten with every timestamp shifted and trade ids made distinct: the same rows per day, more days, one file per
stream and day as the pulls and compaction leave them. Each lake gets a full build, then the last 15-minute pull of
its last day (23:45, the first after the full build) and the next day's first six (`bench_models.top_up`), each
built incrementally as `kalshi-lake build` does, with its checks, and timed (see PULLS: which of them make the day's
tables, which read them). Per lake and pull: the build's wall time, its phases (`source_views`: binding the `src_`
views over the snapshot's files; `views_and_table_macros`: the views over the lake's globs after the build) and its
slowest models. Prints a table on stderr and one JSON summary as the last stdout line. Seconds."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_models  # noqa: E402

REPEATED = ("trades", "orderbook_snapshots", "candlesticks", "markets")


def extend(lake: Path, days: int) -> int:
    """Repeat each REPEATED stream's 30 days of files back in time in blocks of 30 days until the lake spans `days`
    days (rounded up to a block); the number of files written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    written = 0
    for stream in REPEATED:
        for path in sorted((lake / stream).glob("date=*/*.parquet")):
            day = dt.date.fromisoformat(path.parent.name.removeprefix("date="))
            table = pq.read_table(path)
            for block in range(1, -(-days // 30)):
                shift = 30 * block
                cols = {}
                for name, col in zip(table.column_names, table.columns, strict=True):
                    if pa.types.is_timestamp(col.type):
                        col = pc.subtract(col, pa.scalar(dt.timedelta(days=shift), pa.duration("us")))
                    elif name == "trade_id":
                        col = pc.binary_join_element_wise(col, pa.scalar(f"h{block}"), "-")
                    cols[name] = col
                moved = day - dt.timedelta(days=shift)
                out = lake / stream / f"date={moved.isoformat()}" / f"part-history-{block}.parquet"
                out.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.table(cols), out)
                written += 1
    return written


# the pulls built and timed, in order: the last pull of the day before (23:45-24:00, the first after the full build:
# it makes the tables of last instants and folded history from every older row), then the day's first six. The trade
# models' windows (an hour before the pull) start on the day before until the pull of 01:00, whose windows start at
# midnight and make the day's tables (from the day before's and that day's rows, as a schedule running for days
# does); from the pull of 01:15 on, each pull reads them
PULLS = ("23:45", "00:00", "00:15", "00:30", "00:45", "01:00", "01:15")


def measure(work: Path, trades: int, markets: int) -> dict:
    """A full build of the lake under `work`, then the pulls of PULLS, each built as `kalshi-lake build` does and
    timed."""
    from kalshi_lake import warehouse

    full = warehouse.build(work)
    assert full.ok, str(full)
    return pulls(work, trades, markets)


def pulls(work: Path, trades: int, markets: int) -> dict:
    """Land and build the pulls of PULLS on the built warehouse under `work`, each timed."""
    from kalshi_lake import warehouse

    out = {}
    for n, label in enumerate(PULLS):
        hour, minute = map(int, label.split(":"))
        at_us = bench_models.START_US + 30 * bench_models.DAY_US + (hour * 60 + minute) * 60_000_000
        if hour == 23:  # the day before
            at_us -= bench_models.DAY_US
        # each pull its own trade ids and files (pull number n + 1)
        bench_models.top_up(work / "lake", trades, markets, seed=7 + n, pull=n + 1, at_us=at_us)
        t = time.perf_counter()
        result = warehouse.build(work)
        wall = time.perf_counter() - t
        assert result.ok, str(result)
        slowest = sorted(result.models, key=lambda m: -m.seconds)[:8]
        out[label] = {
            "s": round(wall, 3),
            "phases": {k: round(v, 3) for k, v in result.phases.items()},
            "slowest": {m.name: round(m.seconds, 3) for m in slowest},
        }
    out["files"] = sum(1 for _ in (work / "lake").rglob("*.parquet"))
    return out


def replay(work: Path, name: str, trades: int, markets: int) -> dict:
    """The pulls of PULLS on a prepared warehouse (`history_ab.py`): `work/saved/lake` is the generated lake and
    `work/saved/<name>.duckdb` its full build by revision `name` (made here on the first call, then kept); both are
    restored into `work/run` (always the same path: the warehouse records its lake's) before the pulls."""
    from kalshi_lake import warehouse

    saved, run = work / "saved", work / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    subprocess.run(["cp", "-al", str(saved / "lake"), str(run / "lake")], check=True)
    db = saved / f"{name}.duckdb"
    if db.exists():
        shutil.copy(db, run / "kalshi.duckdb")
    else:
        full = warehouse.build(run)
        assert full.ok, str(full)
        shutil.copy(run / "kalshi.duckdb", db)
    return {"code": str(Path(warehouse.__file__).resolve().parents[2]), **pulls(run, trades, markets)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=365, help="rounded up to whole 30-day blocks")
    p.add_argument("--trades", type=int, default=100_000)
    p.add_argument("--markets", type=int, default=200)
    p.add_argument(
        "--code", help="a checkout (e.g. a git worktree of another revision) whose kalshi_lake to measure"
    )
    p.add_argument(
        "--replay", nargs=2, metavar=("WORK", "NAME"), help=argparse.SUPPRESS
    )  # history_ab's child
    args = p.parse_args(argv)
    if args.code:
        sys.path.insert(0, str(Path(args.code).resolve()))
    from kalshi_lake import warehouse

    if args.replay:
        print(json.dumps(replay(Path(args.replay[0]), args.replay[1], args.trades, args.markets)))
        return 0

    out = {"code": str(Path(warehouse.__file__).resolve().parents[2])}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        blocks = -(-args.days // 30)  # the lake spans whole 30-day blocks: --days 365 gives 390 days
        for label, days in (("30 days", 30), (f"{30 * blocks} days", 30 * blocks)):
            work = Path(tmp) / label.replace(" ", "-")
            bench_models.generate(work / "lake", args.trades, 1_000, args.markets)
            if days > 30:
                extend(work / "lake", days)
            out[label] = measure(work, args.trades, args.markets)
            row = out[label]
            print(
                f"{label:>9}: {row['files']:5d} files; pulls "
                + ", ".join(f"{pull} {row[pull]['s']:.2f}" for pull in PULLS)
                + " s",
                file=sys.stderr,
            )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
