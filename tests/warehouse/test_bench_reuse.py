"""bench_models --reuse restores a kept lake to its generated state."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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
