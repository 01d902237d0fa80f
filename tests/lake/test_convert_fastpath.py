"""The converter's exact-key-set fast path gives the very batch the general (per-field ``dict.get``) path gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kalshi_extract.lake.convert import Converter
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def conv(stream: str) -> Converter:
    return Converter(stream, STREAM_COLUMNS[stream], arrow_schema(stream), run_id="r", loaded_at=NOW)


def full_trade(i: int, **over) -> dict:
    t = {
        "trade_id": f"t{i}",
        "ticker": "X-1",
        "count_fp": "136.00",
        "yes_price_dollars": "0.3600",
        "no_price_dollars": "0.6400",
        "taker_outcome_side": "no",
        "taker_book_side": "ask",
        "created_time": "2022-11-22T20:44:01.123456Z",
        "is_block_trade": False,
        "taker_side": "no",
    }
    t.update(over)
    return t


def both(items: list[dict]) -> tuple:
    fast, slow = conv("trades"), conv("trades")
    slow._getter = None  # force the general path
    return fast, fast.convert(items), slow, slow.convert(items)


PAGES = {
    "plain": [full_trade(i) for i in range(5)],
    "nulls and odd values": [
        full_trade(0, is_block_trade=None, yes_price_dollars=None),
        full_trade(1, count_fp="", created_time="2022-11-22T20:44:01.123456789Z"),
        full_trade(2, no_price_dollars="0.1234567", is_block_trade=True),  # unfit: null + _extra
        full_trade(3, yes_price_dollars=0.5, taker_side=None),
    ],
    "a missing field": [full_trade(0), {k: v for k, v in full_trade(1).items() if k != "taker_side"}],
    "an unknown field": [full_trade(0), {**full_trade(1), "new_field": [1, 2]}],
    "unknown replaces known (same size)": [
        full_trade(0),
        {**{k: v for k, v in full_trade(1).items() if k != "taker_side"}, "yes_price": 36},
    ],
}


@pytest.mark.parametrize("name", list(PAGES))
def test_fast_path_equals_general_path(name):
    items = PAGES[name]
    fast, got, slow, want = both(items)
    assert got.equals(want), name
    assert fast.unknown_fields == slow.unknown_fields
    assert fast.unfit_fields == slow.unfit_fields


def test_fast_path_is_taken_only_for_exact_key_sets():
    c = conv("trades")
    assert c._exact_columns(PAGES["plain"]) is not None
    for name in ("a missing field", "an unknown field", "unknown replaces known (same size)"):
        assert c._exact_columns(PAGES[name]) is None, name
    batch = c.convert(PAGES["an unknown field"])
    assert batch.column("_extra").to_pylist() == [None, '{"new_field":[1,2]}']
    assert c.unknown_fields == {"new_field"}


def _addresses(arr) -> list:
    return [buf.address if buf is not None else None for buf in arr.buffers()]


def test_meta_columns_are_built_once_per_page_size_and_stay_right():
    c = Converter(
        "fills", STREAM_COLUMNS["fills"], arrow_schema("fills"), run_id="r1", loaded_at=NOW, account="acct"
    )
    tc = conv("trades")
    a = tc.convert([full_trade(i) for i in range(3)])
    b = tc.convert([full_trade(i) for i in range(3, 6)])
    d = tc.convert([full_trade(i) for i in range(2)] + [{**full_trade(9), "new_field": 1}])
    e = tc.convert([full_trade(i) for i in range(4)])
    for name in ("_loaded_at", "_run_id", "_extra"):  # same size: the very same arrays, no new buffers
        assert _addresses(a.column(name)) == _addresses(b.column(name))
    assert e.num_rows == 4 and e.column("_run_id").to_pylist() == ["r"] * 4
    assert e.column("_loaded_at").to_pylist() == [NOW] * 4 and e.column("_extra").null_count == 4
    assert d.column("_extra").to_pylist()[2] == '{"new_field":1}' and d.column("_extra").null_count == 2
    f = c.convert([])
    assert f.num_rows == 0 and f.column("_account").to_pylist() == []
    g = c.convert([{"fill_id": "f1"}])
    assert g.column("_account").to_pylist() == ["acct"] and g.column("_run_id").to_pylist() == ["r1"]
