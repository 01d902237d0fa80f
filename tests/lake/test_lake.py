"""The lake writer: atomic commits, roll-forward after a crash, locks, other filesystems, compaction, run log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from kalshi_extract.errors import LakeLockedError, LakeStateError
from kalshi_extract.lake.convert import Converter
from kalshi_extract.lake.run_log import new_run_id, read_runs, record_run
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema
from kalshi_extract.lake.store import Lake

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def trades(n: int, start: int = 0, day_step: int = 0) -> pa.RecordBatch:
    items = [
        {
            "trade_id": f"t{i}",
            "ticker": "X-1",
            "count_fp": "1.00",
            "yes_price_dollars": "0.5000",
            "no_price_dollars": "0.5000",
            "taker_outcome_side": "yes",
            "taker_book_side": "bid",
            "created_time": (T0 + timedelta(days=day_step * i, seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "is_block_trade": False,
        }
        for i in range(start, start + n)
    ]
    return Converter(
        "trades", STREAM_COLUMNS["trades"], arrow_schema("trades"), run_id="r1", loaded_at=T0
    ).convert(items)


def lakes(tmp_path):
    (tmp_path / "sub").mkdir()
    mem = fsspec.filesystem("memory")
    return {
        "local": Lake(str(tmp_path / "lake")),
        "subtree": Lake(
            "lake", filesystem=pafs.SubTreeFileSystem(str(tmp_path / "sub"), pafs.LocalFileSystem())
        ),
        "fsspec-memory": Lake(f"memory://lake-{os.getpid()}-{time.time_ns()}"),
        "fsspec-object": Lake(f"/lk-{time.time_ns()}", filesystem=mem),
    }


@pytest.mark.parametrize("kind", ["local", "subtree", "fsspec-memory", "fsspec-object"])
def test_files_invisible_until_commit_on_every_filesystem(tmp_path, kind):
    lake = lakes(tmp_path)[kind]
    with lake.lock("trades", timeout=5):
        w = lake.writer("trades", "r1", date_column="created_time", row_group_rows=10)
        w.write(trades(50, day_step=1))  # 50 days → 50 partitions, ≤ 4 open at once
        files = w.finish()
        assert lake.files("trades") == [] and lake.read("trades").num_rows == 0
        lake.commit("trades", files, state={"version": 1, "partitions": {"all": {"watermark": "x"}}})
    table = lake.read("trades")
    assert table.num_rows == 50 and len(lake.files("trades")) == 50
    assert sorted(table.column("date").to_pylist())[0] == "2026-06-01"
    assert lake.read_state("trades")["partitions"]["all"]["watermark"] == "x"
    assert all("/date=2026-" in f and "/part-r1-" in f for f in lake.files("trades"))


def test_roll_forward_after_crash_between_record_and_moves(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    w = lake.writer("trades", "r1", date_column="created_time")
    w.write(trades(10))
    files = w.finish()
    record = {
        "stream": "trades",
        "moves": [list(m) for m in files],
        "deletes": [],
        "state": {"version": 1, "partitions": {"all": {"watermark": "w"}}, "hashes": {}, "meta": {}},
    }
    lake._write_bytes(
        lake._join("_commits", "trades--00000000000000000001-abc.json"), json.dumps(record).encode()
    )
    assert lake.read("trades").num_rows == 0  # the "killed" process never moved the files
    with lake.lock("trades", timeout=5):  # the next writer rolls the commit forward
        pass
    assert lake.read("trades").num_rows == 10
    assert lake.read_state("trades")["partitions"]["all"]["watermark"] == "w"
    assert lake._list(lake._join("_commits")) == []


def test_orphan_temp_files_are_deleted_and_never_visible(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    w = lake.writer("trades", "r1", date_column="created_time")
    w.write(trades(10))
    w.finish()  # written, never committed: a crash before the commit record
    assert lake._list(lake._join("_tmp"))
    with lake.lock("trades", timeout=5):
        pass
    assert lake._list(lake._join("_tmp")) == [] and lake.read("trades").num_rows == 0


def test_corrupt_state_is_a_clear_error(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    lake._write_bytes(lake._join("_state", "trades.json"), b"{not json")
    with pytest.raises(LakeStateError, match="not valid JSON"):
        lake.read_state("trades")


HOLD = """
import sys, time
from kalshi_extract.lake.store import Lake
lake = Lake(sys.argv[1])
with lake.lock("trades", timeout=5):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("kind", ["local", "fsspec-object"])
def test_second_writer_waits_then_fails_clearly(tmp_path, kind):
    lake = lakes(tmp_path)[kind]
    with lake.lock("trades", timeout=1):
        t = time.monotonic()
        other = Lake(lake.root, filesystem=lake.fs) if kind != "local" else Lake(lake.uri)
        with pytest.raises(LakeLockedError, match=r"stream 'trades' of lake .* is being written by pid \d+"):
            with other.lock("trades", timeout=0.5):
                pass
        assert time.monotonic() - t >= 0.5
        with other.lock("markets", timeout=0.5):  # other streams are free
            pass
    with lake.lock("trades", timeout=0.5):
        pass


def test_lock_held_by_killed_process_is_released(tmp_path):
    root = str(tmp_path / "lake")
    proc = subprocess.Popen([sys.executable, "-c", HOLD, root], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(LakeLockedError, match="Wait for that pull to finish"):
            with Lake(root).lock("trades", timeout=0.3):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with Lake(root).lock("trades", timeout=2):
        pass


def test_compact_merges_small_files_without_changing_rows(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    for k in range(5):
        w = lake.writer("trades", f"r{k}", date_column="created_time")
        w.write(trades(20, start=20 * k))
        lake.commit("trades", w.finish())
    before = lake.read("trades").sort_by("trade_id")
    assert len(lake.files("trades")) == 5
    assert lake.compact("trades")["removed"] == 5
    after = lake.read("trades").sort_by("trade_id")
    assert len(lake.files("trades")) == 1 and after.equals(before)


def test_append_adds_load_columns_and_partitions_by_ts(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    table = pa.table(
        {"event_id": ["e1", "e2"], "ts": pa.array([T0, T0 + timedelta(days=1)], pa.timestamp("us", tz="UTC"))}
    )
    files = lake.append("order_events", table, "orders-run")
    assert len(files) == 2 and any("date=2026-06-02" in f for f in files)
    got = lake.read("order_events")
    assert got.num_rows == 2 and set(got.column("_run_id").to_pylist()) == {"orders-run"}
    assert {"_loaded_at", "_extra"} <= set(got.column_names)


def test_run_log_roundtrip(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    assert read_runs(lake) == []
    rid = new_run_id()
    record_run(
        lake,
        {
            "run_id": rid,
            "stream": "trades",
            "started_at": T0,
            "finished_at": T0,
            "pages": 3,
            "rows": 10,
            "requests": 4,
            "retries": 1,
            "throttled": 1,
            "outcome": "ok",
            "unknown_fields": ["zz"],
            "selection": {"tickers": None},
        },
    )
    (row,) = read_runs(lake)
    assert (
        row["run_id"] == rid
        and row["rows"] == 10
        and row["throttled"] == 1
        and row["unknown_fields"] == '["zz"]'
    )


def test_landed_keys_are_checked_within_the_page_time_span():
    from kalshi_extract.ingest.time_rule import _Landed

    ts = pa.timestamp("us", tz="UTC")
    landed = _Landed(
        pa.array(["a", "b", "c", "n"]),
        pa.array([T0, T0 + timedelta(hours=1), T0 + timedelta(days=2), None], ts),
    )
    page_keys = pa.array(["a", "b", "x", "n", "c"])
    page_times = pa.array([T0, T0 + timedelta(hours=1), T0, T0, T0 + timedelta(days=2)], ts)
    assert landed.fresh(page_keys, page_times).to_pylist() == [False, False, True, False, False]
    # a page of one hour only sees that hour's keys (plus keys without a time)
    assert landed.fresh(pa.array(["c", "n", "z"]), pa.array([T0] * 3, ts)).to_pylist() == [True, False, True]
