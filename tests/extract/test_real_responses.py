"""The client reads genuine recorded Kalshi responses (served verbatim by the loopback server)."""

from __future__ import annotations

import pathlib

import orjson
import pytest

from kalshi_extract import KalshiClient
from tests.shared_paths import REAL_DATA

from .conftest import Reply, local_settings

REAL = REAL_DATA
if not REAL.exists():
    REAL = pathlib.Path(__file__).resolve().parents[3] / "shared" / "real-data"
pytestmark = pytest.mark.skipif(not REAL.exists(), reason="recorded responses not available")


def raw(name: str) -> bytes:
    return (REAL / name).read_bytes()


@pytest.mark.parametrize(
    "file,path,data_key",
    [
        ("manta_prod/trades_window.json", "/markets/trades", "trades"),
        ("fortuna_demo/trades__public_recorded.json", "/markets/trades", "trades"),
        ("fortuna_demo/markets__page1.json", "/markets", "markets"),
        ("fortuna_demo/markets__status_settled.json", "/markets", "markets"),
        ("fortuna_demo/markets__high_temp.json", "/markets", "markets"),
        ("fortuna_demo/fills__after_taker.json", "/portfolio/fills", "fills"),
        ("fortuna_demo/portfolio__orders_list.json", "/portfolio/orders", "orders"),
        ("fortuna_demo/portfolio__positions.json", "/portfolio/positions", "market_positions"),
        ("fortuna_demo/settlements__page.json", "/portfolio/settlements", "settlements"),
    ],
)
def test_recorded_list_pages(server, rsa_key_pem, file, path, data_key):
    body = raw(file)
    recorded = orjson.loads(body)
    end = Reply(200, {data_key: [], "cursor": ""})
    server.route("GET", path, Reply(200, body), end)
    with KalshiClient(local_settings(server, rsa_key_pem[0])) as c:
        pages = list(c.paginate(path, {"limit": 1000}, data_key=data_key))
    first = pages[0]
    assert first.body == body  # the bytes as received, uncopied and unchanged
    assert first.items == recorded[data_key]
    assert first.cursor == (recorded.get("cursor") or None)
    assert len(pages) == (2 if recorded.get("cursor") else 1)
    if len(pages) == 2:
        assert server.calls("GET", path)[1].query["cursor"] == [recorded["cursor"]]


def test_recorded_single_objects(server):
    server.route("GET", "/exchange/status", Reply(200, raw("fortuna_demo/exchange__status.json")))
    market = orjson.loads(raw("fortuna_demo/markets__single.json"))
    ticker = market["market"]["ticker"]
    server.route("GET", f"/markets/{ticker}", Reply(200, raw("fortuna_demo/markets__single.json")))
    server.route("GET", f"/markets/{ticker}/orderbook", Reply(200, raw("fortuna_demo/orderbook__base.json")))
    candles = orjson.loads(raw("manta_prod/candlesticks.json"))
    path = f"/series/KXATPSETWINNER/markets/{candles['ticker']}/candlesticks"
    server.route("GET", path, Reply(200, raw("manta_prod/candlesticks.json")))
    with KalshiClient(local_settings(server)) as c:
        assert c.get_exchange_status() == {"exchange_active": True, "trading_active": True}
        assert c.get_market(ticker) == market["market"]
        assert "yes_dollars" in c.get_orderbook(ticker)["orderbook_fp"]
        got = c.get_candlesticks("KXATPSETWINNER", candles["ticker"], 0, 2_000_000_000, 60)
    assert got == candles["candlesticks"] and len(got) == 19
