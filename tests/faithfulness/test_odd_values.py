"""Odd values a genuine response can carry never fail a pull (real path: loopback HTTP → KalshiClient.paginate →
pull → Parquet → read back).

- ``""`` in a typed column is null (Kalshi's Go backend renders an unset optional as ``""``);
- a value that does not fit its typed column (a strike with more decimals than the column, a money string with
  7 decimals, integer cents with a fraction, a time that is not a time) lands as a null cell; the row is kept,
  the original value is in the row's ``_extra`` under its field name, and the pull reports the field once
  (``StreamResult.unfit_fields``, the ``_runs`` row, one warning).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest

from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.run_log import read_runs
from tests.faithfulness import variants as V
from tests.faithfulness.oracle import parse_time

pytestmark = pytest.mark.skipif(not V.REAL.exists(), reason="recorded responses not available")

MARKETS = V.recorded(V.DEMO / "markets__page1.json", "markets") + V.recorded(
    V.DEMO / "markets__status_settled.json", "markets"
)
TRADES = V.recorded(V.PROD / "trades_window.json", "trades")
ORDERS = V.recorded(V.DEMO / "portfolio__orders_list.json", "orders")
SETTLEMENT = V.recorded(V.DOCS / "docsample_settlements_response.json", "settlements")[0]


def land(api, client, lake, stream: str):
    res = pull(client, lake, [stream], Selection()).streams[0]
    assert res.ok, res.error
    return res, lake.read(stream).to_pylist()


def extra(row: dict) -> dict:
    return json.loads(row["_extra"], parse_float=Decimal) if row["_extra"] else {}


def test_empty_strings_are_null_in_time_and_money_columns(api, client, lake):
    blank = {"expiration_time": "", "settlement_value_dollars": "", "settlement_ts": "", "floor_strike": ""}
    markets = [{**m, **blank} if i % 2 == 0 else m for i, m in enumerate(MARKETS)]  # mixed within one page
    api.pages("/markets", [{"markets": markets[:3]}, {"markets": markets[3:]}])
    api.pages("/historical/markets", [{"markets": []}])
    res, rows = land(api, client, lake, "markets")
    assert res.rows == len(markets) and res.unfit_fields == []
    by_ticker = {r["ticker"]: r for r in rows}
    for i, m in enumerate(markets):
        row = by_ticker[m["ticker"]]
        if i % 2 == 0:
            assert all(row[k] is None for k in blank), row
            assert not set(blank) & set(extra(row))  # an unset optional, not an odd value
        else:  # the genuine values next to them are untouched
            assert row["expiration_time"] == parse_time(m["expiration_time"])
            assert row["last_price_dollars"] == Decimal(m["last_price_dollars"])


def test_empty_strings_in_orders_times_counts_and_cents(api, client, lake):
    orders = [{**o, "expiration_time": "", "taker_fees_dollars": "", "subaccount_number": ""} for o in ORDERS]
    api.pages("/portfolio/orders", [{"orders": orders}])
    res, rows = land(api, client, lake, "orders")
    assert res.rows == len(orders) and res.unfit_fields == [] and res.unknown_fields == []
    for row in rows:
        assert row["expiration_time"] is None and row["taker_fees_dollars"] is None
        assert row["subaccount_number"] is None and row["created_time"] is not None


def test_values_that_do_not_fit_keep_the_row_and_the_original(api, client, lake, caplog):
    odd = {
        MARKETS[0]["ticker"]: {"floor_strike": Decimal("104999.1234567890123")},  # 13 decimals
        MARKETS[1]["ticker"]: {"last_price_dollars": "0.1234567"},  # 7 decimals of a dollar
        MARKETS[2]["ticker"]: {"close_time": "soon", "volume_fp": True},
    }
    markets = [{**m, **odd.get(m["ticker"], {})} for m in MARKETS]
    api.pages("/markets", [{"markets": markets[:2]}, {"markets": markets[2:]}])
    api.pages("/historical/markets", [{"markets": []}])
    with caplog.at_level(logging.WARNING, logger="kalshi_extract"):
        res, rows = land(api, client, lake, "markets")
    assert res.rows == len(markets)  # no row lost
    assert res.unfit_fields == ["close_time", "floor_strike", "last_price_dollars", "volume_fp"]
    by_ticker = {r["ticker"]: r for r in rows}
    for ticker, cells in odd.items():
        row = by_ticker[ticker]
        for name, value in cells.items():
            assert row[name] is None
            kept = extra(row)[name]
            assert kept == value or Decimal(str(kept)) == value  # exact text (long decimals as a JSON string)
    # the rest of an odd row and every other row is untouched
    m1 = next(m for m in MARKETS if m["ticker"] == MARKETS[1]["ticker"])
    assert by_ticker[m1["ticker"]]["volume_fp"] == Decimal(m1["volume_fp"])
    for m in MARKETS[3:]:
        assert by_ticker[m["ticker"]]["last_price_dollars"] == Decimal(m["last_price_dollars"])
        assert by_ticker[m["ticker"]]["_extra"] is None or "last_price_dollars" not in extra(
            by_ticker[m["ticker"]]
        )
    # reported once per run: one warning naming the fields, and the run log
    warnings = [r.getMessage() for r in caplog.records if "do not fit" in r.getMessage()]
    assert len(warnings) == 1 and "floor_strike" in warnings[0] and "last_price_dollars" in warnings[0]
    run = [r for r in read_runs(lake) if r["stream"] == "markets"][-1]
    assert json.loads(run["unfit_fields"]) == res.unfit_fields


def test_an_odd_trade_does_not_stop_the_tape(api, client, lake):
    trades = [dict(t) for t in TRADES]
    trades[5] = {**trades[5], "yes_price_dollars": "0.56001234"}
    trades[17] = {**trades[17], "count_fp": "1.005", "created_time": ""}
    api.pages("/markets/trades", [{"trades": trades[:10]}, {"trades": trades[10:]}])
    res, rows = land(api, client, lake, "trades")
    assert res.rows == len(trades) and res.unfit_fields == ["count_fp", "yes_price_dollars"]
    by_id = {r["trade_id"]: r for r in rows}
    odd5, odd17 = by_id[trades[5]["trade_id"]], by_id[trades[17]["trade_id"]]
    assert odd5["yes_price_dollars"] is None and extra(odd5) == {"yes_price_dollars": "0.56001234"}
    assert odd5["count_fp"] == Decimal(trades[5]["count_fp"])
    assert odd17["count_fp"] is None and extra(odd17) == {"count_fp": "1.005"}
    assert odd17["created_time"] is None  # "" = unset; the row lands in its _loaded_at partition
    assert by_id[trades[6]["trade_id"]]["yes_price_dollars"] == Decimal(trades[6]["yes_price_dollars"])


def test_integer_cents_with_a_fraction(api, client, lake):
    settlements = [
        {**SETTLEMENT, "ticker": "KXA-1", "revenue": Decimal("1000.5")},
        {**SETTLEMENT, "ticker": "KXA-2", "value": ""},
        {**SETTLEMENT, "ticker": "KXA-3", "revenue": 415},
    ]
    api.pages("/portfolio/settlements", [{"settlements": settlements}])
    res, rows = land(api, client, lake, "settlements")
    assert res.rows == 3 and res.unfit_fields == ["revenue"]
    by_ticker = {r["ticker"]: r for r in rows}
    assert by_ticker["KXA-1"]["revenue"] is None and extra(by_ticker["KXA-1"]) == {
        "revenue": Decimal("1000.5")
    }
    assert by_ticker["KXA-2"]["value"] is None and by_ticker["KXA-2"]["_extra"] is None
    assert by_ticker["KXA-3"]["revenue"] == 415


def test_strikes_with_up_to_12_decimals_land_exactly_next_to_older_narrower_files(api, client, lake):
    import pyarrow as pa

    from kalshi_lake import warehouse

    old = {**MARKETS[0], "ticker": "KXOLD-1", "floor_strike": Decimal("104999.99")}
    # a file an earlier version wrote: strikes as decimal128(24, 8)
    lake.append(
        "markets",
        pa.table(
            {
                "ticker": ["KXOLD-1"],
                "floor_strike": pa.array([old["floor_strike"]], pa.decimal128(24, 8)),
                "_loaded_at": pa.array([parse_time("2026-06-01T00:00:00Z")], pa.timestamp("us", tz="UTC")),
            }
        ),
        "older-run",
    )
    fine = {
        **MARKETS[1],
        "floor_strike": Decimal("0.000000000125"),
        "cap_strike": Decimal("12345678901234.5"),
    }
    api.pages("/markets", [{"markets": [fine]}])
    api.pages("/historical/markets", [{"markets": []}])
    res, rows = land(api, client, lake, "markets")
    assert res.unfit_fields == []
    by_ticker = {r["ticker"]: r for r in rows}
    assert by_ticker[fine["ticker"]]["floor_strike"] == Decimal("0.000000000125")
    assert by_ticker[fine["ticker"]]["cap_strike"] == Decimal("12345678901234.5")
    assert by_ticker["KXOLD-1"]["floor_strike"] == Decimal("104999.99")
    con = warehouse.build_in_memory(lake.root)
    try:
        got = dict(con.execute("select ticker, floor_strike from stg_market_history").fetchall())
    finally:
        con.close()
    assert got["KXOLD-1"] == Decimal("104999.99") and got[fine["ticker"]] == Decimal("0.000000000125")
