"""A build reads ONE snapshot of the lake (issue #17 item 5): trade files a pull commits while a build runs do not
make the marts of that build disagree; two builds of one warehouse at once are serialised (the second waits, or
fails clearly), and the DuckDB file stays whole. Staging is materialised, so each stream is deduplicated once."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from kalshi_extract.lake.store import Lake
from kalshi_lake import warehouse
from kalshi_lake.warehouse.snapshot import build_lock, take_snapshot

from .lakegen import write_stream
from .test_spreads import trade

D = Decimal


def trades(prefix: str, n: int, minutes0: float = 0) -> list[dict]:
    return [
        trade(f"{prefix}{i}", minutes0 + i, "0.45", 1 + i % 3, "bid" if i % 2 else "ask") for i in range(n)
    ]


def commit_trades(root, prefix: str, n: int, minutes0: float) -> None:
    """What a pull does: write files where readers ignore them (`_tmp/`), then one `Lake.commit` moves them in."""
    lake = Lake(str(root))
    staged = write_stream(root / "_tmp" / prefix, "trades", trades(prefix, n, minutes0), run_id=prefix)
    moves = [(str(p), str(root / "trades" / p.parent.name / p.name)) for p in staged]
    with lake.lock("trades", timeout=5):
        lake.commit("trades", moves)


class CommitAfter:
    """A DuckDB connection that lets a pull commit trade files right after the build created `model`."""

    def __init__(self, con, model: str, commit):
        self._con, self._model, self._commit, self.fired = con, model, commit, False

    def execute(self, sql, *args):
        out = self._con.execute(sql, *args)
        if not self.fired and f" {self._model} as" in sql and sql.lstrip().startswith("create or replace"):
            self.fired = True
            self._commit()
        return out

    def __getattr__(self, name):
        return getattr(self._con, name)


def trade_counts(con) -> dict[str, int]:
    return {
        "stg_trades": con.execute("select count(*) from stg_trades").fetchone()[0],
        "fct_market_daily": int(con.execute("select sum(trade_count) from fct_market_daily").fetchone()[0]),
        "fct_effective_spreads": con.execute("select count(*) from fct_effective_spreads").fetchone()[0],
    }


@pytest.mark.parametrize("after", ["stg_trades", "fct_spreads", "fct_effective_spreads"])
def test_trades_committed_during_a_build_leave_its_marts_consistent(tmp_path, after):
    root = tmp_path / "lake"
    write_stream(root, "trades", trades("a", 30))
    con = CommitAfter(duckdb.connect(), after, lambda: commit_trades(root, "b", 20, 100))
    result = warehouse.build_on(con, str(root))
    assert con.fired
    assert result.ok, str(result)
    # every model of the build saw the 30 trades of the snapshot, none the 20 committed meanwhile
    assert trade_counts(con) == {"stg_trades": 30, "fct_market_daily": 30, "fct_effective_spreads": 30}
    # after the build, src_trades reads the lake as it is; the next build takes all 50
    assert con.execute("select count(*) from src_trades").fetchone() == (50,)
    warehouse.build_on(con, str(root))
    assert set(trade_counts(con).values()) == {50}


def test_the_snapshot_waits_for_a_commit_in_flight_and_never_sees_half_of_it(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "trades", trades("a", 3))
    # a commit in flight: its record is written, one of its two files moved, the other not yet
    two_days = [trade("b0", 3 * 1440, "0.45", 1, "bid"), trade("b1", 4 * 1440, "0.45", 1, "ask")]
    later = write_stream(root / "_tmp" / "b", "trades", two_days, run_id="b")
    assert len(later) == 2
    lake = Lake(str(root))
    moves = [(str(p), str(root / "trades" / p.parent.name / p.name)) for p in later]
    sleeps = []

    def sleep(s):  # the writer finishes its commit while the build waits
        sleeps.append(s)
        if len(sleeps) == 5:
            lake._move(*moves[1])
            record.unlink()

    (root / "_commits").mkdir()
    with lake.lock(
        "trades", timeout=1
    ):  # a live writer, in the middle of its commit: record written, 1 of 2 moved
        record = root / "_commits" / "trades--00000000000000000001-abcdef.json"
        record.write_text(json.dumps({"stream": "trades", "moves": moves, "deletes": [], "state": None}))
        lake._move(*moves[0])
        snap = take_snapshot(duckdb.connect(), str(root), ["trades", "fills"], sleep=sleep)
    assert len(sleeps) == 5
    assert len(snap.files["trades"]) == 3 and snap.files["fills"] == []


def test_a_commit_record_left_by_a_killed_writer_is_rolled_forward(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "trades", trades("a", 3))
    later = write_stream(root / "_tmp" / "b", "trades", trades("b", 2), run_id="b")
    record = root / "_commits" / "trades--00000000000000000001-abcdef.json"
    record.parent.mkdir(parents=True)
    moves = [(str(p), str(root / "trades" / p.parent.name / p.name)) for p in later]
    record.write_text(json.dumps({"stream": "trades", "moves": moves, "deletes": [], "state": None}))
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute("select count(*) from stg_trades").fetchone() == (5,)
    assert not record.exists()


def test_a_commit_that_never_finishes_is_a_clear_error(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "trades", trades("a", 3))
    record = root / "_commits" / "trades--00000000000000000001-abcdef.json"
    record.parent.mkdir()
    lake = Lake(str(root))
    with lake.lock("trades", timeout=1):  # a live writer holds the stream: the record is its commit in flight
        record.write_text('{"stream": "trades", "moves": [], "deletes": [], "state": null}')
        with pytest.raises(warehouse.WarehouseError, match="did not hold still .* trades--0"):
            take_snapshot(duckdb.connect(), str(root), ["trades"], settle_seconds=0.3)


def _build_with_a_compaction_before(tmp_path, statement: str):
    """Three days of trades, then a build during which, just before its first statement starting with `statement`,
    a pull adds a trade to the first day and compacts the stream. Returns the snapshot's files the compaction took
    away (asserted outside the connection: the runner retries a build whose statement failed), the build's result
    and its connection."""
    root = tmp_path / "lake"
    for day in range(3):
        write_stream(root, "trades", trades(f"d{day}-", 4, minutes0=day * 1440), run_id=f"r{day}")
    lake = Lake(str(root))
    gone = []

    class CompactBefore(CommitAfter):
        def execute(self, sql, *args):
            if not gone and sql.lstrip().startswith(statement):
                before = set(root.rglob("*.parquet"))
                write_stream(root, "trades", trades("d0-x", 1, minutes0=0), run_id="r0x")
                lake.compact("trades")
                gone.append(before - set(root.rglob("*.parquet")))
            return self._con.execute(sql, *args)

    con = CompactBefore(duckdb.connect(), "", None)
    return gone, warehouse.build_on(con, str(root)), con


def test_files_compacted_away_during_a_build_make_it_start_over(tmp_path):
    # a compaction of the first day's files lands between the snapshot and the staging read
    gone, result, con = _build_with_a_compaction_before(tmp_path, "create or replace table stg_trades")
    assert gone and len(gone[0]) >= 2 and result.ok
    assert set(trade_counts(con).values()) == {13}


def test_files_compacted_away_before_the_build_reads_their_sizes_make_it_start_over(tmp_path):
    """The build reads each snapshot file's size and mtime (to know its columns and what changed) before any view:
    a compaction just before that starts the build over too."""
    gone, result, con = _build_with_a_compaction_before(tmp_path, "begin transaction")
    assert gone and gone[0] and result.ok
    assert set(trade_counts(con).values()) == {13}


def _build_in_child(lake_dir: str, q) -> None:
    try:
        t0 = time.monotonic()
        r = warehouse.build(lake_dir)
        q.put(("ok", r.ok, time.monotonic() - t0))
    except Exception as exc:  # reported to the parent
        q.put(("error", str(exc), 0))


def test_two_builds_at_once_are_serialised_and_the_file_stays_whole(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "trades", trades("a", 40))
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=(str(tmp_path), q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    outcomes = [q.get(timeout=5) for _ in procs]
    assert [o[:2] for o in outcomes] == [("ok", True), ("ok", True)], outcomes
    con = warehouse.connect(str(tmp_path / "kalshi.duckdb"))
    try:
        assert set(trade_counts(con).values()) == {40}
    finally:
        con.close()


def test_a_second_build_waits_for_the_first_then_fails_clearly(tmp_path):
    db = str(tmp_path / "kalshi.duckdb")
    write_stream(tmp_path / "lake", "trades", trades("a", 5))
    started, release = threading.Event(), threading.Event()

    def hold():
        with build_lock(db):
            started.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert started.wait(5)
        t0 = time.monotonic()
        with pytest.raises(warehouse.WarehouseError, match=r"another build of .* is running \(pid \d+"):
            warehouse.build(tmp_path, lock_timeout=0.3)
        assert time.monotonic() - t0 >= 0.3
        # a build with time to wait runs once the first is done
        threading.Timer(0.3, release.set).start()
        assert warehouse.build(tmp_path, lock_timeout=10).ok
    finally:
        release.set()
        holder.join()


def test_utc_date_is_the_utc_day_under_any_session_time_zone():
    con = duckdb.connect()
    con.execute((warehouse.SQL_DIR / "macros.sql").read_text())
    con.execute("set TimeZone = 'America/New_York'")
    rows = con.execute(
        "select count(*) filter (where utc_date(ts) is distinct from cast(timezone('UTC', ts) as date)) "
        "from (select to_timestamp(-3e9 + i * 3599.999999) as ts from range(2400000) t(i) "
        "union all select null)"
    ).fetchone()
    assert rows == (0,)
    assert con.execute(
        "select utc_date(timestamptz '1969-12-31 23:59:59.999999+00'), utc_date(timestamptz '2026-11-02 "
        "23:30:00-05'), utc_date(null)"
    ).fetchone() == (date(1969, 12, 31), date(2026, 11, 3), None)


def test_a_no_change_build_with_if_changed_does_nothing(tmp_path):
    write_stream(tmp_path / "lake", "trades", trades("a", 5))
    first = warehouse.build(tmp_path, if_changed=True)
    assert first.ok and not first.skipped and first.models
    again = warehouse.build(tmp_path, if_changed=True)
    assert again.skipped and again.models == [] and "nothing to do" in str(again)
    assert not warehouse.build(tmp_path).skipped  # without if_changed a build always builds
    # a commit changes the lake: the next build runs and sees it
    commit_trades(tmp_path / "lake", "b", 3, 100)
    third = warehouse.build(tmp_path, if_changed=True)
    assert not third.skipped
    con = warehouse.connect(str(tmp_path / "kalshi.duckdb"))
    try:
        assert set(trade_counts(con).values()) == {8}
    finally:
        con.close()
    assert warehouse.build(tmp_path, if_changed=True).skipped


def test_if_changed_rebuilds_after_failed_checks_or_changed_models(tmp_path):
    import shutil

    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    write_stream(tmp_path / "lake", "trades", trades("a", 5))
    (sql / "tests" / "test_always_fails.sql").write_text("select 1 as x")
    assert not warehouse.build(tmp_path, sql_dir=sql, if_changed=True).ok
    assert not warehouse.build(
        tmp_path, sql_dir=sql, if_changed=True
    ).skipped  # failed last time: build again
    (sql / "tests" / "test_always_fails.sql").unlink()
    assert warehouse.build(tmp_path, sql_dir=sql, if_changed=True).ok
    assert warehouse.build(tmp_path, sql_dir=sql, if_changed=True).skipped
    mart = sql / "marts" / "fct_market_daily.sql"
    mart.write_text(mart.read_text() + "\n")
    assert not warehouse.build(tmp_path, sql_dir=sql, if_changed=True).skipped
