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


# dec_div_6dp (#20): the same result as dec_div for operands of at most 6 decimal places, on both of its paths
# (BIGINT units below 1,000,000, HUGEINT above), every sign, at the rounding midpoint, and a zero divisor
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("0.04", "0.5"),
        ("-0.04", "0.5"),
        ("0.04", "-0.5"),
        ("0.000001", "2"),  # 0.0000005: half away from zero
        ("-0.000001", "2"),
        ("1", "3"),
        ("0.2", "0.3"),
        ("0", "0.7"),
        ("999999.999999", "0.000001"),
        ("1000000", "3"),  # HUGEINT path
        ("3999999.999999", "0.000001"),
        ("-999999999999.999999", "0.000007"),
        ("999999999999.999999", "999999999999.999999"),
    ],
)
def test_dec_div_6dp_equals_dec_div(con, a, b):
    assert_equals_dec_div(con, "dec_div_6dp", a, b, "decimal(18,6)", "decimal(18,6)")


def assert_equals_dec_div(con, fast: str, a: str, b: str, a_type: str, b_type: str) -> None:
    """`fast`(a, b) gives dec_div's answer, and an answer."""
    want, got = con.execute(
        f"select dec_div(cast(? as {a_type}), cast(? as {b_type})), {fast}(cast(? as {a_type}), cast(? as {b_type}))",
        [a, b, a, b],
    ).fetchone()
    assert got == want and want is not None


def test_dec_div_6dp_zero_and_null(con):
    assert con.execute(
        "select dec_div_6dp(cast(1 as decimal(18,6)), cast(0 as decimal(18,6)))"
    ).fetchone() == (None,)
    assert con.execute(
        "select dec_div_6dp(cast(null as decimal(18,6)), cast(2 as decimal(18,6)))"
    ).fetchone() == (None,)


# dec_div_n (#20): the same result as dec_div for a numerator of at most 6 decimal places over an integer, on both
# of its paths (BIGINT units while |a| < 10^12, HUGEINT above, or a divisor beyond BIGINT's half), every sign,
# at the rounding midpoint, and a zero or null operand
@pytest.mark.parametrize(
    ("a", "n"),
    [
        ("0.04", "3"),
        ("-0.04", "3"),
        ("0.04", "-3"),
        ("0.000001", "2"),  # 0.0000005: half away from zero
        ("-0.000001", "2"),
        ("0.000003", "2"),
        ("1", "3"),
        ("0", "7"),
        ("999999999999.999999", "7"),  # the last BIGINT numerator
        ("-999999999999.999999", "7"),
        ("1000000000000", "7"),  # HUGEINT path
        ("3999999999999.999999", "7"),
        ("-289440000000000.123456", "7200000000000"),
        ("2592000000000000000", "2592000000000"),
        ("12.5", "5000000000000000000"),  # a divisor beyond the BIGINT path
        ("80000000000000000000.123457", "3"),
    ],
)
def test_dec_div_n_equals_dec_div(con, a, n):
    assert_equals_dec_div(con, "dec_div_n", a, n, "decimal(38,6)", "hugeint")


def test_dec_div_n_on_bigint_and_decimal18_operands(con):
    got = con.execute(
        "select dec_div_n(cast(0.05 as decimal(18,6)), cast(3 as bigint)), dec_div_n(7, 2)"
    ).fetchone()
    assert got == (Decimal("0.016667"), Decimal("3.500000"))


def test_dec_div_n_on_constants_of_either_path(con):
    # a constant operand is folded at bind time: the branch not taken must not be evaluated (a DECIMAL(18,6) cast of
    # 10^13 would fail)
    got = con.execute(
        "select dec_div_n(cast(10000000000000.5 as decimal(38,6)), 2), dec_div_n(cast(-0.5 as decimal(38,6)), 3)"
    ).fetchone()
    assert got == (Decimal("5000000000000.250000"), Decimal("-0.166667"))


@pytest.mark.parametrize(
    "x",
    [
        "0",
        "0.000001",
        "-0.000001",
        "0.5",
        "-0.5",
        "1",
        "-1",
        "123.456789",
        "-123.456789",
        "999999999999.999999",
        "-999999999999.999999",
    ],
)
def test_units_6dp_is_the_exact_count_of_micro_units(con, x):
    got = con.execute(
        "select units_6dp(cast(? as decimal(38,6))), units_6dp(cast(? as decimal(18,6)))", [x, x]
    )
    assert got.fetchone() == (int(Decimal(x) * 1000000),) * 2


def test_dec_div_n_zero_and_null(con):
    assert con.execute("select dec_div_n(cast(1 as decimal(18,6)), 0)").fetchone() == (None,)
    assert con.execute("select dec_div_n(cast(null as decimal(18,6)), 2)").fetchone() == (None,)
    assert con.execute("select dec_div_n(cast(1 as decimal(18,6)), cast(null as bigint))").fetchone() == (
        None,
    )
