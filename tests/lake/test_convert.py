"""Column-wise conversion: exact decimals and times, schema drift (unknown, missing, cents → dollars)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from kalshi_extract.lake.convert import ConversionError, Converter, column, loads_exact
from kalshi_extract.lake.schemas import STREAM_COLUMNS, Col, arrow_schema

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def conv(stream: str, account: str | None = None) -> Converter:
    return Converter(
        stream, STREAM_COLUMNS[stream], arrow_schema(stream), run_id="r", loaded_at=NOW, account=account
    )


TRADE = {
    "trade_id": "t1",
    "ticker": "X-1",
    "count_fp": "136.00",
    "yes_price_dollars": "0.3600",
    "no_price_dollars": "0.6400",
    "taker_outcome_side": "no",
    "taker_book_side": "ask",
    "created_time": "2022-11-22T20:44:01Z",
    "is_block_trade": False,
}


def test_types_and_exact_values():
    items = [
        TRADE,
        {
            **TRADE,
            "trade_id": "t2",
            "yes_price_dollars": "0.123456",
            "count_fp": "0.01",
            "created_time": "2026-08-30T13:59:59.53451Z",
        },
        {**TRADE, "trade_id": "t3", "created_time": "2026-08-30T13:59:59.534509Z"},
    ]
    c = conv("trades")
    b = c.convert(items)
    assert b.schema == arrow_schema("trades")
    rows = b.to_pylist()
    assert rows[0]["yes_price_dollars"] == Decimal("0.360000") and rows[0]["count_fp"] == Decimal("136.00")
    assert rows[1]["yes_price_dollars"] == Decimal("0.123456") and rows[1]["count_fp"] == Decimal("0.01")
    # .53451 s is later than .534509 s: the lengths differ, the parse is exact
    assert rows[1]["created_time"].microsecond == 534510 and rows[2]["created_time"].microsecond == 534509
    assert rows[1]["created_time"] > rows[2]["created_time"]
    assert rows[0]["_run_id"] == "r" and rows[0]["_loaded_at"] == NOW and rows[0]["_extra"] is None
    assert b.schema.field("yes_price_dollars").type == pa.decimal128(18, 6)
    assert b.schema.field("count_fp").type == pa.decimal128(18, 2)
    assert c.unknown_fields == set()


def test_too_many_decimals_is_never_rounded_but_kept_in_extra():
    # column() alone names the value; the converter keeps the row, nulls the cell, keeps the original text
    with pytest.raises(ConversionError, match=r"trades\.yes_price_dollars.*0\.1234567"):
        column("trades", Col("yes_price_dollars", "usd"), ["0.5600", "0.1234567"])
    c = conv("trades")
    rows = c.convert(
        [{**TRADE, "yes_price_dollars": "0.1234567"}, {**TRADE, "count_fp": "1.005"}]
    ).to_pylist()
    assert rows[0]["yes_price_dollars"] is None and rows[1]["count_fp"] is None
    assert json.loads(rows[0]["_extra"]) == {"yes_price_dollars": "0.1234567"}
    assert json.loads(rows[1]["_extra"]) == {"count_fp": "1.005"}
    assert rows[0]["count_fp"] == Decimal(TRADE["count_fp"]) and rows[1]["yes_price_dollars"] is not None
    assert c.unfit_fields == {"yes_price_dollars": "0.1234567", "count_fp": "1.005"}


def test_decimal_never_through_float():
    # a value whose float is not exact still lands exactly
    b = conv("trades").convert([{**TRADE, "yes_price_dollars": "0.100001", "count_fp": "99999999999.99"}])
    assert b.column("yes_price_dollars")[0].as_py() == Decimal("0.100001")
    assert b.column("count_fp")[0].as_py() == Decimal("99999999999.99")
    # JSON numbers (fee_multiplier) keep their text when parsed with loads_exact
    series = loads_exact(
        b'{"series": [{"ticker": "S", "fee_multiplier": 0.1234567890123456789, "fee_type": "flat"}]}'
    )
    row = conv("series").convert(series["series"]).to_pylist()[0]  # more decimals than (18,6): never rounded
    assert row["fee_multiplier"] is None
    kept = json.loads(row["_extra"], parse_float=Decimal)["fee_multiplier"]  # its exact text (a JSON string)
    assert Decimal(str(kept)) == Decimal("0.1234567890123456789")
    series = loads_exact(b'{"series": [{"ticker": "S", "fee_multiplier": 0.35, "fee_type": "flat"}]}')
    assert conv("series").convert(series["series"]).column("fee_multiplier")[0].as_py() == Decimal("0.350000")


def test_unknown_field_is_kept_in_extra_and_reported():
    c = conv("trades")
    b = c.convert([{**TRADE, "new_field": {"a": [1, 2]}, "another": "x"}, TRADE])
    rows = b.to_pylist()
    assert json.loads(rows[0]["_extra"]) == {"new_field": {"a": [1, 2]}, "another": "x"}
    assert rows[1]["_extra"] is None
    assert c.unknown_fields == {"new_field", "another"}


def test_missing_optional_field_is_null():
    item = {k: v for k, v in TRADE.items() if k not in ("is_block_trade", "no_price_dollars")}
    row = conv("trades").convert([item]).to_pylist()[0]
    assert row["is_block_trade"] is None and row["no_price_dollars"] is None
    assert row["yes_price_dollars"] == Decimal("0.360000")


def test_legacy_integer_cents_fill_the_dollars_column():
    legacy = {
        "trade_id": "t9",
        "ticker": "X-1",
        "count": 136,
        "yes_price": 36,
        "no_price": 64,
        "taker_side": "no",
        "created_time": "2022-11-22T20:44:01Z",
    }
    c = conv("trades")
    row = c.convert([legacy, TRADE]).to_pylist()[0]
    assert row["yes_price_dollars"] == Decimal("0.360000") and row["no_price_dollars"] == Decimal("0.640000")
    assert row["count_fp"] == Decimal("136.00")
    assert json.loads(row["_extra"]) == {"count": 136, "yes_price": 36, "no_price": 64}  # originals kept
    assert {"count", "yes_price", "no_price"} <= c.unknown_fields


def test_cents_column_changed_to_dollars_string():
    s = {
        "ticker": "M",
        "event_ticker": "E",
        "market_result": "yes",
        "yes_count_fp": "10.00",
        "yes_total_cost_dollars": "5.6000",
        "no_count_fp": "0.00",
        "no_total_cost_dollars": "0.0000",
        "revenue_dollars": "10.00",
        "value_dollars": "1.0000",
        "settled_time": "2024-01-03T00:30:00Z",
        "fee_cost": "0.3400",
    }
    row = conv("settlements", "a").convert([s]).to_pylist()[0]
    assert row["revenue"] == 1000 and row["value"] == 100
    assert json.loads(row["_extra"]) == {"revenue_dollars": "10.00", "value_dollars": "1.0000"}
    row = conv("settlements", "a").convert([{**s, "revenue_dollars": "10.005"}]).to_pylist()[0]
    assert row["revenue"] is None  # not whole cents: null, the dollars string is kept in _extra
    assert json.loads(row["_extra"])["revenue_dollars"] == "10.005"


def test_unix_seconds_and_mixed_types():
    fill = {
        "fill_id": "f",
        "ts": 1781159370,
        "created_time": None,
        "subaccount_number": "0",
        "is_taker": "true",
        "fee_cost": 0,
        "count_fp": 1,
    }
    row = conv("fills", "a").convert([fill]).to_pylist()[0]
    assert row["ts"] == datetime(2026, 6, 11, 6, 29, 30, tzinfo=UTC)
    assert row["subaccount_number"] == 0 and row["is_taker"] is True
    assert row["fee_cost"] == Decimal("0") and row["count_fp"] == Decimal("1.00")
    assert row["_account"] == "a"


def test_bad_time_is_a_clear_error_from_column_and_kept_by_the_converter():
    with pytest.raises(ConversionError, match="created_time"):
        column("trades", Col("created_time", "ts"), ["yesterday"])
    c = conv("trades")
    row = c.convert([{**TRADE, "created_time": "yesterday"}]).to_pylist()[0]
    assert row["created_time"] is None and json.loads(row["_extra"]) == {"created_time": "yesterday"}
    assert c.unfit_fields == {"created_time": "yesterday"}
