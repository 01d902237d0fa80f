"""Money parsing: exact, never float, and every money value in the genuine recorded responses survives."""

from __future__ import annotations

import json
import pathlib
from decimal import Decimal

import pytest

from kalshi_extract.money import (
    cents_to_dollars,
    count_text,
    format_count,
    format_price,
    grid_neighbours,
    has_places,
    on_grid,
    parse_dollars,
    parse_fp,
    price_grid,
    price_text,
    to_decimal,
)
from tests.shared_paths import REAL_DATA

REAL = REAL_DATA
if not REAL.exists():  # the repo checkout next to the shared folder
    REAL = pathlib.Path(__file__).resolve().parents[3] / "shared" / "real-data"


def _documents():
    for p in sorted(REAL.rglob("*")):
        if p.suffix == ".json":
            yield p, json.loads(p.read_text())
        elif p.suffix == ".jsonl":
            for line in p.read_text().splitlines():
                if line.strip():
                    yield p, json.loads(line)


def _money_values(obj, out):
    """Collect (key, value) for every *_dollars / *_fp / fee_cost value, incl. [price, count] book levels and
    price_ranges bounds."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, list) and k.endswith(("_dollars", "_dollars_fp")):
                for level in v:  # orderbook levels: [price_dollars, count_fp]
                    out.append(("level_price_dollars", level[0]))
                    out.append(("level_count_fp", level[1]))
            elif k.endswith("_dollars") or k == "fee_cost":
                out.append((k, v))
            elif k.endswith("_fp") and not isinstance(v, dict):
                out.append((k, v))
            elif k == "price_ranges" and isinstance(v, list):
                for r in v:
                    out.extend(("range_dollars", r[b]) for b in ("start", "end", "step"))
            else:
                _money_values(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _money_values(v, out)
    return out


def test_every_money_value_in_real_data_parses_exactly():
    values = []
    for _path, doc in _documents():
        _money_values(doc, values)
    assert len(values) > 500, "the real-data walk found too few values; the folder moved?"
    kinds = set()
    for key, value in values:
        if value is None:
            continue
        assert isinstance(value, str), (key, value)
        parser = parse_fp if key.endswith("_fp") else parse_dollars
        parsed = parser(value)
        assert isinstance(parsed, Decimal)
        assert str(parsed) == value, (key, value)  # exact text round trip: scale preserved
        assert parsed == Decimal(value)
        kinds.add(key)
    assert {"fee_cost", "yes_price_dollars", "count_fp", "level_price_dollars"} <= kinds


@pytest.mark.parametrize("text", ["0.0010", "0.017500", "0.000700", "1.0000", "0.5", "-24.830000", "0"])
def test_dollar_strings_round_trip(text):
    value = parse_dollars(text)
    assert str(value) == text
    assert parse_dollars(str(value)) == value


@pytest.mark.parametrize("text", ["10.00", "-3.00", "0.00", "33896.50", "7"])
def test_fp_strings_round_trip(text):
    assert str(parse_fp(text)) == text


@pytest.mark.parametrize(
    "bad", ["0.1234567", "1e-3", "NaN", "Infinity", "", " 0.5", "0,5", "$1.00", "0x10", "1.2.3"]
)
def test_malformed_dollar_strings_rejected(bad):
    with pytest.raises(ValueError):
        parse_dollars(bad)


@pytest.mark.parametrize("bad", ["1.234", "1e2", "nan", "", "ten"])
def test_malformed_fp_strings_rejected(bad):
    with pytest.raises(ValueError):
        parse_fp(bad)


@pytest.mark.parametrize("fn", [parse_dollars, parse_fp, format_count, format_price])
def test_floats_and_bools_rejected(fn):
    with pytest.raises(TypeError):
        fn(0.56)
    with pytest.raises(TypeError):
        fn(True)


def test_none_passes_through():
    assert parse_dollars(None) is None
    assert parse_fp(None) is None


def test_legacy_integer_cents_and_counts():
    assert parse_dollars(45) == Decimal("0.45")
    assert str(parse_dollars(100)) == "1.00"
    assert parse_fp(10) == Decimal(10)
    assert cents_to_dollars(1234) == Decimal("12.34")
    assert str(cents_to_dollars(-5)) == "-0.05"
    with pytest.raises(TypeError):
        cents_to_dollars("12")


def test_format_price_default_grid():
    assert format_price(Decimal("0.56")) == "0.5600"
    assert format_price("0.5") == "0.5000"
    assert format_price(Decimal("0.0100")) == "0.0100"
    for bad in ("0.565", "0", "1", "1.01", "-0.5", "0.00001"):
        with pytest.raises(ValueError):
            format_price(bad)


def test_format_price_tapered_deci_cent_grid():
    ranges = [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ]
    assert format_price("0.001", ranges) == "0.0010"
    assert format_price("0.945", ranges) == "0.9450"
    assert format_price("0.55", ranges) == "0.5500"
    with pytest.raises(ValueError, match="tick grid"):
        format_price("0.555", ranges)


def test_format_count():
    assert format_count(Decimal("10")) == "10.00"
    assert format_count("2.5") == "2.50"
    assert format_count(3) == "3.00"
    with pytest.raises(ValueError):
        format_count("1.001")


def test_format_price_accepts_price_ranges_as_json_text():
    ranges = '[{"start":"0.0000","end":"0.1000","step":"0.0010"},{"start":"0.1000","end":"1.0000","step":"0.0100"}]'
    assert format_price("0.005", ranges) == "0.0050"
    with pytest.raises(ValueError):
        format_price("0.105", ranges)
    with pytest.raises(ValueError, match="not JSON"):
        format_price("0.5", "[{")


def test_to_decimal_is_exact_and_says_what_is_wrong():
    assert to_decimal(" 0.5600 ") == Decimal("0.5600") and str(to_decimal("0.5600")) == "0.5600"
    assert to_decimal(3) == Decimal(3)
    with pytest.raises(ValueError, match="price 'abc' is not a number"):
        to_decimal("abc", "price")
    with pytest.raises(ValueError, match="count 'inf' is not a finite number"):
        to_decimal("inf", "count")
    for bad in (0.5, True, None):
        with pytest.raises(TypeError):
            to_decimal(bad)


def test_has_places():
    assert has_places(Decimal("0.45"), 2) and has_places(Decimal("0.450000"), 2) and has_places(Decimal(3), 0)
    assert not has_places(Decimal("0.455"), 2)


def test_request_texts():
    assert price_text(Decimal("0.56")) == "0.5600" and count_text(Decimal("10")) == "10.00"
    with pytest.raises(ValueError, match="more than 4 decimals"):
        price_text(Decimal("0.12345"))
    with pytest.raises(ValueError, match="more than 2 decimals"):
        count_text(Decimal("1.001"))


def test_price_grid_sources_and_neighbours():
    cent = ((Decimal("0.0000"), Decimal("1.0000"), Decimal("0.0100")),)
    assert price_grid(None) == cent and price_grid([]) == cent and price_grid("") == cent
    deci = price_grid(None, "deci_cent")
    assert on_grid(Decimal("0.455"), deci) and not on_grid(Decimal("0.455"), cent)
    as_text = price_grid('[{"start": "0.0000", "end": "0.1000", "step": "0.0010"}]')
    assert as_text == ((Decimal("0.0000"), Decimal("0.1000"), Decimal("0.0010")),)
    assert price_grid(None, "tapered_deci_cent")[1] == (
        Decimal("0.1000"),
        Decimal("0.9000"),
        Decimal("0.0100"),
    )
    assert grid_neighbours(Decimal("0.455"), cent) == (Decimal("0.45"), Decimal("0.46"))
    assert grid_neighbours(Decimal("0.005"), cent) == (None, Decimal("0.01"))  # 0 is not tradable
    for bad in (
        [{"start": "0", "end": "1", "step": "0"}],
        [{"start": "0.5", "end": "0.1", "step": "0.01"}],
        [{"start": "0", "end": "1"}],
        [{"start": 0.0, "end": "1", "step": "0.01"}],
    ):
        with pytest.raises(ValueError, match="malformed price range"):
            price_grid(bad)


def test_the_backtester_and_the_order_translator_parse_through_this_module():
    from kalshi_extract.errors import OrderValidationError
    from kalshi_extract.orders.translate import parse_count, parse_price
    from kalshi_extract.orders.translate import price_grid as order_grid
    from kalshi_lake.backtest.money import dollars_to_micros, parse_price_ranges

    tapered = price_grid(None, "tapered_deci_cent")
    assert order_grid({"price_level_structure": "tapered_deci_cent"}) == list(tapered)
    assert parse_price_ranges('[{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]') == (
        (0, 1_000_000, 1000),
    )
    with pytest.raises(ValueError, match="price 'abc' is not a number"):
        dollars_to_micros("abc")
    with pytest.raises(OrderValidationError, match=r"price 'abc' is not a number\. Nothing was sent"):
        parse_price("abc")
    with pytest.raises(
        OrderValidationError, match="count must be a whole number or decimal string, not float"
    ):
        parse_count(1.5)
    with pytest.raises(OrderValidationError, match="market has a malformed price range"):
        order_grid({"price_ranges": [{"start": "0", "end": "1", "step": "-1"}]})
