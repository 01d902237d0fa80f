"""The by-close marts re-sum per-day partials (fct_spreads_by_close_daily, fct_effective_spreads_by_close_daily):
a top-up recomputes only the partials of the days it touched, and a market's close_time that shows up late or
moves recomputes exactly the days it changes (7 days before the close on), equal to a full rebuild."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from kalshi_lake import warehouse
from tests.sql import lakegen
from tests.sql.lakegen import D, at, book, market, write_stream

BY_CLOSE = (
    "fct_spreads_by_close_daily",
    "fct_spreads_by_close",
    "fct_effective_spreads_by_close_daily",
    "fct_effective_spreads_by_close",
)
DAY = 1440


def trade(tid: str, ticker: str, minutes: float, price: str) -> dict:
    return lakegen.trade(tid, ticker, minutes, price, count=2)


def quotes(ticker: str, minutes: list[float], run: int) -> list[dict]:
    rows = []
    for i, m in enumerate(minutes):
        mid = 30 + (i * 7 + run) % 40
        rows += book(ticker, m, yes=[(D(mid - 1) / 100, 5 + i)], no=[(D(100 - mid - 2) / 100, 3 + run)])
    return rows


def pull(root: Path, run: int, books: list[dict], trades: list[dict], marks: list[dict]) -> None:
    loaded = {"_loaded_at": at(run * 15)}
    write_stream(root, "orderbook_snapshots", [{**b, **loaded} for b in books], run_id=f"r{run}")
    write_stream(root, "trades", [{**t, **loaded} for t in trades], run_id=f"r{run}")
    if marks:
        write_stream(root, "markets", marks, run_id=f"r{run}")


def differences(inc: str, full: str) -> dict[str, int]:
    con = duckdb.connect(inc, read_only=True)
    con.execute(f"attach '{full}' as f (read_only)")
    out = {}
    for t in BY_CLOSE:
        n = con.execute(
            f"select (select count(*) from (select * from {t} except all select * from f.{t})) + "
            f"(select count(*) from (select * from f.{t} except all select * from {t}))"
        ).fetchone()[0]
        if n:
            out[t] = n
    con.close()
    return out


def late_and_moved_closes(tmp_path: Path, sql_dir: Path | None = None) -> list[dict[str, str]]:
    """K9 quotes and trades for two weeks without a market row (no_close_time), K7 one quote two weeks ago; then
    their markets show up (close in a day: K7's partials do not change, only the mart's bucket names and its last
    quote's hold), K6's close_time (a month away) is gone (closed: no market-snapshot quote; its partials do not
    change, the mart's rows are 'no_close_time' now),
    K9's close moves three days earlier (some quotes after the close), and new quotes come in (its last quote, of
    the day before, is held no more). Each pull built incrementally and compared with a full rebuild."""
    kw = {"sql_dir": sql_dir} if sql_dir else {}
    root = tmp_path / "lake"
    k8 = market("K8", "EV-8", minutes=0, close_time=at(days=3))
    k6 = market("K6", "EV-6", minutes=-13 * DAY, close_time=at(days=30))
    old = [-14 * DAY, -12 * DAY + 5, -9 * DAY, -6.5 * DAY, -3 * DAY, -1.5 * DAY, -0.6 * DAY]
    pull(
        root,
        0,
        quotes("K9", old, 0)
        + quotes("K8", [-2 * DAY, -40], 0)
        + quotes("K7", [-13 * DAY], 0)
        + quotes("K6", [-13 * DAY], 0),
        [trade(f"a{i}", "K9", m + 3, "0.5") for i, m in enumerate(old)] + [trade("b0", "K8", -39, "0.4")],
        [k8, k6],
    )
    inc, full = str(tmp_path / "inc.duckdb"), str(tmp_path / "full.duckdb")
    assert warehouse.build(root.parent, db_path=inc, run_tests=False, **kw).ok
    steps = [
        # K9's market shows up: closes a day from now
        (
            [*quotes("K8", [5], 1)],
            [trade("b1", "K8", 6, "0.45")],
            [
                k8,
                market("K9", "EV-9", close_time=at(days=1)),
                market("K7", "EV-7", close_time=at(days=1)),
                market("K6", "EV-6", "closed", minutes=5, close_time=None),
            ],
        ),
        # its close moves to two days ago: the last two days' quotes are after the close
        ([*quotes("K8", [20], 2)], [], [k8, market("K9", "EV-9", minutes=20, close_time=at(days=-2))]),
        # new quotes and trades of K9 (its last quote now holds until the next one)
        ([*quotes("K9", [35, 40], 3)], [trade("a99", "K9", 36, "0.55")], []),
    ]
    seen = []
    for run, (books, trades, marks) in enumerate(steps, start=1):
        pull(root, run, books, trades, marks)
        result = warehouse.build(root.parent, db_path=inc, run_tests=run == len(steps), **kw)
        assert result.ok, str(result)
        seen.append({m.name: m.how for m in result.models})
        Path(full).unlink(missing_ok=True)
        assert warehouse.build(root.parent, db_path=full, run_tests=False, **kw).ok
        assert differences(inc, full) == {}, f"pull {run}"
    return seen


def test_a_late_or_moved_close_time_recomputes_the_by_close_marts_exactly(tmp_path):
    for how in late_and_moved_closes(tmp_path):
        assert {t: how[t] for t in BY_CLOSE} == dict.fromkeys(BY_CLOSE, "incremental")


def test_a_top_up_recomputes_only_the_partials_of_its_days(tmp_path):
    """The partials of the days before the pull are kept as they were (their rows are not deleted and inserted
    again), and they sum to the marts."""
    root = tmp_path / "lake"
    k = market("K1", "EV-1", close_time=at(days=2))
    days = [-5 * DAY, -4 * DAY, -3 * DAY, -2 * DAY, -DAY]
    pull(
        root, 0, quotes("K1", days, 0), [trade(f"t{i}", "K1", m + 1, "0.5") for i, m in enumerate(days)], [k]
    )
    db = str(tmp_path / "w.duckdb")
    assert warehouse.build(root.parent, db_path=db, run_tests=False).ok
    # mark the partials of the days the top-up cannot reach (day -1's quote holds into today: from day -1 on)
    con = duckdb.connect(db)
    older = "piece_date < date '2026-11-19'"
    marked = con.execute(
        f"update fct_spreads_by_close_daily set max_quote_age_seconds = -1 where {older}"
    ).fetchone()
    con.execute(
        "update fct_effective_spreads_by_close_daily set max_mid_age_seconds = -1 where trade_date < date '2026-11-20'"
    )
    con.close()
    pull(root, 1, quotes("K1", [10], 1), [trade("t9", "K1", 11, "0.6")], [k])
    result = warehouse.build(root.parent, db_path=db, run_tests=True)
    assert result.ok
    how = {m.name: m.how for m in result.models}
    assert how["fct_spreads_by_close_daily"] == how["fct_effective_spreads_by_close_daily"] == "incremental"
    con = duckdb.connect(db, read_only=True)
    # the marked rows were kept, not recomputed
    assert (
        con.execute(
            "select count(*) from fct_spreads_by_close_daily where max_quote_age_seconds = -1"
        ).fetchone()
        == marked
    )
    assert marked[0] > 0
    assert con.execute(
        "select count(*) filter (where max_mid_age_seconds = -1), count(*) from fct_effective_spreads_by_close_daily where trade_date < date '2026-11-20'"
    ).fetchone() == (5, 5)  # fct_effective_spreads recomputes from an hour before the new quote, on this day
    # the marts are the partials' sums: every quote observed once, six trades
    got = con.execute(
        "select (select sum(observations) from fct_spreads_by_close where ticker = 'K1'), "
        "(select sum(observations) from fct_spreads_by_close_daily where ticker = 'K1'), "
        "(select count(*) from fct_spreads where ticker = 'K1'), "
        "(select sum(trade_count) from fct_effective_spreads_by_close where ticker = 'K1'), "
        "(select sum(trade_count) from fct_effective_spreads_by_close_daily where ticker = 'K1')"
    ).fetchone()
    assert got[0] == got[1] == got[2] and got[3:] == (6, 6)
    con.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "right", "wrong"),
    [
        (
            "marts/fct_spreads_by_close_daily.sql",
            "at coalesce(utc_date(close_time) - 7, date '9999-12-31')",
            "at coalesce(utc_date(close_time), date '9999-12-31')",
        ),
        (
            "marts/fct_effective_spreads_by_close_daily.sql",
            "at coalesce(utc_date(close_time) - 7, date '9999-12-31')",
            "at coalesce(utc_date(close_time), date '9999-12-31')",
        ),
        ("marts/fct_spreads_by_close_daily.sql", "carry (ticker, source), held", "carry (ticker, source)"),
        (
            "marts/fct_spreads_by_close.sql",
            "int_market_states diff (ticker, close_time)",
            "int_market_states diff (ticker)",
        ),
    ],
)
def test_a_wrong_declaration_fails_the_comparison(tmp_path, model, right, wrong):
    """The comparison catches each declaration above made too narrow (so they are not vacuous)."""
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    path = sql / model
    assert right in path.read_text()
    path.write_text(path.read_text().replace(right, wrong))
    with pytest.raises(AssertionError, match="pull"):
        late_and_moved_closes(tmp_path, sql_dir=sql)
