"""The combo checks in sql/tests flag what they are meant to flag (each run on hand-made rows)."""

from __future__ import annotations

import duckdb

from kalshi_lake import warehouse


def _check(name: str, con) -> list[tuple]:
    return sorted(con.execute((warehouse.SQL_DIR / "tests" / f"{name}.sql").read_text()).fetchall())


def test_a_combo_result_that_contradicts_its_legs_is_flagged():
    con = duckdb.connect()
    con.execute(
        "create table dim_combo_legs as select * from (values "
        "('WONLEGS_NO', 'no', true), ('WONLEGS_NO', 'no', true), "  # every leg won but the combo paid NO
        "('LOST_YES', 'yes', true), ('LOST_YES', 'yes', false), "  # a leg failed but the combo paid YES
        "('FINE', 'no', true), ('FINE', 'no', false), "
        "('UNKNOWN', 'yes', true), ('UNKNOWN', 'yes', null)) "  # a leg not determined: not checked
        "t(combo_ticker, combo_result, leg_resolved_to_side)"
    )
    assert [r[0] for r in _check("test_combo_result_matches_legs", con)] == ["LOST_YES", "WONLEGS_NO"]


def test_a_combo_without_legs_or_with_a_bad_leg_is_flagged():
    con = duckdb.connect()
    con.execute("create table stg_combo_markets as select * from (values ('A'), ('B'), ('C')) t(ticker)")
    con.execute(
        "create table stg_combo_legs as select * from (values "
        "('A', 'M1', 'E1', 'yes'), ('C', 'M3', null, 'yes'), ('C', 'M4', 'E4', 'maybe')) "
        "t(combo_ticker, leg_market_ticker, leg_event_ticker, leg_side)"
    )
    flagged = _check("test_combo_legs_complete", con)
    assert flagged == [
        ("B", "no leg rows"),
        ("C", "leg without market, event or side"),
        ("C", "leg without market, event or side"),
    ]
