"""Compaction (issue 19, items 4 and 6): rows and types unchanged, crash-safe under SIGKILL, fewer files, and files
of an earlier schema (decimal widths) rewritten so polars, pyarrow and DuckDB read the lake right."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kalshi_extract.ingest.pull import Selection, pull_stream
from kalshi_extract.lake.convert import Converter
from kalshi_extract.lake.run_log import RUNS_SCHEMA, new_run_id, read_runs, record_run
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema
from kalshi_extract.lake.store import Lake
from tests.lake.helpers import client_and_lake
from tests.lake.test_lake import trades

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _small_files(lake: Lake, runs: int, per_run: int = 7, days: int = 3, offset: int = 0) -> None:
    for k in range(runs):
        w = lake.writer("trades", f"r{offset + k}", date_column="created_time")
        for d in range(days):  # a few partitions
            batch = trades(per_run, start=10_000 * (offset + k) + 1000 * d)
            i = batch.schema.get_field_index("created_time")
            shifted = pc.add(batch.column(i), pa.scalar(timedelta(days=d), pa.duration("us")))
            w.write(batch.set_column(i, batch.schema.field(i), shifted.cast(batch.schema.field(i).type)))
        lake.commit("trades", w.finish())


def _rows(lake: Lake) -> list:
    return sorted(lake.read("trades").to_pylist(), key=lambda r: r["trade_id"])


def _file_types(lake: Lake, stream: str) -> set:
    return {lake.open_parquet(p).schema_arrow for p in lake.files(stream)}


def test_compaction_keeps_rows_and_types_and_compacts_the_run_log(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    _small_files(lake, 6)
    for _ in range(4):
        record_run(lake, {"run_id": new_run_id(), "stream": "trades", "started_at": T0, "outcome": "ok"})
    before, runs_before = _rows(lake), read_runs(lake)
    files_before = len(lake.files("trades"))
    out = lake.compact("trades")
    assert out["removed"] == files_before and out["written"] == len(lake.files("trades")) < files_before
    assert _rows(lake) == before
    assert _file_types(lake, "trades") == {arrow_schema("trades")}
    assert lake.compact("_runs")["removed"] == 4 and len(lake.files("_runs")) == 1
    assert read_runs(lake) == runs_before
    assert _file_types(lake, "_runs") == {RUNS_SCHEMA}
    assert lake.compact("trades")["removed"] == 0  # nothing left to do


def test_a_commit_cut_short_is_rolled_forward_each_row_once(tmp_path, monkeypatch):
    root = str(tmp_path / "lake")
    lake = Lake(root)
    _small_files(lake, 4)
    before = _rows(lake)
    real_apply = Lake._apply

    def die_after_moves(self, record):  # the moves done, the deletes not: rows visible twice until recovery
        for src, dst in record.get("moves", []):
            self._move(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(Lake, "_apply", die_after_moves)
    with pytest.raises(KeyboardInterrupt):
        lake.compact("trades")
    monkeypatch.setattr(Lake, "_apply", real_apply)
    fresh = Lake(root)
    with fresh.lock("trades"):  # the next writer rolls the record forward
        pass
    assert _rows(fresh) == before


CHILD = """
import sys
from kalshi_extract.lake.store import Lake
print("go", flush=True)
Lake(sys.argv[1]).compact("trades", small_rows=10**9)
print("done", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_compaction_loses_and_duplicates_nothing(tmp_path):
    root = str(tmp_path / "lake")
    lake = Lake(root)
    rng = random.Random(19)
    killed = 0
    for trial in range(24):  # until at least 3 kills landed mid-compaction (8 trials at least)
        if trial >= 8 and killed >= 3:
            break
        _small_files(lake, 12, per_run=200, days=6, offset=100 * trial)
        before = _rows(lake)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, root], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        out = proc.communicate()[0]
        killed += "done" not in out
        with Lake(root).lock("trades"):  # recovery: roll forward or discard
            pass
        after = _rows(Lake(root))
        assert len(after) == len(before) and after == before, trial
        assert not [i for i in lake._list(lake._join("_tmp")) if i.base_name.startswith("trades--")]
    assert killed >= 3  # most trials were cut short


def test_candles_pull_writes_a_few_files_not_one_per_market(exchange, sim_account, tmp_path):
    client, lake, _ = client_and_lake(sim_account, tmp_path / "lake")
    with client:
        result = pull_stream(client, lake, "candlesticks", Selection(candle_interval=1440))
    assert result.ok, result.error
    files = lake.files("candlesticks")
    days = {p.rsplit("/", 2)[-2] for p in files}
    assert result.partitions > 20 and result.rows > 0
    assert len(files) == len(days) < result.partitions, (len(files), len(days), result.partitions)


def _markets(strike: str, ticker: str) -> pa.RecordBatch:
    item = {"ticker": ticker, "event_ticker": "E", "status": "open", "floor_strike": Decimal(strike)}
    conv = Converter("markets", STREAM_COLUMNS["markets"], arrow_schema("markets"), run_id="r", loaded_at=T0)
    return conv.convert([item])


def test_an_older_decimal_width_is_migrated_so_every_engine_reads_it_right(tmp_path):
    import duckdb
    import polars as pl

    lake = Lake(str(tmp_path / "lake"))
    new = _markets("96500.123456789012", "NEW")
    w = lake.writer("markets", "r-new")
    w.write(new)
    lake.commit("markets", w.finish())
    # a file of an earlier version: floor_strike was decimal128(24, 8)
    old_schema = arrow_schema("markets")
    i = old_schema.get_field_index("floor_strike")
    old_schema = old_schema.set(i, pa.field("floor_strike", pa.decimal128(24, 8)))
    old = _markets("96400.12345678", "OLD").cast(old_schema)
    w = lake.writer("markets", "r-old", schema=old_schema)
    w.write(old)
    lake.commit("markets", w.finish())
    assert len(lake.stale_files("markets")) == 1

    assert lake.compact("markets")["migrated"] == 1
    assert lake.stale_files("markets") == []
    want = {"NEW": Decimal("96500.123456789012"), "OLD": Decimal("96400.12345678")}
    files = lake.files("markets")
    by_pyarrow = pa.concat_tables(pq.read_table(f) for f in files)
    assert (
        dict(zip(*(by_pyarrow.column(c).to_pylist() for c in ("ticker", "floor_strike")), strict=True))
        == want
    )
    by_polars = pl.read_parquet(files).select("ticker", "floor_strike").rows()
    assert dict(by_polars) == want
    glob = f"{lake.stream_path('markets')}/*/*.parquet"
    by_duckdb = duckdb.sql(f"select ticker, floor_strike from read_parquet('{glob}')").fetchall()
    assert dict(by_duckdb) == want


def test_cli_compact_compacts_every_stream_and_refuses_an_unknown_one(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kalshi_lake.cli import app

    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KALSHI_CONFIG", raising=False)
    lake = Lake(str(tmp_path / "data" / "lake"))
    _small_files(lake, 3, days=2)
    record_run(lake, {"run_id": new_run_id(), "stream": "trades", "started_at": T0, "outcome": "ok"})
    record_run(lake, {"run_id": new_run_id(), "stream": "trades", "started_at": T0, "outcome": "ok"})
    before = _rows(lake)
    bad = CliRunner().invoke(app, ["compact", "trade"])
    assert bad.exit_code != 0 and "unknown stream 'trade'" in bad.output and len(lake.files("trades")) == 6
    result = CliRunner().invoke(app, ["compact"])
    assert result.exit_code == 0, result.output
    assert "trades: 6 files → 2" in result.output and "_runs: 2 files → 1" in result.output
    assert len(lake.files("trades")) == 2 and _rows(lake) == before
