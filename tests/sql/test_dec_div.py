"""dec_div (sql/macros.sql): exact decimal division to 6 dp, half away from zero — including the large numerators
of time-weighted sums ($ x microseconds over weeks, contracts x microseconds), which overflowed DECIMAL(38) before."""

from decimal import Decimal

import duckdb
import pytest

from kalshi_lake.warehouse import SQL_DIR


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute((SQL_DIR / "macros.sql").read_text())
    return con


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1", "3", "0.333333"),
        ("2", "3", "0.666667"),
        ("-2.5", "3", "-0.833333"),
        ("0.0000005", "1", "0.000001"),
        ("-0.0000005", "1", "-0.000001"),
        ("0", "7", "0.000000"),
        # a $0.04 spread held 7.236e15 us (a week-plus bucket summed over quotes): 2.8944e14 $-us
        ("289440000000000.123456", "7200000000000", "40.200000"),
        # 10^6 contracts held a month: 2.6e18 contract-us
        ("2592000000000000000", "2592000000000", "1000000.000000"),
    ],
)
def test_exact_division(con, a, b, expected):
    got = con.execute(
        "select dec_div(cast(? as decimal(38,12)), cast(? as decimal(38,6)))", [a, b]
    ).fetchone()[0]
    assert got == Decimal(expected)


def test_zero_divisor_is_null(con):
    assert con.execute("select dec_div(cast(1 as decimal(18,2)), 0)").fetchone()[0] is None
