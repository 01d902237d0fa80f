"""Dirty instants: a model declaring `instant = <column>` that reads a `src_` view by partition is recomputed from the
least value of that column among the new files' rows (not from midnight of their partition day), and its readers
with an instant of their own from there on; the top-up still equals a full rebuild."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from pathlib import Path

import duckdb

from kalshi_lake import warehouse
from kalshi_lake.warehouse.incremental import POS, NewFiles, partition_day
from tests.sql.lakegen import D, at, book, trade, write_stream
from tests.warehouse.test_incremental import assert_same

TK = "KXDIRT-26NOV-M0"


def _day(iso: str) -> float:
    return float(dt.date.fromisoformat(iso).toordinal())


def test_the_least_new_instant_is_read_from_the_added_files_floored_to_the_second(tmp_path):
    [noon] = write_stream(tmp_path, "trades", [trade("a", TK, 7.25 + 1 / 60_000, "0.5")], run_id="r1")
    con = duckdb.connect()
    got = NewFiles((str(noon),)).least_instant(con, "created_time")
    assert got == _day("2026-11-20") + (12 * 3600 + 7 * 60 + 15) / 86_400  # 12:07:15.001 floored
    # a removed file's partition day bounds it; a column the files lack counts from the partition day
    assert NewFiles((str(noon),), _day("2026-11-18")).least_instant(con, "created_time") == _day("2026-11-18")
    assert NewFiles((str(noon),)).least_instant(con, "no_such_column") == partition_day(str(noon))
    assert NewFiles((), POS).least_instant(con, "created_time") == POS


def test_a_null_instant_counts_from_the_partition_days(tmp_path):
    """A trade without created_time is dated by its load (30 days later): the new rows count from the earliest
    partition day of the added files, not from the other file's 13:00."""
    files = write_stream(
        tmp_path, "trades", [trade("a", TK, 60, "0.5"), trade("b", TK, 90, "0.5", created_time=None)]
    )
    assert len(files) == 2
    assert NewFiles(tuple(map(str, files))).least_instant(duckdb.connect(), "created_time") == _day(
        "2026-11-20"
    )


def _lake(root: Path) -> None:
    """A morning of trades and books (T0 = 12:00 UTC), and one trade seen only on the WebSocket at 13:00:05, its
    time cut to the second."""
    write_stream(root, "trades", [trade(f"t{i}", TK, -600 + 30 * i, "0.40") for i in range(20)], run_id="r1")
    books = []
    for i in range(20):
        books += book(TK, -601 + 30 * i, yes=[("0.38", 5)], no=[("0.58", 5)])
    write_stream(root, "orderbook_snapshots", books, run_id="r1")
    ws = trade("w1", TK, 60 + 5 / 60, "0.45") | {"sid": 1, "received_at": at(61), "connection_id": "c1"}
    write_stream(root, "ws_trades", [ws], run_id="r1")


def _noon_pull(root: Path) -> None:
    """The REST record of the WebSocket trade (0.7 s later than its receipt says), a trade at 13:10 and a book."""
    rest = trade("w1", TK, 60 + 5.7 / 60, "0.45")
    write_stream(root, "trades", [rest, trade("n1", TK, 70, "0.47")], run_id="r2")
    write_stream(root, "orderbook_snapshots", book(TK, 69, yes=[("0.44", 5)], no=[("0.52", 5)]), run_id="r2")


def test_a_pull_inside_a_day_recomputes_from_its_least_instant_and_equals_a_full_rebuild(tmp_path):
    root = tmp_path / "lake"
    _lake(root)
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    assert warehouse.build(root.parent, db_path=inc, run_tests=False).ok
    _noon_pull(root)
    result = warehouse.build(root.parent, db_path=inc, run_tests=True)
    assert result.ok, str(result)
    where = {m.name: m.rows_where for m in result.models if m.how == "incremental"}
    # the REST trade at 13:00:05.7 (floored to the second), an hour early for the WebSocket's time of it
    assert "timestamptz '2026-11-20 12:00:05+00'" in where["stg_trades"], where["stg_trades"]
    # the book at 13:09 starts the mids there; the effective spreads an hour before the earlier of the two
    assert "timestamptz '2026-11-20 13:09:00+00'" in where["int_market_mids"], where["int_market_mids"]
    assert "timestamptz '2026-11-20 12:00:05+00'" in where["fct_effective_spreads"]
    assert warehouse.build(root.parent, db_path=full, run_tests=False).ok
    assert_same(inc, full)
    con = duckdb.connect(inc, read_only=True)
    assert con.execute(
        "select trade_id, trade_source, created_time from stg_trades where trade_id = 'w1'"
    ).fetchall() == [("w1", "rest", at(60) + timedelta(seconds=5.7))]
    assert con.execute("select count(*) from fct_effective_spreads").fetchone() == (22,)
    assert con.execute("select mid_dollars from fct_effective_spreads where trade_id = 'n1'").fetchone() == (
        D("0.46"),
    )
