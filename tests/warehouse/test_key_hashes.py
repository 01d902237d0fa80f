"""Key hashes (`key_hashes.py`): a top-up's uniqueness check of a model whose day is not in its key reads the
companion's hashes instead of every key, and still fails on a duplicate; a hash seen twice runs the exact check; a
companion another build may have left stale is neither read nor extended; another key is another companion."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from kalshi_lake import warehouse
from kalshi_lake.warehouse import incremental, key_hashes, runner
from tests.sql.lakegen import write_stream
from tests.warehouse.test_incremental import World, assert_key_hashes_mirror

TRADES_CHECK = "test_unique_stg_trades"


def test_predicate_columns_are_the_plain_words_outside_strings_and_calls():
    assert incremental.predicate_columns(
        "(utc_date(created_time)) >= date '2026-11-30' and created_time >= timestamptz '2026-11-30 00:00:00+00'"
    ) == {"created_time"}
    assert incremental.predicate_columns(
        "(coalesce(utc_date(as_of), utc_date(close_time), date '9999-12-31')) >= date '2026-11-30'"
    ) == {"as_of", "close_time"}
    assert incremental.predicate_columns("(fill_date) >= date 'x or fill_id'") == {"fill_date"}


def test_another_key_or_predicate_is_another_companion():
    a = key_hashes.for_check(
        "stg_trades", ["trade_id"], "(created_time) >= timestamptz '2026-01-01 00:00:00+00'"
    )
    b = key_hashes.for_check(
        "stg_trades", ["trade_id"], "(created_time) >= timestamptz '2026-02-01 00:00:00+00'"
    )
    assert a == b and a.table.startswith("_kalshi_keys_stg_trades_")
    assert a.table != key_hashes.for_check("stg_trades", ["trade_id", "ticker"], "(created_time) >= 1").table
    assert a.table != key_hashes.for_check("stg_trades", ["trade_id"], "(trade_date) >= 1").table


def _build(root, db, sql=None):
    result = warehouse.build(root.parent, db_path=db, **({"sql_dir": sql} if sql else {}))
    assert result.ok, str(result)
    return result


def _hashed(result) -> dict[str, bool]:
    return {t.name: t.hashed for t in result.tests if t.restricted}


def _built_world(tmp_path, seed: int):
    """A random lake of 40 trades and its warehouse, built whole (with key hashes)."""
    root = tmp_path / "lake"
    world = World(root, seed=seed)
    world.top_up(0, n=40)
    db = str(tmp_path / "w.duckdb")
    _build(root, db)
    return root, world, db


@pytest.mark.slow
def test_a_top_up_checks_trade_ids_through_key_hashes_and_catches_a_duplicate(tmp_path):
    root, world, db = _built_world(tmp_path, seed=7)
    assert_key_hashes_mirror(db)
    world.top_up(15, late=False)
    second = _build(root, db)
    assert _hashed(second)[TRADES_CHECK] and _hashed(second)["test_unique_fct_effective_spreads"], str(second)
    assert_key_hashes_mirror(db)

    # a hash seen twice (a duplicate, or another key with that hash): the exact check runs and finds no duplicate
    con = duckdb.connect(db)
    recomputed = {m.name: m.rows_where for m in second.models if m.rows_where}
    kh = key_hashes.for_check("stg_trades", ["trade_id"], recomputed["stg_trades"])
    con.execute(
        f"insert into {kh.table} select timestamptz '2000-01-01 00:00:00+00', {key_hashes.HASH} from {kh.table} "
        f"where {recomputed['stg_trades']} limit 1"
    )
    assert key_hashes.duplicate_hashes(con, kh, recomputed["stg_trades"]) == 1
    results, failures = runner.run_tests(con, warehouse.SQL_DIR, recomputed=recomputed)
    assert not failures and {t.name: t.hashed for t in results}[TRADES_CHECK]
    con.close()

    # a trade id landed again a day later with another time: the recompute keeps it beside the old row
    old = dict(world.trades[0])
    write_stream(root, "trades", [{**world._trade(1440), "trade_id": old["trade_id"]}], run_id="run-dup")
    third = warehouse.build(root.parent, db_path=db)
    assert TRADES_CHECK in {f.name for f in third.failures}, str(third)
    assert _hashed(third)[TRADES_CHECK]


@pytest.mark.slow
def test_a_companion_another_build_wrote_is_not_read_and_is_rewritten_whole(tmp_path):
    root, world, db = _built_world(tmp_path, seed=8)
    con = duckdb.connect(db)
    table = next(t for t in runner.relations(con) if t.startswith("_kalshi_keys_stg_trades_"))
    # what a kalshi-lake without key hashes does: rebuilds (here: empties) the model, records another build
    con.execute("delete from stg_trades")
    con.execute("update _kalshi_build set built_at = built_at + interval 1 second")
    assert key_hashes.written_by_last_build(con, runner.relations(con)) == set()
    recomputed = {"stg_trades": "(created_time) >= timestamptz '2000-01-01 00:00:00+00'"}
    results, _ = runner.run_tests(con, warehouse.SQL_DIR, recomputed=recomputed)
    assert not {t.name: t.hashed for t in results}[TRADES_CHECK]
    assert con.execute(f"select count(*) from {table}").fetchone()[0] > 0  # stale: still the old trades
    con.close()
    world.top_up(15, late=False)
    warehouse.build(root.parent, db_path=db, run_tests=False)
    assert_key_hashes_mirror(db)  # written whole again: holds the trades stg_trades holds now


@pytest.mark.slow
def test_a_check_with_another_key_gets_its_own_companion_and_the_old_one_is_dropped(tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    root = tmp_path / "lake"
    World(root, seed=9).top_up(0, n=30)
    db = str(tmp_path / "w.duckdb")
    _build(root, db, sql)
    con = duckdb.connect(db, read_only=True)
    before = {t for t in runner.relations(con) if t.startswith("_kalshi_keys_stg_trades_")}
    con.close()
    check = sql / "tests" / f"{TRADES_CHECK}.sql"
    check.write_text(runner.unique_check_sql("stg_trades", ["trade_id", "ticker"]))
    _build(root, db, sql)
    con = duckdb.connect(db, read_only=True)
    after = {t for t in runner.relations(con) if t.startswith("_kalshi_keys_stg_trades_")}
    assert len(before) == len(after) == 1 and before != after
    assert after == {key_hashes.for_check("stg_trades", ["trade_id", "ticker"], "(created_time) >= 1").table}


@pytest.mark.slow
def test_a_full_build_checks_uniqueness_through_the_companions_it_wrote_and_still_catches_a_duplicate(
    tmp_path,
):
    root = tmp_path / "lake"
    World(root, seed=10).top_up(0, n=40)
    db = str(tmp_path / "w.duckdb")
    first = _build(root, db)
    whole = {t.name: t.hashed for t in first.tests if not t.restricted}
    assert whole[TRADES_CHECK] and whole["test_unique_fct_effective_spreads"], str(first)
    assert not whole["test_unique_stg_markets"]  # no companion: its keys are read

    con = duckdb.connect(db)
    companions = key_hashes.written_by_last_build(con, runner.relations(con))
    kh = key_hashes.find(con, "stg_trades", ["trade_id"], companions)
    assert kh is not None and kh.table in companions
    assert key_hashes.find(con, "stg_trades", ["trade_id", "ticker"], companions) is None
    assert key_hashes.duplicate_hashes(con, kh) == 0

    def trades_check():
        results, failures = runner.run_tests(con, warehouse.SQL_DIR, whole={"stg_trades"})
        assert {t.name: t.hashed for t in results}[TRADES_CHECK]
        return [f for f in failures if f.name == TRADES_CHECK]

    # a hash seen twice without a duplicate key (as two keys with one hash would be): the exact check finds nothing
    con.execute(f"insert into {kh.table} select created_time, {key_hashes.HASH} from {kh.table} limit 1")
    assert key_hashes.duplicate_hashes(con, kh) == 1
    assert trades_check() == []
    # a duplicate trade id, its hash in the companion as a build writes it: the exact check names it
    con.execute(f"delete from {kh.table}")
    con.execute("insert into stg_trades select * from stg_trades limit 1")
    con.execute(f"insert into {kh.table} {kh.rows_sql()}")
    (failure,) = trades_check()
    assert failure.rows and failure.rows[0][-1] == 2
    # a null key is found without a duplicate hash
    con.execute("delete from stg_trades where rowid = (select max(rowid) from stg_trades)")
    con.execute("update stg_trades set trade_id = null where rowid = (select min(rowid) from stg_trades)")
    con.execute(f"delete from {kh.table}")
    con.execute(f"insert into {kh.table} {kh.rows_sql()}")
    assert key_hashes.duplicate_hashes(con, kh) == 0
    (failure,) = trades_check()
    assert failure.rows[0][0] is None
    con.close()
