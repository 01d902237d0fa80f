"""Pure translation, price/count parsing, tick grids and fee estimates (no exchange needed)."""

from decimal import Decimal as D

import pytest

from kalshi_extract.errors import OrderValidationError
from kalshi_extract.orders.translate import (
    check_price_on_grid,
    estimate_fee,
    from_v2,
    opening_cost,
    parse_count,
    parse_price_text,
    to_v2,
)
from kalshi_extract.orders.validate import build_v2_request, check_request_syntax

CENT = {
    "ticker": "T",
    "price_level_structure": "linear_cent",
    "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
}
TAPERED = {
    "ticker": "T",
    "price_level_structure": "tapered_deci_cent",
    "price_ranges": [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ],
}


@pytest.mark.parametrize(
    "action,outcome,price,side,yes_price",
    [
        ("buy", "yes", "0.45", "bid", "0.45"),
        ("buy", "no", "0.40", "ask", "0.60"),
        ("sell", "yes", "0.45", "ask", "0.45"),
        ("sell", "no", "0.40", "bid", "0.60"),
    ],
)
def test_to_v2_and_back(action, outcome, price, side, yes_price):
    q = to_v2(action, outcome, D(price))
    assert (q.side, q.price) == (side, D(yes_price))
    assert from_v2(q.side, q.price, outcome) == (action, outcome, D(price))


def test_from_v2_speaks_either_outcome():
    assert from_v2("ask", D("0.60"), "no") == ("buy", "no", D("0.40"))
    assert from_v2("ask", D("0.60"), "yes") == ("sell", "yes", D("0.60"))
    assert from_v2("bid", D("0.56"), "no") == ("sell", "no", D("0.44"))


@pytest.mark.parametrize(
    "text,dollars",
    [
        ("45", "0.45"),
        ("1", "0.01"),
        ("99", "0.99"),
        ("0.45", "0.45"),
        (".45", "0.45"),
        ("0.455", "0.455"),
        ("45c", "0.45"),
        ("45.5c", "0.455"),
        ("45¢", "0.45"),
        ("$0.45", "0.45"),
        (" 7 ", "0.07"),
    ],
)
def test_price_text_rule(text, dollars):
    assert parse_price_text(text) == D(dollars)


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("0", "strictly between"),
        ("0.00", "strictly between"),
        ("1.00", "strictly between"),
        ("100", "strictly between"),
        ("1", None),
        ("45.5", "c suffix"),
        ("abc", "not a number"),
        ("-3", "is negative"),
        ("", "empty"),
        ("$1.20", "strictly between"),
    ],
)
def test_bad_price_text(text, fragment):
    if fragment is None:  # "1" is one cent: valid
        assert parse_price_text(text) == D("0.01")
        return
    with pytest.raises(OrderValidationError, match=fragment) as info:
        parse_price_text(text)
    assert "Nothing was sent" in str(info.value)


@pytest.mark.parametrize("bad", ["0", "-3", "0.001", "abc", 1.5, "nan", "inf", "1e30", "10000000000000000"])
def test_bad_counts(bad):
    with pytest.raises(OrderValidationError):
        parse_count(bad)


def test_counts_ok():
    assert parse_count("10") == D(10)
    assert parse_count("0.01") == D("0.01")
    assert parse_count(3) == D(3)


def test_grid_cent_market_refuses_subcent():
    check_price_on_grid(D("0.45"), CENT)
    with pytest.raises(OrderValidationError, match=r"0\.455 is not on T's tick grid.*0\.45 and 0\.46"):
        check_price_on_grid(D("0.455"), CENT)


def test_grid_tapered_deci_cent():
    check_price_on_grid(D("0.055"), TAPERED)
    check_price_on_grid(D("0.905"), TAPERED)
    check_price_on_grid(D("0.10"), TAPERED)
    with pytest.raises(OrderValidationError):
        check_price_on_grid(D("0.455"), TAPERED)


def test_grid_falls_back_on_structure():
    check_price_on_grid(D("0.455"), {"ticker": "T", "price_level_structure": "deci_cent"})
    with pytest.raises(OrderValidationError):
        check_price_on_grid(D("0.455"), {"ticker": "T"})


def test_grid_message_speaks_no_price():
    with pytest.raises(
        OrderValidationError, match=r"price 0\.455 .*0\.45 and 0\.46|price 0\.455 .*0\.46 and 0\.45"
    ):
        check_price_on_grid(D("0.545"), CENT, shown=D("0.455"))


def test_fee_estimate_matches_recorded_fills():
    # fortuna_demo fills__after_taker.json: 1 @ 0.52 → 0.017500, 1 @ 0.99 → 0.000700
    assert estimate_fee(D(1), D("0.52")) == D("0.0175")
    assert estimate_fee(D(1), D("0.99")) == D("0.0007")
    assert estimate_fee(D(10), D("0.50"), fee_multiplier=D("0.5")) == D("0.0875")
    assert estimate_fee(D(100), D("0.30"), fee_type="quadratic_with_maker_fees", maker=True) == D("0.3675")
    assert estimate_fee(D(100), D("0.30"), fee_type="quadratic", maker=True) == D("0")
    assert estimate_fee(D(3), D("0.33")) == D("0.0465")  # 0.046431 rounded up


def test_opening_cost():
    assert opening_cost("bid", D("0.40"), D(10), D(0)) == D("4.00")
    assert opening_cost("ask", D("0.40"), D(10), D(0)) == D("6.00")  # short YES = long NO at 0.60
    assert opening_cost("ask", D("0.40"), D(10), D(4)) == D("3.60")  # 4 close, 6 open
    assert opening_cost("bid", D("0.40"), D(10), D(-20)) == D(0)  # closes a NO position


def test_build_request_exact_shape():
    p = build_v2_request("KX-T", "buy", "no", "10", D("0.40"), time_in_force="ioc", client_order_id="c1")
    assert p.request == {
        "ticker": "KX-T",
        "client_order_id": "c1",
        "side": "ask",
        "count": "10.00",
        "price": "0.6000",
        "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross",
        "post_only": False,
        "reduce_only": False,
        "cancel_order_on_pause": False,
    }
    assert "buy 10 NO".upper() in p.summary().upper()


def test_build_request_assigns_uuid4():
    import uuid

    p = build_v2_request("KX-T", "buy", "yes", 1, D("0.5"))
    assert uuid.UUID(p.client_order_id).version == 4


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"time_in_force": "day"}, "time in force"),
        ({"self_trade_prevention_type": "cancel_both"}, "self_trade_prevention_type"),
        ({"reduce_only": True}, "reduce-only"),
        ({"expiration_time": 1900000000, "time_in_force": "ioc"}, "expiration_time"),
    ],
)
def test_build_request_refuses_bad_options(kwargs, fragment):
    with pytest.raises(OrderValidationError, match=fragment):
        build_v2_request("KX-T", "buy", "yes", 1, D("0.5"), **kwargs)


def test_bad_enums():
    with pytest.raises(OrderValidationError, match="outcome must be one of yes, no"):
        build_v2_request("KX-T", "buy", "maybe", 1, D("0.5"))
    with pytest.raises(OrderValidationError, match="action must be one of buy, sell"):
        build_v2_request("KX-T", "hold", "yes", 1, D("0.5"))
    with pytest.raises(OrderValidationError, match="unknown order field"):
        check_request_syntax(
            {
                "ticker": "T",
                "side": "bid",
                "count": "1",
                "price": "0.5",
                "yes_price": 50,
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "maker",
            }
        )


def test_float_price_refused():
    with pytest.raises(OrderValidationError, match="float"):
        build_v2_request("KX-T", "buy", "yes", 1, 0.5)


def test_show_dollars_is_exact_with_at_least_cents():
    from kalshi_extract.orders.translate import show_dollars

    assert show_dollars(D("0.0300")) == "$0.03"
    assert show_dollars(D("0.004100")) == "$0.0041"
    assert show_dollars("500000.000000") == "$500,000.00"
    assert show_dollars(D("9999.8716")) == "$9,999.8716"
    assert show_dollars(D("-0.120000")) == "-$0.12"
    assert show_dollars(D("0.455")) == "$0.455"  # never rounded


def test_cli_render_money_counts_and_times():
    from kalshi_lake.cli.render import cents, count, dollars, when

    assert [dollars("0.120000"), dollars("0.001400"), dollars("0.0010"), dollars("-0.120000")] == [
        "0.12",
        "0.0014",
        "0.001",
        "-0.12",
    ]
    assert dollars("10000.0000") == "10,000.00" and dollars(None) == ""
    assert [count("6.00"), count("980.90"), count("1443.22")] == ["6", "980.9", "1,443.22"]
    assert cents(999987) == "9,999.87" and cents(0) == "0.00"
    assert when("2026-11-24T12:00:05.000006Z") == "2026-11-24 12:00:05"
    assert when(1795521600, seconds=False) == "2026-11-24 12:00"


def test_cli_money_columns_line_up_on_the_point():
    from kalshi_lake.cli.render import columns, dollars_column

    assert dollars_column(["0.216", "0.2193", None, "12"]) == ["0.2160", "0.2193", "", "12.0000"]
    assert columns([["A", "0.100000"], ["B", "1.5"]], money=[1]) == [["A", "0.10"], ["B", "1.50"]]
    assert columns([], money=[1]) == []


def test_cli_usd_puts_the_sign_first():
    from kalshi_lake.cli.render import usd

    assert [usd("-15.643100"), usd("7.1"), usd(None)] == ["-$15.6431", "$7.10", ""]


def test_negative_price_expiry_and_exponent_counts_read_plainly():
    from kalshi_extract.orders.translate import parse_price_text, show_count

    for text in ("-5", "-0.45", "-$0.45"):
        with pytest.raises(OrderValidationError, match="strictly between"):
            parse_price_text(text)
    with pytest.raises(OrderValidationError, match="positive int"):
        check_request_syntax(
            build_v2_request("KXT-1", "buy", "yes", "1", D("0.45")).request | {"expiration_time": -1}
        )
    assert show_count(D("1E+3")) == "1000" and show_count(D("2.50")) == "2.5"
    assert "BUY 1000 YES" in build_v2_request("KXT-1", "buy", "yes", "1e3", D("0.45")).summary()
