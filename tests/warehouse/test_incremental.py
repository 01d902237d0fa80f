"""Incremental builds equal full rebuilds: every column of every model, after random top-ups with late rows,
duplicates across files, WebSocket twins of REST trades and a compaction; a build killed mid-way leaves the old
warehouse whole; changed models, variables or `full_refresh` rebuild everything."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from kalshi_lake import warehouse
from kalshi_lake.warehouse import incremental, key_hashes, runner
from kalshi_lake.warehouse.incremental import SpecError, differing_rows, parse_spec, replace_rows
from kalshi_lake.warehouse.runner import discover
from tests.sql.lakegen import D, at, book, fill, market, trade, write_stream

TICKERS = [f"KXINC-26NOV-M{i}" for i in range(4)]


class World:
    """A random lake grown run by run: each run lands new rows at its own 'now', some late rows for old days,
    re-landed duplicates, and WebSocket receipts of REST trades (received across midnight too)."""

    def __init__(self, root: Path, seed: int):
        self.root = root
        self.rng = random.Random(seed)
        self.run = 0
        self.trades: list[dict] = []
        self.ids = 0
        self.pending: list[
            dict
        ] = []  # trades the WebSocket recorded, whose REST rows land with the next pull

    def _trade(self, minutes: float, tickers: list[str] = TICKERS) -> dict:
        r = self.rng
        p = D(r.randint(5, 95)) / 100
        side = r.choice(["yes", "no"])
        self.ids += 1
        return {
            "trade_id": f"t{self.ids}",
            "ticker": r.choice(tickers),
            "count_fp": D(r.randint(1, 30)),
            "yes_price_dollars": p,
            "no_price_dollars": 1 - p,
            "taker_outcome_side": side,
            "taker_book_side": "bid" if side == "yes" else "ask",
            "created_time": at(minutes),
            "is_block_trade": r.random() < 0.05,
        }

    def top_up(self, now_minutes: float, n: int = 25, late: bool = True, some: bool = False) -> None:
        """`some`: a pull that brings trades, books and candles of two markets only, and sees another market's
        close_time moved (to two days ago)."""
        r, self.run = self.rng, self.run + 1
        tks = r.sample(TICKERS, 2) if some else TICKERS
        moved = r.choice([t for t in TICKERS if t not in tks]) if some else None
        run = f"run-{self.run}"
        loaded = at(now_minutes)
        new = [self._trade(now_minutes - r.uniform(0, 15), tks) for _ in range(n)]
        if late:  # trades landing for old days
            new += [self._trade(r.uniform(-3 * 1440, now_minutes - 600), tks) for _ in range(3)]
        dupes = [
            dict(t) for t in r.sample(self.trades, min(4 if late else 0, len(self.trades)))
        ]  # landed again
        # the REST rows of trades the WebSocket recorded last pull (only this pull's markets' when it brings some)
        landing = [t for t in self.pending if t["ticker"] in tks]
        kept = [t for t in self.pending if t["ticker"] not in tks]
        rest = new + dupes + landing
        self.trades += new + landing
        write_stream(self.root, "trades", [{**t, "_loaded_at": loaded} for t in rest], run_id=run)
        ws = []
        # trades the WebSocket recorded first, their time cut to the second (the feeds state it to different
        # precision): the REST rows come with the next pull and replace them
        recorded = [self._trade(now_minutes - r.uniform(0, 15), tks) for _ in range(2)]
        self.pending = kept + recorded
        for t in recorded:
            cut = t["created_time"].replace(microsecond=0)
            ws.append(
                {**t, "created_time": cut, "sid": 1, "received_at": t["created_time"], "connection_id": "c1"}
            )
        for t in r.sample(new, 5) + r.sample(
            self.trades, 3 if late else 0
        ):  # twins of REST trades (some received next day)
            lag = timedelta(seconds=r.choice([0.2, 3.0, 86000.0]))
            ws.append({**t, "sid": 1, "received_at": t["created_time"] + lag, "connection_id": "c1"})
        ws.append(  # a trade only the WebSocket saw, received late (often the day after it happened)
            {
                **self._trade(now_minutes - r.uniform(0, 1440), tks),
                "sid": 1,
                "received_at": at(now_minutes),
                "connection_id": "c1",
            }
        )
        write_stream(self.root, "ws_trades", [{**w, "_loaded_at": loaded} for w in ws], run_id=run)
        books, marks, candles = [], [], []
        for tk in tks:
            for m in (
                now_minutes - r.uniform(0, 15),
                r.uniform(-3 * 1440, now_minutes) if late else now_minutes,
            ):
                mid = r.randint(10, 90)
                yes = [(D(mid - 1) / 100, r.randint(1, 50))] if r.random() > 0.1 else []
                books += book(tk, m, yes=yes, no=[(D(100 - mid - 1) / 100, r.randint(1, 50))])
            end = at(now_minutes - now_minutes % 60)
            candles.append(
                {
                    "ticker": tk,
                    "series_ticker": "KXINC",
                    "period_interval": 60,
                    "end_period_ts": end,
                    "yes_bid_close_dollars": D(r.randint(10, 45)) / 100,
                    "yes_ask_close_dollars": D(r.randint(55, 90)) / 100,
                    "volume_fp": D(r.randint(0, 100)),
                }
            )
        for tk in TICKERS:
            moved_close = {"close_time": at(now_minutes - 2 * 1440)} if tk == moved else {}
            # a market the pull brought nothing else for is seen without a quote: its mark is an older mid or trade
            quote = {"yes_bid_dollars": D("0.4"), "yes_ask_dollars": D("0.6")} if tk in tks else {}
            # observed at the window's start: the pull's trades are newer than the market's quote
            marks.append(market(tk, tk.rsplit("-", 1)[0], minutes=now_minutes - 15, **quote, **moved_close))
        write_stream(
            self.root, "orderbook_snapshots", [{**b, "_loaded_at": loaded} for b in books], run_id=run
        )
        write_stream(self.root, "markets", marks, run_id=run)
        write_stream(self.root, "candlesticks", [{**c, "_loaded_at": loaded} for c in candles], run_id=run)
        if self.run == 1:  # an account's fills over the three days before: lots closed, and lots left open
            fills = [
                fill(
                    f"f{i}",
                    TICKERS[i % 3],
                    r.choice(["bid", "ask"]),
                    r.randint(1, 9),
                    D(r.randint(10, 90)) / 100,
                    D("0.01"),
                    now_minutes - r.uniform(60, 3 * 1440),
                )
                for i in range(24)
            ]
            write_stream(self.root, "fills", [{**f, "_loaded_at": loaded} for f in fills], run_id=run)

    def compact(self) -> None:
        """Rewrite every partition of the trades and books into one file each (as a compaction does)."""
        import pyarrow.parquet as pq

        for stream in ("trades", "orderbook_snapshots"):
            for part in sorted((self.root / stream).glob("date=*")):
                files = sorted(part.glob("*.parquet"))
                if len(files) < 2:
                    continue
                table = pq.ParquetDataset([str(f) for f in files]).read()
                pq.write_table(
                    table.drop_columns(["date"]) if "date" in table.column_names else table,
                    part / "part-compact-0.parquet",
                )
                for f in files:
                    f.unlink()


def tables(con) -> list[str]:
    return [m.name for m in discover(warehouse.SQL_DIR)]


def assert_same(inc_db: str, full_db: str) -> None:
    con = duckdb.connect(inc_db, read_only=True)
    con.execute(f"attach '{full_db}' as full_db (read_only)")
    for name in tables(con):
        for a, b in ((name, f"full_db.{name}"), (f"full_db.{name}", name)):
            diff = con.execute(
                f"select count(*) from (select * from {a} except all select * from {b})"
            ).fetchone()[0]
            assert diff == 0, f"{name}: {diff} row(s) of {a} not in {b}"
    con.close()
    assert_key_hashes_mirror(inc_db)


def assert_key_hashes_mirror(db: str) -> None:
    """Each key-hash companion the build plans was written by the last build and holds, as a multiset, its model's
    rows' predicate columns and key hashes (`key_hashes.py`)."""
    con = duckdb.connect(db, read_only=True)
    models = runner.order_models(discover(warehouse.SQL_DIR))
    planned = [kh for khs in runner._key_hash_plan(warehouse.SQL_DIR, models).values() for kh in khs]
    assert {kh.model for kh in planned} >= {"stg_trades", "fct_effective_spreads"}
    assert key_hashes.written_by_last_build(con, runner.relations(con)) == {kh.table for kh in planned}
    for kh in planned:
        n = con.execute(
            f"select count(*) from ({differing_rows(kh.table, f'({kh.rows_sql()})')})"
        ).fetchone()[0]
        assert n == 0, f"{kh.table}: {n} value(s) differ from {kh.model}'s rows"
    con.close()


def hows(result) -> dict[str, str]:
    return {m.name: m.how for m in result.models}


def grow_and_compare(tmp_path, sql_dir=None, seed: int = 11) -> list[dict[str, str]]:
    """Five random top-ups (15-minute pulls, one a day later, late rows, a compaction), each built incrementally
    and compared column by column with a full rebuild. Returns how each top-up built every model."""
    kw = {"sql_dir": sql_dir} if sql_dir else {}
    root = tmp_path / "lake"
    world = World(root, seed=seed)
    world.top_up(0, n=60)
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    first = warehouse.build(root.parent, db_path=inc, **kw)
    assert first.ok and set(hows(first).values()) == {"full"}
    now, seen = 0.0, []
    for step in range(5):
        now += 15 if step != 2 else 2 * 1440  # 15-minute pulls, and one two days later
        world.top_up(now, late=step % 2 == 1, some=step == 2)  # late rows every other pull
        if step == 3:
            world.compact()
        result = warehouse.build(root.parent, db_path=inc, run_tests=step == 4, **kw)
        assert result.ok, str(result)
        seen.append(hows(result))
        Path(full).unlink(missing_ok=True)
        warehouse.build(root.parent, db_path=full, run_tests=False, **kw)
        assert_same(inc, full)
    return seen


# the models whose rows are not bounded by day alone (a quote held until the next, a ticker's latest row, a
# price at close, a market's whole history by time to close): their declarations use carry ... held, day = all, key
# and diff
DATA_BOUNDED = (
    "fct_spreads_daily",
    "int_market_marks",
    "fct_calibration_prices",
    "fct_pnl_daily",
    "fct_spreads_by_close",
    "fct_effective_spreads_by_close",
)


def test_incremental_builds_equal_full_rebuilds_after_random_top_ups(tmp_path):
    for how in grow_and_compare(tmp_path):
        assert how["stg_trades"] == how["fct_effective_spreads"] == how["fct_market_daily"] == "incremental"
        assert all(how[m] == "incremental" for m in DATA_BOUNDED), {m: how[m] for m in DATA_BOUNDED}
        assert how["stg_series"] == "kept"  # its stream did not change
        assert how["fct_fill_edges"] == "incremental"  # the fills did not change, the mids did


def test_incremental_builds_writing_only_changed_rows_equal_full_rebuilds(tmp_path, monkeypatch):
    """The same random top-ups with every recompute writing only the rows that changed (the path of the large
    windows, `REWRITE_ROWS`; a model after a recompute that came out as it was is kept)."""
    monkeypatch.setattr(incremental, "REWRITE_ROWS", 0)
    assert all(how["stg_trades"] == "incremental" for how in grow_and_compare(tmp_path, seed=12))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "right", "wrong"),
    [
        (
            "intermediate/int_market_marks.sql",
            "stg_trades by created_time, carry (ticker, yes_price_dollars is null)",
            "stg_trades by created_time",
        ),
        (
            "marts/fct_calibration_prices.sql",
            "is_combo) at coalesce(least(utc_date(open_time), utc_date(close_time - interval 7 days)), "
            "date '9999-12-31')",
            "is_combo) at date '9999-12-31'",
        ),
        # fct_calibration_prices' `stg_trades whole`: test_a_price_at_close_reads_every_earlier_trade_of_its_market
        (
            "marts/fct_fill_edges.sql",
            "int_market_mids by observed_at, carry (ticker, source = 'ws_book')",
            "int_market_mids by observed_at",
        ),
        # the by-close marts and their per-day partials: tests/warehouse/test_by_close_incremental.py
    ],
)
def test_a_wrong_declaration_fails_the_comparison(tmp_path, model, right, wrong):
    """The comparison catches each declaration above made too narrow (so the declarations are not vacuous)."""
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    path = sql / model
    assert right in path.read_text()
    path.write_text(path.read_text().replace(right, wrong))
    with pytest.raises(AssertionError, match=Path(model).stem):
        grow_and_compare(tmp_path, sql_dir=sql)


def test_full_refresh_and_changed_variables_rebuild_everything(tmp_path):
    root = tmp_path / "lake"
    world = World(root, seed=3)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    world.top_up(15)
    assert (
        hows(warehouse.build(root.parent, db_path=db, run_tests=False, full_refresh=True))["stg_trades"]
        == "full"
    )
    world.top_up(30)
    con = duckdb.connect(db)
    con.execute("set variable max_mid_age_seconds = 300")
    result = warehouse.build_on(con, str(root), run_tests_=False)
    con.close()
    assert set(hows(result).values()) == {"full"}


def test_a_changed_model_rebuilds_everything(tmp_path):
    root = tmp_path / "lake"
    World(root, seed=5).top_up(0)
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False, sql_dir=sql)
    assert set(hows(warehouse.build(root.parent, db_path=db, run_tests=False, sql_dir=sql)).values()) == {
        "kept"
    }
    path = sql / "marts" / "fct_market_daily.sql"
    path.write_text(path.read_text() + "\n")
    assert set(hows(warehouse.build(root.parent, db_path=db, run_tests=False, sql_dir=sql)).values()) == {
        "full"
    }


def test_a_build_killed_mid_way_leaves_the_old_warehouse_whole(tmp_path):
    root = tmp_path / "lake"
    world = World(root, seed=9)
    world.top_up(0, n=40)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    before = tmp_path / "before.duckdb"
    shutil.copy(db, before)
    world.top_up(15)
    code = (
        "import os\nfrom kalshi_lake import warehouse\n"
        "def die(m):\n    if m.name == 'fct_effective_spreads': os._exit(9)\n"
        f"warehouse.build({str(root.parent)!r}, db_path={db!r}, run_tests=False, on_model=die)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 9
    assert_same(db, str(before))  # the killed build's recomputed days are gone
    result = warehouse.build(root.parent, db_path=db, run_tests=False)  # and the next build does the top-up
    assert hows(result)["stg_trades"] == "incremental"
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)


def test_declarations_are_checked():
    assert parse_spec("select 1") is None
    spec = parse_spec(
        "-- incremental: day = d\n-- incremental: x by coalesce(a, b), ahead 1, before 2\nselect 1"
    )
    assert (
        spec.inputs["x"].day == "coalesce(a, b)"
        and spec.inputs["x"].ahead == 1
        and spec.inputs["x"].before == 2
    )
    spec = parse_spec(
        "-- incremental: day = d\n-- incremental: m by t, ahead 1, carry (k, s = 'w')\nselect 1"
    )
    assert spec.inputs["m"].carry == "k, s = 'w'" and spec.inputs["m"].ahead == 1
    with pytest.raises(SpecError):
        parse_spec("-- incremental: x sideways\nselect 1")
    with pytest.raises(SpecError):
        parse_spec("-- incremental: x whole\nselect 1")  # no day
    spec = parse_spec(
        "-- incremental: day = all\n-- incremental: key = k\n-- incremental: m diff (k, c)\nselect 1"
    )
    assert spec.keyed_rows and spec.inputs["m"].diff == "k, c" and spec.inputs["m"].at is None
    spec = parse_spec(
        "-- incremental: day = d\n-- incremental: instant = t\n-- incremental: m by t, ahead 1 hour\nselect 1"
    )
    assert spec.instant == "t" and spec.inputs["m"].ahead == 1 / 24
    spec = parse_spec(
        "-- incremental: day = d\n-- incremental: m by t, ahead 1 hours, before 2 hours\nselect 1"
    )
    assert spec.inputs["m"].ahead == 1 / 24 and spec.inputs["m"].before == 2 / 24
    spec = parse_spec(
        "-- incremental: day = all\n-- incremental: key = k\n-- incremental: m by d, fold f_m\nselect 1"
    )
    assert spec.inputs["m"].fold == "f_m" and spec.inputs["m"].day == "d"
    for bad in (
        "-- incremental: day = all\n-- incremental: instant = t\n-- incremental: m by t\nselect 1",
        "-- incremental: day = d\n-- incremental: m by t, ahead 2 days\nselect 1",  # not an option
        "-- incremental: day = d\n-- incremental: m by t, fold f\nselect 1",  # fold: keyed rows only
        "-- incremental: day = all\n-- incremental: key = k\n-- incremental: m whole, fold f\nselect 1",
    ):
        with pytest.raises(SpecError):
            parse_spec(bad)
    with pytest.raises(SpecError, match="at"):  # a model with days needs the day a changed row lands on
        parse_spec(
            "-- incremental: day = d\n-- incremental: key = k\n-- incremental: m diff (k, c)\nselect 1"
        )


def test_an_undeclared_input_of_an_incremental_model_is_an_error(tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    path = sql / "marts" / "fct_market_daily.sql"
    path.write_text(path.read_text().replace("-- incremental: stg_trades by created_time\n", ""))
    with pytest.raises(warehouse.ModelError, match="declare"):
        warehouse.build(tmp_path, db_path=str(tmp_path / "w.duckdb"), sql_dir=sql, run_tests=False)


def test_cli_full_refresh_rebuilds_what_an_incremental_build_keeps(tmp_path, monkeypatch):
    import os

    from typer.testing import CliRunner

    from kalshi_lake.cli import app

    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    world = World(tmp_path / "lake", seed=2)
    world.top_up(0)
    db = str(tmp_path / "kalshi.duckdb")
    assert CliRunner().invoke(app, ["build", "--skip-tests"]).exit_code == 0
    con = duckdb.connect(db)
    con.execute("insert into stg_series (ticker) values ('TAMPERED')")  # a table no top-up touches
    con.close()
    world.top_up(15)

    def tampered() -> int:
        with duckdb.connect(db, read_only=True) as c:
            return c.execute("select count(*) from stg_series where ticker = 'TAMPERED'").fetchone()[0]

    assert CliRunner().invoke(app, ["build", "--skip-tests"]).exit_code == 0
    assert tampered() == 1  # kept: its stream did not change
    result = CliRunner().invoke(app, ["build", "--skip-tests", "--full-refresh"])
    assert result.exit_code == 0, result.output
    assert tampered() == 0


def test_a_new_column_in_the_lake_rebuilds_its_stream_whole(tmp_path):
    import pyarrow as pa

    root = tmp_path / "lake"
    world = World(root, seed=4)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    trade = world._trade(10)
    write_stream(
        root, "trades", [{**trade, "venue": "new"}], run_id="run-new", extra_columns={"venue": pa.string()}
    )
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    assert hows(result)["stg_trades"] == "full" and hows(result)["stg_series"] == "kept"
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute(
            "select venue from stg_trades where trade_id = ?", [trade["trade_id"]]
        ).fetchone() == ("new",)
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)


def test_keyed_rows_plan_and_recompute_only_the_dirty_keys():
    """`day = all` with `key =`: an unchanged `diff` input keeps the model, a changed `whole` input rebuilds it whole,
    and a recompute replaces only the keys of the dirty days' rows and of the changed `diff` rows."""
    from types import SimpleNamespace

    from kalshi_lake.warehouse import incremental as inc

    con = duckdb.connect()
    con.execute(
        "create table q as select * from (values ('A', date '2026-01-01', 1), ('B', date '2026-01-01', 2), "
        "('A', date '2026-01-03', 4), ('C', date '2026-01-01', 8)) as t(k, d, v)"
    )
    con.execute("create table s as select * from (values ('A', 1), ('B', 1), ('C', 1)) as t(k, c)")
    con.execute(
        f"create table {inc.old_table('s')} as select * from (values ('A', 1), ('B', 0), ('C', 1)) t(k, c)"
    )
    sql = "select q.k, sum(v) * any_value(c) as total from q join s using (k) group by q.k"
    spec = parse_spec(
        "-- incremental: day = all\n-- incremental: key = k\n-- incremental: q by d\n"
        "-- incremental: s diff (k, c)\n-- incremental: w whole\n" + sql
    )
    day = inc.plan(con, spec, {"q", "s"}, {"q": inc.POS, "s": inc.NEG}, {"s"})
    assert day == inc.LAST_DAY  # B's c changed
    assert inc.plan(con, spec, {"q", "w"}, {"q": inc.POS, "w": 3.0}) == inc.NEG
    con.execute("create table m (k varchar, total bigint)")
    con.execute("insert into m values ('A', -1), ('B', -1), ('C', -1)")  # stale rows: only A and B are redone
    jan3 = float(__import__("datetime").date(2026, 1, 3).toordinal())
    model = SimpleNamespace(name="m", sql=sql)
    probes = inc.Probes(con, {}, set())
    assert inc.recompute(con, model, spec, {"q", "s"}, min(day, jan3), probes) == (3, True)
    assert con.execute("select * from m order by k").fetchall() == [("A", 5), ("B", 2), ("C", -1)]


def test_checks_of_kept_models_are_skipped_and_a_check_of_a_changed_model_still_fails(tmp_path):
    """After a build whose checks passed, a check reading only models the next build keeps is not run again (it
    cannot change); a check reading a model that build recomputed runs, and fails when its rows say so; after a
    failed check every check runs again."""
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    (sql / "tests" / "test_zz_no_bad_trade.sql").write_text(
        "select trade_id from stg_trades where trade_id = 'BAD'"
    )
    root = tmp_path / "lake"
    world = World(root, seed=6)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    first = warehouse.build(root.parent, db_path=db, sql_dir=sql)
    assert first.ok and first.tests_skipped == 0, str(first)
    world.top_up(15)
    second = warehouse.build(root.parent, db_path=db, sql_dir=sql)
    skipped = {t.name for t in second.tests if t.skipped}
    assert second.ok and "test_unique_stg_series" in skipped and "test_unique_stg_trades" not in skipped
    assert "skipped" in str(second)
    with duckdb.connect(db, read_only=True) as con:
        kept = {m.name for m in second.models if m.how == "kept"}
        for t in second.tests:  # every skipped check reads only kept models
            if t.skipped:
                reads = warehouse.runner.check_reads(
                    (sql / "tests" / f"{t.name}.sql").read_text(),
                    warehouse.runner.relations(con),
                    warehouse.runner._macro_bodies(sql),
                )
                assert reads and reads <= kept, (t.name, reads - kept)
    with duckdb.connect(db, read_only=True) as con:  # a check reads what the macros it calls read
        assert "int_book_epochs" in warehouse.runner.check_reads(
            "select * from book_at('X', now())",
            warehouse.runner.relations(con),
            warehouse.runner._macro_bodies(sql),
        )
    bad = {**world._trade(20), "trade_id": "BAD"}
    write_stream(root, "trades", [bad], run_id="run-bad")
    third = warehouse.build(root.parent, db_path=db, sql_dir=sql)
    assert [f.name for f in third.failures] == ["test_zz_no_bad_trade"] and third.tests_skipped > 0
    write_stream(root, "series", [{"ticker": "KXNEW", "title": "new"}], run_id="run-series")
    fourth = warehouse.build(root.parent, db_path=db, sql_dir=sql)  # the last checks failed: all run again
    assert fourth.tests_skipped == 0 and [f.name for f in fourth.failures] == ["test_zz_no_bad_trade"]


def test_carried_rows_are_each_groups_last_rows_before_the_window_however_old():
    """`carry`: per group, every row at its last instant before the window: a group last seen within the day
    before, one quiet for weeks, one whose key is null, ties at the last instant; none of the window's rows."""
    from kalshi_lake.warehouse import incremental as inc

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "create table q as select * from (values "
        "('A', timestamptz '2026-01-09 23:00:00+00', 1), ('A', timestamptz '2026-01-09 22:00:00+00', 2), "
        "('A', timestamptz '2026-01-10 01:00:00+00', 3), "  # in the window: not carried
        "('B', timestamptz '2025-12-01 00:00:00.000001+00', 4), ('B', timestamptz '2025-12-01 00:00:00.000001+00', 5), "
        "('B', timestamptz '2025-11-01 00:00:00+00', 6), "
        "(null, timestamptz '2026-01-02 00:00:00+00', 7), (null, timestamptz '2026-01-01 00:00:00+00', 8), "
        "('C', timestamptz '2026-01-10 02:00:00+00', 9)) as t(k, ts, v)"  # C: only in the window
    )
    rule = inc.InputRule("ts", carry="k")
    lo = inc.day_literal(float(date(2026, 1, 10).toordinal()))
    assert lo == "date '2026-01-10'"
    day = float(date(2026, 1, 10).toordinal())
    carried, own = inc._carried(con, "q", "q", rule, day, True, "true", None)
    assert own is None  # kept for the build's other models reading q with this carry from this instant
    assert con.execute(f"select v from ({carried}) order by v").fetchall() == [(1,), (4,), (5,), (7,)]
    # a second model reading the same input the same way uses the same table (a build changes no input after the
    # models reading it began: a group's later row, not seen by the shared table, stays unseen here), while a read
    # restricted to a model's keys gets its own table, dropped with that model; the build drops the shared one
    con.execute("insert into q values ('A', timestamptz '2026-01-09 23:30:00+00', 10)")
    assert inc._carried(con, "q", "q", rule, day, True, "true", None) == (carried, None)
    assert con.execute(f"select v from ({carried}) order by v").fetchall() == [(1,), (4,), (5,), (7,)]
    keyed, own = inc._carried(con, "q", "q", rule, day, True, "k = 'A'", None)
    assert own is not None
    assert con.execute(f"select v from ({keyed}) order by v").fetchall() == [(10,)]
    con.execute(f"drop table temp.{own}")  # what recompute does after its model
    assert con.execute(f"select v from ({carried}) order by v").fetchall() == [(1,), (4,), (5,), (7,)]
    inc.drop_carried(con)
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchone() == (0,)


def test_held_bound_reads_the_days_kept_last_instants_and_the_rows_since_midnight():
    """`held` from a pull's instant: per group with rows from that instant on, its last row before it, whether that
    row came before midnight (the day's kept table of last instants, made by the day's first pull and read by its
    next ones without grouping the history again) or since midnight (the input's own rows)."""
    from kalshi_lake.warehouse import incremental as inc
    from kalshi_lake.warehouse.carries import Carries

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "create table q as select * from (values "
        "('A', timestamptz '2026-01-09 20:00:00+00'), ('A', timestamptz '2026-01-10 01:00:00+00'), "
        "('A', timestamptz '2026-01-10 02:30:00+00'), "  # A's new row: its last before holds from 01:00
        "('B', timestamptz '2026-01-07 12:00:00+00'), ('B', timestamptz '2026-01-10 02:40:00+00'), "
        "('C', timestamptz '2026-01-05 00:00:00+00')) as t(k, ts)"  # C: no new row, not counted
    )
    rule = inc.InputRule("ts", carry="k", held=True)
    pull = float(date(2026, 1, 10).toordinal()) + 2 / 24  # 02:00
    carries = Carries(con, set(), {"q": pull})
    probes = inc.Probes(con, {}, set())
    made: list[str] = []
    real = carries.made
    carries.made = lambda name, d, start, family: (made.append(name), real(name, d, start, family))
    # B's last row before the pull is older than A's: B's day
    assert inc._held_day(con, "q", rule, pull, probes, carries) == float(date(2026, 1, 7).toordinal())
    assert len(made) == 1  # the day's table of last instants before midnight
    # the day's next pull: only A moves, its last row before is since midnight (01:00), not the kept 20:00
    con.execute("insert into q values ('A', timestamptz '2026-01-10 03:10:00+00')")
    later = float(date(2026, 1, 10).toordinal()) + 3 / 24
    nxt = Carries(con, set(), {"q": later})
    nxt._kept = dict(carries._used)  # what the first pull's build left, as the next build reads it
    nxt.made = lambda name, d, start, family: made.append(name)
    assert inc._held_day(con, "q", rule, later, inc.Probes(con, {}, set()), nxt) == float(
        date(2026, 1, 10).toordinal()
    )
    assert len(made) == 1  # read, not made again
    # an instant model's window from 03:00 carries each group's rows at its last instant before: since midnight (A,
    # B) or before it (C), from the same day's table
    carried, own = inc._carried(con, "q", '"memory".main.q', rule, later, False, "true", nxt)
    assert own is None and len(made) == 1
    assert sorted(con.execute(f"select k, ts from ({carried})").fetchall(), key=str) == [
        ("A", datetime(2026, 1, 10, 2, 30, tzinfo=UTC)),
        ("B", datetime(2026, 1, 10, 2, 40, tzinfo=UTC)),
        ("C", datetime(2026, 1, 5, tzinfo=UTC)),
    ]


def _day(d: int) -> float:
    return float(date(2026, 1, d).toordinal())


def test_a_days_tables_roll_forward_from_the_day_befores_while_its_rows_are_unchanged():
    """The day's table of last instants and the day's fold are made from the day before's kept table and that day's
    rows (not every older row): the same rows as made from scratch. Shown by a marker only the older table holds;
    an older table whose input changed before its start (dirt) is not rolled forward from."""
    from kalshi_lake.warehouse import incremental as inc
    from kalshi_lake.warehouse.carries import Carries

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "create table q as select * from (values ('A', timestamptz '2026-01-05 10:00:00+00', 1), "
        "('A', timestamptz '2026-01-09 23:00:00+00', 2), ('B', timestamptz '2026-01-08 12:00:00+00', 3), "
        "('C', timestamptz '2026-01-09 00:00:00+00', 4), ('A', timestamptz '2026-01-10 01:00:00+00', 5)) "
        "as t(k, ts, v)"
    )
    con.execute("create table p as select k, cast(ts as date) as d, v from q")
    con.execute(
        "create macro f_p(t) as table select k, max(d) as d, sum(v) as v from query_table(t) group by k"
    )
    carry, fold = inc.InputRule("ts", carry="k"), inc.InputRule("d", fold="f_p")

    def tables(dirt: float, kept: dict | None = None) -> tuple[Carries, str, str]:
        carries = Carries(con, set(), {"q": dirt, "p": dirt})
        carries._kept = kept or {}
        last = inc._last_instants(con, "q", "q", carry, _day(10), True, "true", carries)
        return carries, last, inc._folded(con, "p", "p", fold, _day(10), carries)

    def rows(table: str) -> list[tuple]:
        return sorted(con.execute(f"select * from {table}").fetchall(), key=str)

    # from scratch, the day before: A 05th, B 08th (C's row is on the 9th)
    before = Carries(con, set(), {"q": _day(10), "p": _day(10)})
    last9 = inc._last_instants(con, "q", "q", carry, _day(9), True, "true", before)
    fold9 = inc._folded(con, "p", "p", fold, _day(9), before)
    assert rows(last9) == [
        ("A", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("B", datetime(2026, 1, 8, 12, tzinfo=UTC)),
    ]
    # a marker in the older tables: a group no row has
    con.execute(f"insert into {last9} values ('Z', timestamptz '2026-01-01 00:00:00+00')")
    con.execute(f"insert into {fold9} values ('Z', date '2026-01-01', 100)")
    want_last = [
        ("A", datetime(2026, 1, 9, 23, tzinfo=UTC)),
        ("B", datetime(2026, 1, 8, 12, tzinfo=UTC)),
        ("C", datetime(2026, 1, 9, tzinfo=UTC)),
    ]
    want_fold = [("A", date(2026, 1, 9), 3), ("B", date(2026, 1, 8), 3), ("C", date(2026, 1, 9), 4)]
    marker_last, marker_fold = [("Z", datetime(2026, 1, 1, tzinfo=UTC))], [("Z", date(2026, 1, 1), 100)]
    # rolled forward: the older tables' rows (the marker too) and the 9th's rows
    _, last10, fold10 = tables(_day(10), dict(before._used))
    assert rows(last10) == sorted(want_last + marker_last, key=str)
    assert rows(fold10) == sorted(want_fold + marker_fold, key=str)
    # the input changed on the 8th: the older tables (from the 9th) no longer hold, made from every older row
    _, last10, fold10 = tables(_day(8), dict(before._used))
    assert rows(last10) == want_last and rows(fold10) == want_fold


def test_a_fold_folds_the_rows_before_the_window_and_must_keep_the_inputs_columns():
    """`_folded`: the input's rows outside the window (a row without a day too) through the fold macro, cast to the
    input's types; a macro whose rows lack a column of the input is an error naming it, not a null column."""
    from kalshi_lake.warehouse import incremental as inc

    con = duckdb.connect()
    con.execute(
        "create table p as select * from (values ('A', date '2026-01-01', 2), ('A', date '2026-01-02', 3), "
        "('A', null, 4), ('A', date '2026-01-03', 100), ('B', date '2026-01-01', 1)) as t(k, d, n)"
    )
    con.execute(
        "create macro f_p(t) as table select k, max(d) as d, sum(n) as n from query_table(t) group by k"
    )
    con.execute("create macro f_bad(t) as table select k, sum(n) as n from query_table(t) group by k")
    day = float(date(2026, 1, 3).toordinal())
    table = inc._folded(con, "p", "p", inc.InputRule("d", fold="f_p"), day, None)
    assert con.execute(f"select k, d, n, typeof(n) from {table} order by k").fetchall() == [
        ("A", date(2026, 1, 2), 9, "INTEGER"),
        ("B", date(2026, 1, 1), 1, "INTEGER"),
    ]
    with pytest.raises(ValueError, match=r"missing \['d'\]"):
        inc._folded(con, "p", "p", inc.InputRule("d", fold="f_bad"), day, None)


def test_carry_tables_of_a_day_serve_the_next_pulls_of_that_day_until_older_rows_change(
    tmp_path, monkeypatch
):
    """A recompute by days keeps its carry tables (each group's last instant before midnight) for the next build:
    the next pull of the same day reads them instead of grouping every older row again; a build that does not read
    them (a late row for an older day moves its windows back) drops them, so a later build never reads a table made
    before older rows changed. Each build equals a full rebuild."""
    from kalshi_lake.warehouse import carries

    root = tmp_path / "lake"
    world = World(root, seed=9)
    world.top_up(0, n=40)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    made: list[str] = []
    real = carries.Carries.made

    def spy(self, name, d, start, family):
        made.append(name)
        real(self, name, d, start, family)

    monkeypatch.setattr(carries.Carries, "made", spy)

    def build_and_compare() -> set[str]:
        made.clear()
        warehouse.build(root.parent, db_path=db, run_tests=False)
        full = tmp_path / "full.duckdb"
        full.unlink(missing_ok=True)
        warehouse.build(root.parent, db_path=str(full), run_tests=False)
        assert_same(db, str(full))
        with duckdb.connect(db, read_only=True) as con:
            return {r[0] for r in con.execute(f"select name from {carries.RECORD_TABLE}").fetchall()}

    world.top_up(15, late=False)
    first = build_and_compare()
    assert first and set(made) == first  # made by the first pull of the day
    world.top_up(30, late=False)
    second = build_and_compare()
    # the next pull reads the tables of the windows that start where they did (a WebSocket trade received a day late
    # moves some windows back: those are made anew), and makes none of them again
    assert first & second and not set(made) & first
    world.top_up(45, late=True)  # rows for older days: the trades and books changed before midnight
    kept = build_and_compare()
    remade = {n for n in made if "stg_trades" in n or "int_market_mids" in n}
    assert remade and remade <= kept and set(made) <= kept
    # the tables of today's windows went with that build (it did not read them); the next pull makes them again
    # from the older rows as they are now
    world.top_up(60, late=False)
    again = build_and_compare()
    assert set(made) & first
    assert again


def test_carry_tables_listed_without_their_family_are_made_again(tmp_path):
    """A registry written before tables were rolled forward (no `family` column, as an older kalshi-lake left it):
    its tables are not read, the build makes what it needs, drops the rest and lists each with its family; the
    warehouse equals a full rebuild."""
    from kalshi_lake.warehouse import carries

    root = tmp_path / "lake"
    world = World(root, seed=9)
    world.top_up(0, n=40)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    world.top_up(15, late=False)
    warehouse.build(root.parent, db_path=db, run_tests=False)
    with duckdb.connect(db) as con:
        old = {r[0] for r in con.execute(f"select name from {carries.RECORD_TABLE}").fetchall()}
        con.execute(f"alter table {carries.RECORD_TABLE} drop column family")
    assert old
    world.top_up(30, late=False)
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    assert result.ok and hows(result)["fct_spreads_by_close"] == "incremental"
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)
    with duckdb.connect(db, read_only=True) as con:
        listed = con.execute(f"select name, family from {carries.RECORD_TABLE}").fetchall()
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert listed and all(family for _, family in listed)
    assert {t for t in tables if t.startswith(carries.PREFIX)} == {name for name, _ in listed}


def test_a_keyed_marts_folded_history_serves_the_days_next_pulls(tmp_path, monkeypatch):
    """`fold`: the by-close marts re-sum a market's days before the recompute's window from one folded row per
    bucket, a table the day's first pull makes and its next pulls read (not made again); a late row for an older day
    folds from an earlier start. Each build equals a full rebuild."""
    from kalshi_lake.warehouse import carries

    root = tmp_path / "lake"
    world = World(root, seed=12)
    world.top_up(0, n=40)
    world.top_up(24 * 60 + 5, n=40, late=False)  # a second day: the window of a pull on it has days before it
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    made: list[str] = []
    real = carries.Carries.made
    monkeypatch.setattr(
        carries.Carries,
        "made",
        lambda self, name, d, start, family: (made.append(name), real(self, name, d, start, family)),
    )
    folds = ("fct_spreads_by_close_daily", "fct_effective_spreads_by_close_daily")

    def build_and_compare() -> set[str]:
        made.clear()
        result = warehouse.build(root.parent, db_path=db, run_tests=False)
        assert hows(result)["fct_spreads_by_close"] == "incremental"
        full = tmp_path / "full.duckdb"
        full.unlink(missing_ok=True)
        warehouse.build(root.parent, db_path=str(full), run_tests=False)
        assert_same(db, str(full))
        return {n for n in made if any(f"carry_{f}_" in n for f in folds)}

    world.top_up(24 * 60 + 20, late=False)  # the pulls later that day
    first = build_and_compare()
    assert {f for f in folds if any(f"carry_{f}_" in n for n in first)} == set(folds)
    world.top_up(24 * 60 + 35, late=False)
    assert build_and_compare() == set()  # read, not made again
    with duckdb.connect(db, read_only=True) as con:
        kept = {r[0] for r in con.execute(f"select name from {carries.RECORD_TABLE}").fetchall()}
    assert first <= kept
    world.top_up(24 * 60 + 50, late=True)  # rows for the older day: folded again from before them
    late = build_and_compare()
    assert late and not late & first
    # the next day's pulls: its folds are rolled forward from the day before's and that day's rows
    rolled: list[str] = []
    real_earlier = carries.Carries.earlier

    def earlier(self, family, d, start):
        found = real_earlier(self, family, d, start)
        rolled.extend([d] if found else [])
        return found

    monkeypatch.setattr(carries.Carries, "earlier", earlier)
    world.top_up(2 * 24 * 60 + 5, late=False)
    assert build_and_compare() and set(folds) <= set(rolled)


def test_a_table_rebuilt_whole_that_comes_out_unchanged_keeps_its_readers(tmp_path):
    """A pull that only re-observes every market (same state, a new observation time) rebuilds the market models
    whole; those that come out as they were (the settlements of the account's positions) keep their readers, and
    the warehouse still equals a full rebuild."""
    root = tmp_path / "lake"
    world = World(root, seed=8)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    marks = [market(tk, tk.rsplit("-", 1)[0], minutes=30) for tk in TICKERS]
    write_stream(root, "markets", marks, run_id="run-again")
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    how, why = hows(result), {m.name: m.why or "" for m in result.models}
    assert how["stg_markets"] == "incremental"  # the new partition and each ticker's last day before it
    assert how["int_pnl_settlements"] == "full" and "came out unchanged" in why["int_pnl_settlements"]
    assert how["fct_balance_reconciliation"] == "kept"  # reads only int_pnl_settlements of the changed models
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ([(1, "x"), (2, None), (2, None)], [(2, None), (1, "x"), (2, None)], True),  # order, nulls equal
        ([(1, "x"), (1, "x"), (2, "y")], [(1, "x"), (2, "y"), (2, "y")], False),  # same set, other counts
        ([(1, "x")], [(1, "x"), (1, "x")], False),
        ([(1, "x")], [(1, None)], False),
        ([], [], True),
    ],
)
def test_differing_rows_compares_multisets(a, b, same):
    """What "came out unchanged" and the `diff` inputs rely on: rows differ when they occur a different number of
    times on the two sides, nulls equal to nulls."""
    con = duckdb.connect()
    for name, rows in (("a", a), ("b", b)):
        con.execute(f"create table {name} (k integer, v varchar)")
        if rows:
            con.executemany(f"insert into {name} values (?, ?)", rows)
    rows = con.execute(f"select * from ({differing_rows('a', 'b')})").fetchall()
    assert (rows == []) is same
    keys_same = Counter(r[0] for r in a) == Counter(r[0] for r in b)
    keys = con.execute(f"select k, _inc_n from ({differing_rows('a', 'b', 'k')})").fetchall()
    assert (keys == []) is keys_same


def test_a_recompute_writes_only_the_rows_that_changed(monkeypatch):
    """The recomputed window's rows become the new version's, as multisets (duplicates, nulls), and a row that came
    out as it was is not deleted and written again (its rowid stays)."""
    monkeypatch.setattr(incremental, "REWRITE_ROWS", 0)
    con = duckdb.connect()
    con.execute("create table t (k integer, v varchar, d integer)")
    con.execute("insert into t values (1, 'a', 1), (2, null, 2), (2, null, 2), (3, 'c', 2), (4, 'x', 1)")
    kept = con.execute("select rowid from t where k = 3").fetchone()[0]
    new = "select * from (values (2, null, 2), (3, 'c', 2), (5, 'e', 2)) n(k, v, d)"
    assert replace_rows(con, "t", "d >= 2", new) is True
    assert sorted(con.execute("select * from t").fetchall(), key=str) == sorted(
        [(1, "a", 1), (4, "x", 1), (2, None, 2), (3, "c", 2), (5, "e", 2)], key=str
    )
    assert con.execute("select rowid from t where k = 3").fetchone()[0] == kept
    # the same window again: nothing changes, nothing is written
    before = con.execute("select rowid, * from t order by rowid").fetchall()
    con.execute("create temp table w as select * from t where d >= 2")
    assert replace_rows(con, "t", "d >= 2", "select * from w") is False
    assert con.execute("select rowid, * from t order by rowid").fetchall() == before


def test_a_recompute_that_changes_nothing_keeps_its_readers(tmp_path, monkeypatch):
    """Trades landed again by a later run (the first load is kept) recompute stg_trades from their instant, which
    comes out as it was: the models reading it are kept, and the warehouse still equals a full rebuild. (Every
    window takes the path of the large ones here.)"""
    monkeypatch.setattr(incremental, "REWRITE_ROWS", 0)
    root = tmp_path / "lake"
    world = World(root, seed=8)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    again = [{**t, "_loaded_at": at(30)} for t in world.trades[-5:]]
    write_stream(root, "trades", again, run_id="run-again")
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    how = hows(result)
    assert how["stg_trades"] == "incremental"
    assert how["fct_market_daily"] == how["fct_effective_spreads"] == "kept"
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)


def test_stg_markets_takes_a_quiet_markets_state_from_its_last_day_however_old(tmp_path):
    """A pull days later that sees one market only: stg_markets reads the new partition and, per ticker, the rows
    of its last partition day before it; the quiet markets keep their old latest state, the seen ones move on."""
    root = tmp_path / "lake"
    world = World(root, seed=8)
    world.top_up(0)
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    seen = TICKERS[0]
    write_stream(
        root, "markets", [market(seen, seen.rsplit("-", 1)[0], "closed", 3 * 1440)], run_id="run-later"
    )
    write_stream(
        root, "markets", [market(TICKERS[1], "x", "settled", 1440, result="yes")], run_id="run-late-file"
    )
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    assert hows(result)["stg_markets"] == "incremental"
    con = duckdb.connect(db, read_only=True)
    states = dict(con.execute("select ticker, status from stg_markets").fetchall())
    con.close()
    assert states[seen] == "closed" and states[TICKERS[1]] == "settled" and len(states) == len(TICKERS)
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)


def test_never_null_is_parsed_in_either_order_and_a_broken_promise_fails_the_full_build(tmp_path):
    for day in ("pnl_date, runs (account), never null", "pnl_date, never null, runs (account)"):
        spec = parse_spec(f"-- incremental: day = {day}\n-- incremental: x by d\nselect 1")
        assert (spec.day, spec.runs, spec.never_null) == ("pnl_date", "account", True)
    assert not parse_spec("-- incremental: day = d\n-- incremental: x by d\nselect 1").never_null
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    (sql / "marts" / "fct_zz_days.sql").write_text(
        "-- incremental: day = d, never null\n-- incremental: stg_trades by created_time\n"
        "select trade_id, case when trade_id = (select min(trade_id) from stg_trades) then null "
        "else utc_date(created_time) end as d from stg_trades"
    )
    root = tmp_path / "lake"
    World(root, seed=5).top_up(0)
    with pytest.raises(warehouse.ModelError, match=r"fct_zz_days.*never null' is broken: 1 row"):
        warehouse.build(root.parent, db_path=str(tmp_path / "w.duckdb"), sql_dir=sql, run_tests=False)


def test_combo_leg_trades_are_recomputed_by_day(tmp_path):
    """fct_combo_leg_trades reads a trade's own row and its combo's legs: a pull's combo trades (a late one of an
    older day too) recompute their days only, and the table equals a full rebuild."""
    root = tmp_path / "lake"
    world = World(root, seed=6)
    world.top_up(0)
    combo = {"ticker": "KXMVESPORTS-26NOV-C1"}
    write_stream(root, "trades", [{**world._trade(60), **combo, "trade_id": "c-old"}], run_id="run-c1")
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    later = [{**world._trade(2 * 1440), **combo, "trade_id": "c-new"}]
    write_stream(
        root, "trades", [*later, {**world._trade(1440), **combo, "trade_id": "c-late"}], run_id="run-c2"
    )
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    assert hows(result)["fct_combo_leg_trades"] == "incremental"
    con = duckdb.connect(db, read_only=True)
    ids = sorted(r[0] for r in con.execute("select trade_id from fct_combo_leg_trades").fetchall())
    con.close()
    assert ids == ["c-late", "c-new", "c-old"]
    full = str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(db, full)


def _instant_lake(root: Path) -> None:
    """A trade at 23:40 (T0's day) with a fresh book just before it, and one at 20:00 (T0 = 2026-11-20 12:00)."""
    tk = TICKERS[0]
    write_stream(root, "trades", [trade("a", tk, 700, "0.50"), trade("b", tk, 480, "0.40")], run_id="r1")
    books = book(tk, 699.5, yes=[("0.45", 5)], no=[("0.45", 5)]) + book(
        tk, 479.5, yes=[("0.35", 5)], no=[("0.55", 5)]
    )
    write_stream(root, "orderbook_snapshots", books, run_id="r1")


def _instant_top_up(root: Path) -> None:
    """A book at 00:39:30 the next day: the trade at 23:40 now has a fresh mid at its +1 h lookup (00:40)."""
    write_stream(
        root, "orderbook_snapshots", book(TICKERS[0], 759.5, yes=[("0.60", 5)], no=[("0.30", 5)]), run_id="r2"
    )


def test_an_instant_models_lake_stream_is_read_from_the_instant_unless_carried():
    """An `instant` model reads a `src_` stream by partition day and, within those days, from its window's instant on
    (less `before`, rows without an instant kept); a stream it carries is read by whole days, so the carried rows
    (each group's last before midnight) and the window meet without a gap."""
    from kalshi_lake.warehouse import incremental as inc

    spec = parse_spec(
        "-- incremental: day = utc_date(t)\n-- incremental: instant = t\n"
        "-- incremental: src_a by date, before 1 hours\n-- incremental: src_b by date, carry (k)\nselect 1"
    )
    noon = float(date(2026, 1, 10).toordinal()) + 0.5
    window, start, whole_day = inc._window("src_a", spec, spec.inputs["src_a"], noon, "DATE", True)
    assert "(t) >= timestamptz '2026-01-10 11:00:00+00' or (t) is null" in window
    assert "date '2026-01-10'" in window and (start, whole_day) == (
        float(date(2026, 1, 10).toordinal()),
        True,
    )
    window, start, whole_day = inc._window("src_b", spec, spec.inputs["src_b"], noon, "DATE", True)
    assert (
        window == "(date) >= date '2026-01-10'" and inc.start_literal(start, whole_day) == "date '2026-01-10'"
    )
    # a TIMESTAMP input of an instant model: its window starts at the instant
    window, start, whole_day = inc._window(
        "src_a", spec, spec.inputs["src_a"], noon, "TIMESTAMP WITH TIME ZONE", True
    )
    assert (start, whole_day) == (noon - 1 / 24, False) and window.endswith(
        "timestamptz '2026-01-10 11:00:00+00'"
    )


def test_a_trade_without_a_time_in_a_top_up_is_not_lost_to_the_instant_window(tmp_path):
    """stg_trades reads its lake streams from an hour before its window (`before 1 hours`: by partition day, and
    within those days by created_time); a landed trade without a created_time (the lake dates it by its load) is
    still read: the model then has a row without a day and is rebuilt whole, equal to a full rebuild."""
    root = tmp_path / "lake"
    world = World(root, seed=5)
    world.top_up(0, n=30)
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=inc, run_tests=False)
    world.top_up(15, late=False)
    timeless = {**world._trade(10), "created_time": None, "trade_id": "no-time", "_loaded_at": at(16)}
    write_stream(root, "trades", [timeless], run_id="run-timeless")
    result = warehouse.build(root.parent, db_path=inc, run_tests=False)
    assert hows(result)["stg_trades"] == "full"  # rows without a day: rebuilt whole
    con = duckdb.connect(inc, read_only=True)
    assert con.execute("select count(*) from stg_trades where trade_id = 'no-time'").fetchone() == (1,)
    con.close()
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(inc, full)


def test_an_instant_model_recomputes_from_an_hour_before_the_new_mids(tmp_path):
    """fct_effective_spreads (`instant = created_time`, mids `ahead 1 hour`): a book landed after midnight changes
    the +1 h lookup of a trade before it; the top-up recomputes from an hour before the new book (its instant, not
    its day: the mids are recomputed from the book's instant too), not that whole day, and equals a full rebuild."""
    root = tmp_path / "lake"
    _instant_lake(root)
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=inc, run_tests=False)
    _instant_top_up(root)
    result = warehouse.build(root.parent, db_path=inc)
    assert result.ok, str(result)
    es = next(m for m in result.models if m.name == "fct_effective_spreads")
    assert es.how == "incremental" and "timestamptz '2026-11-20 23:39:30+00'" in es.rows_where, es
    warehouse.build(root.parent, db_path=full, run_tests=False)
    assert_same(inc, full)
    con = duckdb.connect(inc, read_only=True)
    got = con.execute(
        "select trade_id, mid_1h_dollars from fct_effective_spreads order by trade_id"
    ).fetchall()
    con.close()
    assert got == [("a", D("0.650000")), ("b", None)]


def _edited_sql(
    tmp_path, wrong: str, right: str = "ahead 1 hour", model: str = "fct_effective_spreads"
) -> Path:
    """A copy of the models with `right` in marts/<model>.sql replaced by `wrong`."""
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    path = sql / "marts" / f"{model}.sql"
    assert right in path.read_text()
    path.write_text(path.read_text().replace(right, wrong))
    return sql


def test_an_instant_window_narrower_than_the_lookahead_is_caught(tmp_path):
    """Without the hour ahead the trade at 23:40 keeps its old +1 h mid: the comparison with a full rebuild fails
    (so the declaration is not vacuous)."""
    sql = _edited_sql(tmp_path, "ahead 0 hours")
    root = tmp_path / "lake"
    _instant_lake(root)
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=inc, sql_dir=sql, run_tests=False)
    _instant_top_up(root)
    warehouse.build(root.parent, db_path=inc, sql_dir=sql, run_tests=False)
    warehouse.build(root.parent, db_path=full, sql_dir=sql, run_tests=False)
    with pytest.raises(AssertionError, match="fct_effective_spreads"):
        assert_same(inc, full)


def test_an_ahead_in_an_unknown_unit_fails_the_build(tmp_path):
    """A unit the parser does not know is an error, not a silent day."""
    sql = _edited_sql(tmp_path, "ahead 59 minutes")
    root = tmp_path / "lake"
    _instant_lake(root)
    with pytest.raises(warehouse.ModelError, match="incremental"):
        warehouse.build(root.parent, db_path=str(tmp_path / "inc.duckdb"), sql_dir=sql, run_tests=False)


def _closing_lake(root: Path) -> None:
    """OPEN closes in five days and last traded two days ago; SHUT closed at midnight after T0 (its 1 h price at
    23:00) and traded at 22:00. Both opened a week before T0."""
    opened = {"open_time": at(days=-7)}
    write_stream(
        root,
        "markets",
        [
            market("OPEN", "EV", **opened),
            market("SHUT", "EV", status="closed", **opened, close_time=at(720)),
        ],
        run_id="r1",
    )
    write_stream(
        root,
        "trades",
        [trade("o1", "OPEN", -2 * 1440, "0.30"), trade("s1", "SHUT", 600, "0.80")],
        run_id="r1",
    )


def _closing_top_up(root: Path) -> None:
    """Noon the day after T0: a trade of SHUT after its close, and one of a third market."""
    write_stream(
        root,
        "trades",
        [trade("s2", "SHUT", 1440, "0.10"), trade("x1", "OTHER", 1440, "0.55")],
        run_id="r2",
    )


def _calibration_top_up(tmp_path, sql_dir=None) -> tuple[str, str]:
    kw = {"sql_dir": sql_dir} if sql_dir else {}
    root = tmp_path / "lake"
    _closing_lake(root)
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    warehouse.build(root.parent, db_path=inc, run_tests=False, **kw)
    _closing_top_up(root)
    result = warehouse.build(root.parent, db_path=inc, run_tests=False, **kw)
    assert result.ok, str(result)
    assert hows(result)["fct_calibration_prices"] == "incremental"
    warehouse.build(root.parent, db_path=full, run_tests=False, **kw)
    return inc, full


def test_a_price_at_close_reads_every_earlier_trade_of_its_market(tmp_path):
    """fct_calibration_prices is recomputed from the day of the new trades by the day of each row's as_of: OPEN's
    prices a day and an hour before its close (days ahead) are recomputed and still find its trade of two days
    before (`stg_trades whole`); SHUT's trade after its close changes none of its prices. Equal to a full rebuild."""
    inc, full = _calibration_top_up(tmp_path)
    assert_same(inc, full)
    con = duckdb.connect(inc, read_only=True)
    got = con.execute(
        "select ticker, horizon, price_source, implied_probability from fct_calibration_prices "
        "where horizon in ('24h', '1h') order by ticker, horizon"
    ).fetchall()
    con.close()
    assert got == [
        ("OPEN", "1h", "trade", D("0.30")),
        ("OPEN", "24h", "trade", D("0.30")),
        ("SHUT", "1h", "trade", D("0.80")),
        ("SHUT", "24h", "none", None),  # a day before its close it had not traded yet
    ]


def test_a_price_at_close_read_from_the_new_days_only_is_caught(tmp_path):
    """With its trades read `by created_time` (only the new days), OPEN's recomputed prices lose the trade before
    them: the comparison with a full rebuild fails (so `whole` is not vacuous)."""
    sql = _edited_sql(tmp_path, "stg_trades by created_time", "stg_trades whole", "fct_calibration_prices")
    inc, full = _calibration_top_up(tmp_path, sql)
    with pytest.raises(AssertionError, match="fct_calibration_prices"):
        assert_same(inc, full)
