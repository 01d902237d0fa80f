"""Top-ups do not grow the lake by a file per stream per run: a pull compacts the day partitions it wrote to once
they hold COMPACT_AT_FILES files, and the run log's; rows are those of a lake pulled alike without compaction."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kalshi_extract.ingest import run as run_mod
from kalshi_extract.ingest.plan import plan_pull
from kalshi_extract.ingest.run import run_pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_sim import LocalExchange

pytestmark = pytest.mark.slow

STREAMS = ["markets", "trades", "candlesticks", "orderbook_snapshots", "exchange_status"]
TOPUPS = 10


def _settings(ex, lake_dir: Path) -> Settings:
    return Settings.load(
        environ={"KALSHI_ENV": "local", "KALSHI_API_URL": ex.base_url, "KALSHI_LAKE_DIR": str(lake_dir)},
        config_path=None,
    )


def _per_partition(lake_dir: Path) -> Counter:
    return Counter(p.parent.parent.name + "/" + p.parent.name for p in (lake_dir / "lake").rglob("*.parquet"))


def _rows(lake: Lake, stream: str) -> list[tuple]:
    table = lake.read(stream).drop_columns(["_loaded_at", "_run_id"])
    return sorted(tuple(str(v) for v in r.values()) for r in table.to_pylist())


def test_ten_top_ups_keep_few_files_and_every_row(tmp_path, monkeypatch):
    plain, compacted = tmp_path / "plain", tmp_path / "compacted"
    with LocalExchange(seed=7, size="tiny") as ex:
        ex.advance(seconds=6 * 3600)
        for k in range(TOPUPS + 1):
            if k:
                ex.advance(seconds=3600)
            for lake_dir, at_files in ((plain, 10**9), (compacted, run_mod.COMPACT_AT_FILES)):
                monkeypatch.setattr(run_mod, "COMPACT_AT_FILES", at_files)
                settings = _settings(ex, lake_dir)
                result = run_pull(settings, plan_pull(settings, STREAMS))
                assert all(s.ok for s in result.streams), [s.error for s in result.streams]
    before, after = _per_partition(plain), _per_partition(compacted)
    assert max(after.values()) < run_mod.COMPACT_AT_FILES  # no partition past the threshold
    assert sum(after.values()) < sum(before.values()) / 2, (sum(after.values()), sum(before.values()))
    for stream in STREAMS:
        assert _rows(Lake(str(compacted / "lake")), stream) == _rows(Lake(str(plain / "lake")), stream), (
            stream
        )
