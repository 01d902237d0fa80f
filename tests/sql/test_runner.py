"""The warehouse runner: every model builds (also on an empty lake), every sql/tests check runs, rebuilds are
idempotent, in-memory equals on-disk, failures are reported by name, a broken model changes nothing."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from kalshi_lake import warehouse
from kalshi_lake.warehouse.runner import LAYERS, discover, references

from .lakegen import D, at, book, market, write_stream
from .test_pnl import write_pnl_lake

SQL = warehouse.SQL_DIR


def mart_names():
    return [m.name for m in discover(SQL) if m.layer != "staging"]


def snapshot(con):
    return {name: sorted(map(repr, con.execute(f"select * from {name}").fetchall())) for name in mart_names()}


def test_every_stream_has_a_staging_model_and_every_model_a_grain_and_a_test():
    streams = {
        "series",
        "events",
        "markets",
        "trades",
        "candlesticks",
        "orderbook_snapshots",
        "exchange_status",
        "fills",
        "settlements",
        "orders",
        "positions",
        "balance",
        "order_events",
    }
    models = discover(SQL)
    names = {m.name for m in models}
    assert {f"stg_{s}" for s in streams} <= names
    tests_text = "\n".join(p.read_text() for p in (SQL / "tests").glob("*.sql"))
    for m in models:
        assert m.sql.lstrip().startswith("-- grain:"), m.name
        assert m.name in tests_text, f"{m.name} has no sql/tests check"


def test_no_model_reads_a_higher_layer_and_each_lives_in_its_layer():
    models = discover(SQL)
    layer = {m.name: m.layer for m in models}
    prefixes = {"staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_")}
    assert {m.layer for m in models} == set(LAYERS)
    for m in models:
        assert m.name.startswith(prefixes[m.layer]), f"{m.name} does not belong in {m.layer}/"
        for dep in references(m, set(layer)):
            assert LAYERS.index(layer[dep]) <= LAYERS.index(m.layer), (
                f"{m.name} ({m.layer}) reads {dep} ({layer[dep]})"
            )
    # the quotes are read once, below both the spreads mart and the P&L marks
    by_name = {m.name: m for m in models}
    assert "int_market_mids" in references(by_name["fct_spreads"], set(layer))
    assert "int_market_mids" in references(by_name["fct_pnl_daily"], set(layer))
    assert "fct_spreads" not in references(by_name["fct_pnl_daily"], set(layer))
    assert references(by_name["int_market_marks"], set(layer)) == {
        "int_market_mids",
        "int_market_states",
        "stg_trades",
    }


def test_empty_lake_builds_every_model_and_runs_every_check(tmp_path):
    result = warehouse.build(tmp_path)
    assert result.ok, str(result)
    assert {m.name for m in result.models} == {m.name for m in discover(SQL)}
    assert len(result.tests) == len(list((SQL / "tests").glob("*.sql")))
    assert (tmp_path / "kalshi.duckdb").exists()
    con = warehouse.connect(str(tmp_path / "kalshi.duckdb"))
    try:
        assert con.execute("select count(*) from fct_pnl").fetchone() == (0,)
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where table_name = 'stg_fills'"
            ).fetchall()
        )
        assert types["count_fp"] == "DECIMAL(18,2)" and types["fee_cost"] == "DECIMAL(18,6)"
        assert types["created_time"] == "TIMESTAMP WITH TIME ZONE" and types["_account"] == "VARCHAR"
        with pytest.raises(duckdb.Error):
            con.execute("create table x (a int)")  # read-only by default
    finally:
        con.close()


def test_rebuild_is_idempotent_and_in_memory_matches_disk(tmp_path):
    write_pnl_lake(tmp_path / "lake")
    first = warehouse.build(tmp_path)
    second = warehouse.build(tmp_path)
    assert first.ok and second.ok
    assert [(m.name, m.rows) for m in first.models] == [(m.name, m.rows) for m in second.models]
    con = warehouse.connect(str(tmp_path / "kalshi.duckdb"))
    disk = snapshot(con)
    con.close()
    mem = warehouse.build_in_memory(tmp_path / "lake", run_tests=True)
    assert snapshot(mem) == disk
    assert disk["fct_pnl"]


def test_unknown_extra_columns_pass_through_and_missing_columns_are_typed_nulls(tmp_path):
    root = tmp_path / "lake"
    write_stream(
        root,
        "trades",
        [
            {
                "trade_id": "t1",
                "ticker": "X",
                "count_fp": D(3),
                "yes_price_dollars": D("0.5"),
                "no_price_dollars": D("0.5"),
                "taker_outcome_side": "yes",
                "taker_book_side": "bid",
                "created_time": at(0),
                "is_block_trade": False,
                "brand_new_field": "hello",
            }
        ],
        extra_columns={"brand_new_field": pa.string()},
    )
    # a second file without the new column (union_by_name)
    write_stream(
        root,
        "trades",
        [
            {
                "trade_id": "t2",
                "ticker": "X",
                "count_fp": D(1),
                "yes_price_dollars": D("0.6"),
                "no_price_dollars": D("0.4"),
                "taker_outcome_side": "yes",
                "taker_book_side": "bid",
                "created_time": at(1),
                "is_block_trade": False,
            }
        ],
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = con.execute("select trade_id, brand_new_field, date from stg_trades order by trade_id").fetchall()
    assert [r[:2] for r in rows] == [("t1", "hello"), ("t2", None)]
    assert str(rows[0][2]) == "2026-11-20"  # the hive partition column is kept
    # markets written without e.g. settlement_value_dollars or no_bid_dollars still build
    write_stream(root, "markets", [market("X", "EV")])
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute("select settlement_value_dollars, volume_24h_fp from stg_markets").fetchone() == (
        None,
        None,
    )


def test_duplicates_across_runs_are_removed(tmp_path):
    root = tmp_path / "lake"
    rows = book("S", 0, yes=[("0.40", 1)], no=[("0.50", 1)])
    write_stream(root, "orderbook_snapshots", rows, run_id="a")
    write_stream(root, "orderbook_snapshots", rows, run_id="b")
    write_stream(root, "markets", [market("S", "E", minutes=0), market("S", "E", minutes=5, status="closed")])
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute("select count(*) from stg_orderbook_snapshots").fetchone() == (2,)
    assert con.execute("select count(*) from fct_spreads").fetchone() == (2,)  # 1 book + 1 active snapshot
    assert con.execute("select status from stg_markets").fetchall() == [("closed",)]
    assert con.execute("select count(*) from stg_market_history").fetchone() == (2,)


def copy_sql(tmp_path) -> Path:
    dst = tmp_path / "sql"
    shutil.copytree(SQL, dst)
    return dst


def test_failed_check_is_reported_with_its_rows(tmp_path):
    sql = copy_sql(tmp_path)
    (sql / "tests" / "test_no_big_trades.sql").write_text(
        "-- no trade above 2 contracts\nselect trade_id, count_fp from stg_trades where count_fp > 2;\n"
    )
    root = tmp_path / "lake"
    write_stream(
        root,
        "trades",
        [
            {
                "trade_id": "big",
                "ticker": "X",
                "count_fp": D(3),
                "yes_price_dollars": D("0.5"),
                "no_price_dollars": D("0.5"),
                "taker_outcome_side": "yes",
                "taker_book_side": "bid",
                "created_time": at(0),
                "is_block_trade": False,
            }
        ],
    )
    (sql / "tests" / "test_zz_broken.sql").write_text("select no_such_column from stg_trades\n")
    result = warehouse.build(tmp_path, sql_dir=sql)
    assert [f.name for f in result.failures] == ["test_no_big_trades", "test_zz_broken"]
    assert "no_such_column" in str(result.failures[1])  # a check that cannot run is a failure too
    f = result.failures[0]
    assert f.columns == ["trade_id", "count_fp"] and f.rows == [("big", Decimal("3.00"))]
    assert "test_no_big_trades failed: 1 offending row" in str(result) and "big | 3.00" in str(result)
    with pytest.raises(warehouse.WarehouseError, match="test_no_big_trades"):
        warehouse.build_in_memory(root, run_tests=True, sql_dir=sql)


def test_broken_model_names_itself_and_changes_nothing(tmp_path):
    write_pnl_lake(tmp_path / "lake")
    assert warehouse.build(tmp_path).ok
    con = warehouse.connect(str(tmp_path / "kalshi.duckdb"))
    before = snapshot(con)
    con.close()
    sql = copy_sql(tmp_path)
    (sql / "marts" / "fct_pnl_daily.sql").write_text("-- grain: broken\nselect no_such_column from fct_pnl\n")
    (sql / "marts" / "fct_zzz.sql").write_text("-- grain: x\nselect 1 as x\n")
    with pytest.raises(warehouse.ModelError, match=r"model fct_pnl_daily \(.*fct_pnl_daily.sql\) failed"):
        warehouse.build(tmp_path, sql_dir=sql)
    con = warehouse.connect(str(tmp_path / "kalshi.duckdb"))
    assert snapshot(con) == before
    assert con.execute("select count(*) from duckdb_tables() where table_name = 'fct_zzz'").fetchone() == (0,)
    con.close()


def test_dependency_cycles_and_upward_references_are_rejected(tmp_path):
    sql = copy_sql(tmp_path)
    (sql / "marts" / "fct_a.sql").write_text("-- grain: x\nselect * from fct_b\n")
    (sql / "marts" / "fct_b.sql").write_text("-- grain: x\nselect * from fct_a\n")
    with pytest.raises(warehouse.WarehouseError, match="cycle"):
        warehouse.build(tmp_path, sql_dir=sql)
    (sql / "marts" / "fct_a.sql").unlink()
    (sql / "marts" / "fct_b.sql").unlink()
    (sql / "staging" / "stg_bad.sql").write_text("-- grain: x\nselect * from fct_pnl\n")
    with pytest.raises(warehouse.ModelError, match="staging model may read only"):
        warehouse.build(tmp_path, sql_dir=sql)
    (sql / "staging" / "stg_bad.sql").unlink()
    (sql / "intermediate" / "int_bad.sql").write_text(
        "-- grain: x\nselect * from int_pnl_lots, dim_markets\n"
    )
    with pytest.raises(warehouse.ModelError, match=r"int_bad.*not dim_markets \(marts\)"):
        warehouse.build(tmp_path, sql_dir=sql)


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(warehouse.WarehouseError, match="Settings or a lake directory"):
        warehouse.build(42)
    with pytest.raises(warehouse.WarehouseError, match="run `kalshi-lake build` first"):
        warehouse.connect(str(tmp_path / "nope.duckdb"))
    assert not (tmp_path / "nope.duckdb").exists()


def test_lake_on_an_fsspec_filesystem_and_file_uris(tmp_path):
    import fsspec

    write_pnl_lake(tmp_path / "lake")
    fs = fsspec.filesystem("memory")
    fs.put(str(tmp_path / "lake"), "memory://wh-test/lake", recursive=True)
    try:
        con = warehouse.build_in_memory("memory://wh-test/lake", run_tests=True)
        assert con.execute("select count(*) from fct_pnl").fetchone() == (5,)
    finally:
        fs.rm("memory://wh-test", recursive=True)
    result = warehouse.build(f"file://{tmp_path}")
    assert result.ok and result.db_path == f"{tmp_path}/kalshi.duckdb"
    with pytest.raises(warehouse.WarehouseError, match="must be a local file"):
        warehouse.build(tmp_path, db_path="s3://bucket/kalshi.duckdb")


def test_files_under_underscore_or_dot_paths_are_not_read(tmp_path):
    root = tmp_path / "lake"
    rows = book("S", 0, yes=[("0.40", 1)], no=[("0.50", 1)])
    [path] = write_stream(root, "orderbook_snapshots", rows)
    for hidden in ("_tmp/x.parquet", "date=2026-11-20/.part-x.parquet"):
        dst = root / "orderbook_snapshots" / hidden
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dst)
        (dst.parent / "broken.parquet.tmp").write_text("not parquet")
    bad = root / "orderbook_snapshots" / "_tmp" / "half-written.parquet"
    bad.write_text("not parquet either")
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute(
        "select count(*), count(distinct _run_id) from src_orderbook_snapshots"
    ).fetchone() == (2, 1)


def test_a_locked_warehouse_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    assert warehouse.build(tmp_path).ok
    db = str(tmp_path / "kalshi.duckdb")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({db!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(warehouse.WarehouseError, match="in use by another process"):
            warehouse.build(tmp_path)
        with pytest.raises(warehouse.WarehouseError, match="in use by another process"):
            warehouse.connect(db)
    finally:
        holder.kill()
        holder.wait()


def test_connect_defaults_to_the_settings_warehouse(tmp_path, monkeypatch):
    for name in ("KALSHI_CONFIG", "KALSHI_ENV", "KALSHI_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path))
    from kalshi_extract.settings import Settings

    assert warehouse.build(Settings.load()).ok
    con = warehouse.connect()
    try:
        assert con.execute("select count(*) from dim_markets").fetchone() == (0,)
        assert con.execute("select current_setting('TimeZone')").fetchone() == ("UTC",)
    finally:
        con.close()
