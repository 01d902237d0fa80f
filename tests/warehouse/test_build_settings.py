"""The DuckDB settings a build runs with (runner.BUILD_SETTINGS) hold during the build and are undone after it, and
bench_models --reuse restores a kept lake to its generated state."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from kalshi_lake import warehouse

REPO = Path(__file__).resolve().parents[2]


def test_a_build_runs_without_insertion_order_and_restores_the_connection(tmp_path):
    (tmp_path / "lake").mkdir()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("set preserve_insertion_order = true")
    seen = []

    def on_model(_result):
        seen.append(con.execute("select current_setting('preserve_insertion_order')").fetchone()[0])

    warehouse.build_on(con, str(tmp_path / "lake"), run_tests_=False, on_model=on_model)
    assert seen and set(seen) == {False}
    assert con.execute("select current_setting('preserve_insertion_order')").fetchone()[0] is True


def test_bench_reuse_removes_the_top_up_and_keeps_the_generated_lake(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_models as bm
    finally:
        sys.path.remove(str(REPO / "bench"))
    lake, manifest = tmp_path / "lake", tmp_path / "bench-lake.json"
    wanted = {"trades": 2000, "fills": 50, "markets": 20}
    rows = bm.generate(lake, 2000, 50, 20)
    manifest.write_text(bm.json.dumps({**wanted, "rows": rows}))
    before = sorted(p.relative_to(lake) for p in lake.rglob("*") if p.is_file())
    bm.top_up(lake, 2000 * 100, 20)
    assert any(p.name.startswith("part-topup-") for p in lake.rglob("*.parquet"))
    assert bm._kept_lake(lake, manifest, wanted) == rows
    assert sorted(p.relative_to(lake) for p in lake.rglob("*") if p.is_file()) == before
    assert sorted(p for p in lake.rglob("date=*")) == sorted(
        p for p in lake.rglob("date=*") if any(p.iterdir())
    )  # no empty partition left behind
    assert bm._kept_lake(lake, manifest, {**wanted, "trades": 3000}) is None  # other sizes: generate again
    assert bm._kept_lake(tmp_path / "missing", manifest, wanted) is None
