"""Successive 15-minute pulls on a kept bench lake, each built incrementally: what a schedule pays per pull.

    uv run python bench/bench_steady.py --keep /tmp/lake10m --pulls 12

`bench_models.py` times single top-ups on a warehouse fresh from a full build, and a noon pull after one catch-up
pull of the morning. This runs a schedule instead: a copy of the kept lake (hard links, the generated files only)
is built whole (with its checks), then `--pulls` pulls of 15 minutes each (`bench_models.top_up`, the first just
after midnight of the day after the generated 30) are landed and built one after the other, as `kalshi-lake build`
would (open, build with checks, close). Per pull: the build with its checks, the close (where DuckDB checkpoints a WAL the
commit left), the whole, and the row groups and deleted-but-kept rows of `fct_effective_spreads` (a checkpoint
merges small row groups; row groups that only grow would show a schedule fragmenting the tables). Prints one line
per pull on stderr and a JSON summary as the last stdout line. Seconds."""

from __future__ import annotations

import argparse
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

from kalshi_lake import warehouse  # noqa: E402


def _fragments(con) -> tuple[int, int]:
    """fct_effective_spreads' row groups, and its rows stored but deleted."""
    groups, stored = con.execute(
        "select count(distinct row_group_id), sum(count) from pragma_storage_info('fct_effective_spreads') "
        "where column_name = 'trade_id' and segment_type <> 'VALIDITY'"
    ).fetchone()
    return groups, stored - con.execute("select count(*) from fct_effective_spreads").fetchone()[0]


def run(kept: Path, pulls: int, work: Path) -> dict:
    meta = json.loads((kept / "bench-lake.json").read_text())
    lake = work / "lake"
    subprocess.run(["cp", "-al", str(kept / "lake"), str(lake)], check=True)
    for f in lake.rglob("part-topup*.parquet"):  # the generated lake only
        f.unlink()
    for d in sorted(lake.glob("*/date=*"), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    t = time.perf_counter()
    # with its checks, as a schedule's first build (the pulls' builds then skip the checks of the models they keep)
    warehouse.build(work)
    full_s = time.perf_counter() - t
    db = str(work / "kalshi.duckdb")
    rows = []
    for n in range(1, pulls + 1):
        bench_models.top_up(lake, meta["trades"], meta["markets"], seed=100 + n, pull=n)
        t0 = time.perf_counter()
        con = warehouse._connect(db)
        result = warehouse.build_on(con, str(lake))
        t1 = time.perf_counter()
        groups, deleted = _fragments(con)
        t2 = time.perf_counter()
        con.close()
        t3 = time.perf_counter()
        row = {
            "pull": n,
            "build_s": round(t1 - t0, 3),
            "checks_s": round(result.phases.get("checks", 0.0), 3),
            "close_s": round(t3 - t2, 3),
            "total_s": round(t1 - t0 + t3 - t2, 3),
            "fes_row_groups": groups,
            "fes_deleted_rows": deleted,
            "failures": [f.name for f in result.failures],
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    totals = sorted(r["total_s"] for r in rows)
    return {
        "pulls": pulls,
        "full_build_s": round(full_s, 2),
        "total_median_s": totals[len(totals) // 2],
        "total_min_s": totals[0],
        "total_max_s": totals[-1],
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", required=True, help="a lake kept by bench_models.py --keep")
    p.add_argument("--pulls", type=int, default=12)
    args = p.parse_args(argv)
    kept = Path(args.keep)
    if not (kept / "bench-lake.json").exists():
        p.error(f"{kept} holds no bench lake: run bench/bench_models.py --keep {kept} first")
    work = Path(tempfile.mkdtemp(prefix="bench-steady-"))
    try:
        print(json.dumps(run(kept, args.pulls, work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
