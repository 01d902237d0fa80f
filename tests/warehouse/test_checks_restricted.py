"""A standard uniqueness check of a model recomputed from a day runs over the keys of the recomputed rows only
(`runner.unique_check_sql`): exact, since the untouched rows passed the same check at the last build."""

from __future__ import annotations

import random
import shutil

import duckdb
import pytest

from kalshi_lake import warehouse
from kalshi_lake.warehouse import runner
from tests.sql.lakegen import write_stream
from tests.warehouse.test_incremental import World

KEYS = ["ticker", "nullif(level, 0)"]
NEW = "d >= date '2026-11-02'"


def _con(rows):
    con = duckdb.connect()
    con.execute("create table fct_x (ticker varchar, level int, d date)")
    if rows:
        con.executemany("insert into fct_x values (?, ?, ?)", rows)
    return con


def _failing(con, rows_where):
    return len(con.execute(runner.unique_check_sql("fct_x", KEYS, rows_where)).fetchall())


def test_the_standard_checks_are_recognised_and_an_edited_one_is_not():
    text = runner.unique_check_sql("fct_x", KEYS)
    assert runner.unique_check(text) == ("fct_x", KEYS)
    assert runner.unique_check(text + " and level > 3") is None  # not the standard body: run as written
    shipped = [
        p
        for p in (warehouse.SQL_DIR / "tests").glob("test_unique_*.sql")
        if runner.unique_check(p.read_text())
    ]
    assert len(shipped) >= 30  # stg_orderbook_snapshots, stg_candlesticks, int_market_mids, fct_spreads...
    assert runner.unique_check(
        (warehouse.SQL_DIR / "tests" / "test_unique_stg_orderbook_snapshots.sql").read_text()
    )


def test_a_duplicate_between_a_new_and_an_old_row_is_caught():
    old, new = ("A", 1, "2026-11-01"), ("A", 1, "2026-11-02")
    assert _failing(_con([old, new]), NEW) == 1
    # null-safe: two rows whose key expression is null are one key, as the whole check's group by says
    assert _failing(_con([("B", 0, "2026-11-01"), ("B", 0, "2026-11-03")]), NEW) == 1
    assert _failing(_con([("C", None, "2026-11-03")]), NEW) == 0  # a null level is not a null plain key
    assert _failing(_con([(None, 2, "2026-11-03")]), NEW) == 1  # a null plain key in a new row
    # what it does not look at: untouched rows alone (they passed the last build's check and did not change)
    assert _failing(_con([old, old]), NEW) == 0
    assert _failing(_con([old, old]), None) == 1


def test_the_restricted_check_answers_as_the_whole_check_when_the_old_rows_passed():
    rng = random.Random(3)
    for _ in range(60):
        old = list({(rng.choice("ABCD"), rng.choice([0, 1, 2]), "2026-11-01") for _ in range(6)})
        old = list({(t, 0 if lv == 0 else lv): (t, lv, d) for t, lv, d in old}.values())  # old rows pass
        new = [
            (
                rng.choice(["A", "B", "E", None]),
                rng.choice([0, 1, 2, 3]),
                rng.choice(["2026-11-02", "2026-11-03"]),
            )
            for _ in range(rng.randint(0, 4))
        ]
        con = _con(old + new)
        whole = con.execute(runner.unique_check_sql("fct_x", KEYS)).fetchall()
        assert _failing(_con(old), None) == 0
        assert bool(_failing(con, NEW)) == bool(whole), (old, new)


@pytest.mark.slow
def test_a_top_up_checks_its_recomputed_models_over_their_new_keys(tmp_path):
    """After checks that passed, the next build's uniqueness checks of the models it recomputed from a day run
    restricted; a duplicate a top-up makes with an old row of such a model still fails the build."""
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    # a model whose row of a trade 'zz' takes the key of the first trade ('t1', days older): recomputed by day
    (sql / "marts" / "fct_zz_trades.sql").write_text(
        "-- incremental: day = utc_date(created_time)\n-- incremental: stg_trades by created_time\n"
        "select case when trade_id = 'zz' then 't1' else trade_id end as trade_id, created_time from stg_trades"
    )
    (sql / "tests" / "test_unique_fct_zz_trades.sql").write_text(
        runner.unique_check_sql("fct_zz_trades", ["trade_id"])
    )
    root = tmp_path / "lake"
    world = World(root, seed=5)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    first = warehouse.build(root.parent, db_path=db, sql_dir=sql)
    assert first.ok and not any(t.restricted for t in first.tests), str(first)
    world.top_up(15, late=False)
    second = warehouse.build(root.parent, db_path=db, sql_dir=sql)
    restricted = {t.name for t in second.tests if t.restricted}
    assert second.ok and {"test_unique_fct_zz_trades", "test_unique_stg_trades"} <= restricted, str(second)
    # two days on, trade 'zz' lands: its row duplicates the old, untouched row of 't1'
    write_stream(root, "trades", [{**world._trade(2 * 1440), "trade_id": "zz"}], run_id="run-zz")
    third = warehouse.build(root.parent, db_path=db, sql_dir=sql)
    zz = next(m for m in third.models if m.name == "fct_zz_trades")
    assert zz.how == "incremental" and zz.since > "2026"  # recomputed from the new day only
    assert [f.name for f in third.failures] == ["test_unique_fct_zz_trades"], str(third)
    assert {t.name: t.restricted for t in third.tests}["test_unique_fct_zz_trades"]


def test_the_day_is_in_the_key_only_when_every_column_of_the_day_is_a_plain_key_column():
    mids = "(utc_date(observed_at)) >= date '2026-12-01'"
    assert runner.day_in_key(mids, ["ticker", "observed_at", "source"])
    assert not runner.day_in_key(mids, ["ticker", "source"])
    assert not runner.day_in_key("(observed_date) >= date '2026-12-01'", ["ticker", "observed_at", "source"])
    assert not runner.day_in_key("(trade_date) >= date '2026-12-01'", ["trade_id"])
    assert runner.day_in_key("(piece_date) >= date '2026-12-01'", ["ticker", "coalesce(x, 1)", "piece_date"])
    assert not runner.day_in_key("(d) >= date '2026-12-01'", ["coalesce(d, date '2026-01-01')"])


def _tests_dir(tmp_path, checks: dict[str, str]):
    (tmp_path / "tests").mkdir()
    for name, sql in checks.items():
        (tmp_path / "tests" / f"{name}.sql").write_text(sql)
    return tmp_path


SANE = "-- levels are positive\n-- check: each row of fct_x\nselect * from fct_x where level <= 0\n"
DAY_KEYS = ["ticker", "d"]


def _run(con, sql_dir, recomputed):
    results, failures = runner.run_tests(con, sql_dir, recomputed=recomputed)
    return {t.name: (t.failing_rows, t.restricted) for t in results}, failures


def test_a_row_check_runs_over_the_recomputed_rows_and_catches_a_new_bad_row(tmp_path):
    sql_dir = _tests_dir(tmp_path, {"test_x_sane": SANE})
    old_ok, new_ok, new_bad = ("A", 1, "2026-11-01"), ("A", 2, "2026-11-02"), ("B", 0, "2026-11-02")
    got, _ = _run(_con([old_ok, new_ok, new_bad]), sql_dir, {"fct_x": NEW})
    assert got == {"test_x_sane": (1, True)}
    got, _ = _run(_con([old_ok, new_ok]), sql_dir, {"fct_x": NEW})
    assert got == {"test_x_sane": (0, True)}
    # the model is read through the shadow only while the check runs
    con = _con([("C", 0, "2026-11-01")])
    got, failures = _run(con, sql_dir, {"fct_x": NEW})
    assert got == {"test_x_sane": (0, True)}  # an old row is not looked at (it passed last build, untouched)
    assert con.execute("select count(*) from fct_x").fetchone()[0] == 1
    assert _run(con, sql_dir, {})[0] == {"test_x_sane": (1, False)}  # without recomputed rows: whole


def test_a_row_check_reading_another_table_runs_whole(tmp_path):
    two = "-- check: each row of fct_x\nselect * from fct_x where level > (select count(*) from fct_y)\n"
    sql_dir = _tests_dir(tmp_path, {"test_x_two": two})
    con = _con([("A", 5, "2026-11-01")])
    con.execute("create table fct_y as select 1 as a")
    assert _run(con, sql_dir, {"fct_x": NEW})[0] == {"test_x_two": (1, False)}


def test_a_uniqueness_check_whose_key_holds_the_day_runs_over_the_recomputed_rows(tmp_path):
    sql_dir = _tests_dir(tmp_path, {"test_unique_fct_x": runner.unique_check_sql("fct_x", DAY_KEYS)})
    rng = random.Random(5)
    for _ in range(60):
        old = list({(t, 1, "2026-11-01"): (t, 1, "2026-11-01") for t in rng.sample("ABCD", 3)}.values())
        new = [
            (rng.choice(["A", "B", "E", None]), rng.choice([1, 2]), rng.choice(["2026-11-02", "2026-11-03"]))
            for _ in range(rng.randint(0, 4))
        ]
        con = _con(old + new)
        whole = con.execute(runner.unique_check_sql("fct_x", DAY_KEYS)).fetchall()
        got, _ = _run(con, sql_dir, {"fct_x": NEW})
        assert got["test_unique_fct_x"][1] and bool(got["test_unique_fct_x"][0]) == bool(whole), (old, new)
    # a key equal to an old row's key has the old row's day: the old row is then itself a recomputed row
    got, _ = _run(_con([("A", 1, "2026-11-02"), ("A", 2, "2026-11-02")]), sql_dir, {"fct_x": NEW})
    assert got == {"test_unique_fct_x": (1, True)}
