"""The recorded production/demo responses load through the normal pull path into Parquet with every value exact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.ingest.shapes import flatten_candle
from kalshi_extract.ingest.streams import get_stream
from kalshi_extract.lake.schemas import STREAM_COLUMNS
from kalshi_extract.lake.store import Lake
from tests.shared_paths import REAL_DATA

REAL = REAL_DATA
DEMO, PROD = REAL / "fortuna_demo", REAL / "manta_prod"
CUTOFF = (
    b'{"market_settled_ts": "2020-01-01T00:00:00Z", "trades_created_ts": "2020-01-01T00:00:00Z", '
    b'"orders_updated_ts": "2020-01-01T00:00:00Z", "market_positions_last_updated_ts": "2020-01-01T00:00:00Z"}'
)

pytestmark = pytest.mark.skipif(not REAL.exists(), reason="recorded responses not available")


def raw(path: Path) -> bytes:
    return path.read_bytes()


def items(path: Path, key: str) -> list[dict]:
    return json.loads(path.read_bytes(), parse_float=Decimal)[key]


def expected_value(kind: str, value):
    """What the lake must hold for a JSON value of a column kind, computed without Arrow."""
    if value is None:
        return None
    if kind in ("usd", "fp", "num", "strike"):
        return Decimal(str(value))
    if kind == "ts":
        if isinstance(value, int):
            return pa.scalar(value * 1_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC")).as_py()
        return pc.cast(pa.array([value]), pa.timestamp("us", tz="UTC"))[0].as_py()
    if kind == "json":
        return value
    return value


def assert_exact(stream: str, source: list[dict], table: pa.Table, key: str) -> None:
    """Every field of every source item is in the lake with the same value (typed column or ``_extra``)."""
    cols = {c.name: c.kind for c in STREAM_COLUMNS[stream]}
    rows = {r[key]: r for r in table.to_pylist()}
    assert len(rows) == len(source), (stream, len(rows), len(source))
    for item in source:
        row = rows[item[key]]
        extra = json.loads(row["_extra"], parse_float=Decimal) if row["_extra"] else {}
        for field, value in item.items():
            if field in cols:
                got = row[field]
                if cols[field] == "json":
                    got = json.loads(got, parse_float=Decimal) if got is not None else None
                assert got == expected_value(cols[field], value), (stream, item[key], field, got, value)
            else:
                assert extra.get(field) == value, (stream, field, extra)
        stamped = {"snapshot_ts"} | ({"subaccount_number"} if get_stream(stream).per_subaccount else set())
        for field in cols:
            if field not in item and field not in stamped:  # set by the pull, not the API
                assert row[field] is None, (stream, field)
        assert set(extra) == set(item) - set(cols)


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))


def test_public_streams_exact(fake_api, fake_client, lake):
    fake_api.routes["/historical/cutoff"] = lambda q: CUTOFF
    fake_api.pages(
        "/markets/trades", [raw(PROD / "trades_window.json"), raw(DEMO / "trades__public_recorded.json")]
    )
    fake_api.routes["/historical/trades"] = lambda q: b'{"trades": [], "cursor": ""}'
    fake_api.pages(
        "/markets",
        [
            raw(DEMO / "markets__page1.json"),
            raw(DEMO / "markets__status_settled.json"),
            raw(DEMO / "markets__high_temp.json"),
        ],
    )
    fake_api.routes["/historical/markets"] = lambda q: b'{"markets": [], "cursor": ""}'
    fake_api.routes["/exchange/status"] = lambda q: raw(DEMO / "exchange__status.json")

    result = pull(fake_client, lake, ["trades", "markets", "exchange_status"], Selection())
    assert result.ok, [s.error for s in result.streams]

    trades = items(PROD / "trades_window.json", "trades") + items(
        DEMO / "trades__public_recorded.json", "trades"
    )
    assert_exact("trades", trades, lake.read("trades"), "trade_id")
    markets = (
        items(DEMO / "markets__page1.json", "markets")
        + items(DEMO / "markets__status_settled.json", "markets")
        + items(DEMO / "markets__high_temp.json", "markets")
    )
    assert_exact("markets", markets, lake.read("markets"), "ticker")
    status = lake.read("exchange_status").to_pylist()
    assert len(status) == 1 and status[0]["exchange_active"] is True and status[0]["trading_active"] is True
    # the fractional seconds of different lengths parse to exact microseconds
    t = lake.read("trades", filter=pc.field("trade_id") == trades[0]["trade_id"]).column("created_time")[0]
    assert t.as_py().isoformat() == "2026-08-30T13:59:59.922089+00:00"


def test_private_streams_exact(fake_api, fake_client, lake):
    fake_api.routes["/historical/cutoff"] = lambda q: CUTOFF
    fake_api.pages("/portfolio/fills", [raw(DEMO / "fills__after_taker.json")])
    fake_api.routes["/historical/fills"] = lambda q: b'{"fills": [], "cursor": ""}'
    fake_api.pages("/portfolio/orders", [raw(DEMO / "portfolio__orders_list.json")])
    fake_api.routes["/historical/orders"] = lambda q: b'{"orders": [], "cursor": ""}'
    fake_api.pages("/portfolio/positions", [raw(DEMO / "portfolio__positions.json")])
    fake_api.pages(
        "/portfolio/settlements", [raw(REAL / "kalshi_docs" / "docsample_settlements_response.json")]
    )

    result = pull(fake_client, lake, ["fills", "orders", "positions", "settlements"], Selection())
    assert result.ok, [s.error for s in result.streams]
    assert_exact("fills", items(DEMO / "fills__after_taker.json", "fills"), lake.read("fills"), "fill_id")
    orders = lake.read("orders")
    assert_exact("orders", items(DEMO / "portfolio__orders_list.json", "orders"), orders, "order_id")
    positions = lake.read("positions")
    assert_exact(
        "positions", items(DEMO / "portfolio__positions.json", "market_positions"), positions, "ticker"
    )
    settlements = lake.read("settlements")
    assert_exact(
        "settlements",
        items(REAL / "kalshi_docs" / "docsample_settlements_response.json", "settlements"),
        settlements,
        "ticker",
    )
    assert (
        settlements.column("revenue").type == pa.int64() and settlements.column("revenue")[0].as_py() == 1000
    )
    assert set(orders.column("_account").to_pylist()) == {"acct1"}
    fee = lake.read("fills").column("fee_cost")
    assert fee.type == pa.decimal128(18, 6) and Decimal("0.017500") in fee.to_pylist()


def test_orderbook_and_candles_exact(fake_api, fake_client, lake):
    book = json.loads(raw(DEMO / "orderbook__base.json"))
    ticker = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-LEP"
    fake_api.routes["/markets/orderbooks"] = lambda q: json.dumps(
        {"orderbooks": [{"ticker": ticker, **book}]}
    ).encode()
    result = pull(fake_client, lake, ["orderbook_snapshots"], Selection(tickers=[ticker]))
    assert result.ok, result.streams[0].error
    rows = lake.read("orderbook_snapshots").to_pylist()
    for side in ("yes", "no"):
        levels = book["orderbook_fp"][f"{side}_dollars"]
        got = sorted((r for r in rows if r["side"] == side), key=lambda r: r["level"])
        assert len(got) == max(len(levels), 1)
        want = sorted(((Decimal(p), Decimal(c)) for p, c in levels), reverse=True)
        assert [(r["price_dollars"], r["count_fp"]) for r in got] == want or (
            not levels and got[0]["price_dollars"] is None
        )

    candles_body = raw(PROD / "candlesticks.json")
    cticker = "KXATPSETWINNER-26AUG24DRORIN-1-DRO"
    fake_api.routes["/historical/cutoff"] = lambda q: CUTOFF
    market = {
        "ticker": cticker,
        "event_ticker": "KXATPSETWINNER-26AUG24DRORIN-1",
        "status": "finalized",
        "open_time": "2026-08-24T00:00:00Z",
        "close_time": "2026-08-28T00:00:00Z",
    }
    fake_api.routes["/markets"] = lambda q: json.dumps({"markets": [market], "cursor": ""}).encode()
    fake_api.routes["/historical/markets"] = lambda q: b'{"markets": [], "cursor": ""}'
    fake_api.routes[f"/series/KXATPSETWINNER/markets/{cticker}/candlesticks"] = lambda q: candles_body
    result = pull(fake_client, lake, ["candlesticks"], Selection(tickers=[cticker], candle_interval=60))
    assert result.ok, result.streams[0].error
    source = json.loads(candles_body, parse_float=Decimal)["candlesticks"]
    flat = [flatten_candle(c, cticker, "KXATPSETWINNER", 60) for c in source]
    table = lake.read("candlesticks")
    for r in flat:  # key the comparison by end_period_ts
        r["end_period_ts"] = expected_value("ts", r["end_period_ts"])
    assert_exact("candlesticks", flat, table, "end_period_ts")
    no_trade = [r for r in table.to_pylist() if r["price_close_dollars"] is None]
    assert no_trade and all(r["yes_bid_close_dollars"] is not None for r in no_trade)
