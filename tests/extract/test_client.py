"""Typed methods and the endpoint registry, against the loopback server."""

from __future__ import annotations

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.endpoints import ENDPOINTS, route

from .conftest import Reply, local_settings


@pytest.fixture
def client(server, rsa_key_pem):
    with KalshiClient(local_settings(server, rsa_key_pem[0])) as c:
        yield c


def q(server, path):
    return server.calls("GET", path)[-1].query


def test_markets_default_mve_exclude_and_override(server, client):
    server.route("GET", "/markets", Reply(200, {"markets": [{"ticker": "A"}], "cursor": ""}))
    assert [m["ticker"] for m in client.get_markets(status="open")] == ["A"]
    assert q(server, "/markets") == {"mve_filter": ["exclude"], "limit": ["1000"], "status": ["open"]}
    list(client.get_markets(mve_filter="only", limit=5))
    assert q(server, "/markets") == {"mve_filter": ["only"], "limit": ["5"]}
    list(client.get_markets(mve_filter=None))
    assert "mve_filter" not in q(server, "/markets")


def test_single_objects_unwrapped(server, client):
    server.route("GET", "/markets/KX-1", Reply(200, {"market": {"ticker": "KX-1"}}))
    server.route("GET", "/events/EV", Reply(200, {"event": {"event_ticker": "EV"}, "markets": []}))
    server.route("GET", "/series/SER", Reply(200, {"series": {"ticker": "SER"}}))
    server.route("GET", "/historical/markets/OLD", Reply(200, {"market": {"ticker": "OLD"}}))
    server.route("GET", "/portfolio/orders/o-1", Reply(200, {"order": {"order_id": "o-1"}}))
    server.route("GET", "/portfolio/balance", Reply(200, {"balance": 5, "portfolio_value": 0}))
    server.route("GET", "/historical/cutoff", Reply(200, {"trades_created_ts": "2026-08-01T00:00:00Z"}))
    server.route("GET", "/exchange/schedule", Reply(200, {"schedule": {"standard_hours": []}}))
    assert client.get_market("KX-1") == {"ticker": "KX-1"}
    assert client.get_event("EV") == {"event_ticker": "EV"}
    assert client.get_series("SER") == {"ticker": "SER"}
    assert client.get_historical_market("OLD") == {"ticker": "OLD"}
    assert client.get_order("o-1") == {"order_id": "o-1"}
    assert client.get_balance() == {"balance": 5, "portfolio_value": 0}
    assert client.get_historical_cutoff()["trades_created_ts"].startswith("2026")
    assert client.get_exchange_schedule() == {"standard_hours": []}
    with pytest.raises(ValueError):
        client.get_market("")


def test_lists_and_candles(server, client):
    server.route("GET", "/series", Reply(200, {"series": [{"ticker": "S1"}, {"ticker": "S2"}]}))
    server.route(
        "GET", "/events", Reply(200, {"events": [{"event_ticker": "E"}], "milestones": [], "cursor": ""})
    )
    server.route(
        "GET",
        "/series/S1/markets/M1/candlesticks",
        Reply(200, {"ticker": "M1", "candlesticks": [{"end_period_ts": 1}]}),
    )
    server.route(
        "GET",
        "/historical/markets/M1/candlesticks",
        Reply(200, {"ticker": "M1", "candlesticks": [{"end_period_ts": 2}]}),
    )
    server.route(
        "GET", "/markets/candlesticks", Reply(200, {"markets": [{"market_ticker": "M1", "candlesticks": []}]})
    )
    assert [s["ticker"] for s in client.get_series_list(category="Economics")] == ["S1", "S2"]
    assert q(server, "/series") == {"category": ["Economics"]}
    assert list(client.get_events(status="open")) == [{"event_ticker": "E"}]
    assert q(server, "/events")["limit"] == ["200"]
    assert client.get_candlesticks("S1", "M1", 10, 20, 60) == [{"end_period_ts": 1}]
    assert q(server, "/series/S1/markets/M1/candlesticks") == {
        "start_ts": ["10"],
        "end_ts": ["20"],
        "period_interval": ["60"],
    }
    assert client.get_historical_candlesticks("M1", 10, 20, 1440) == [{"end_period_ts": 2}]
    assert client.get_candlesticks_batch(["M1", "M2"], 10, 20, 1)[0]["market_ticker"] == "M1"
    assert q(server, "/markets/candlesticks")["market_tickers"] == ["M1,M2"]


@pytest.mark.parametrize(
    "method,path,data_key",
    [
        ("get_trades", "/markets/trades", "trades"),
        ("get_fills", "/portfolio/fills", "fills"),
        ("get_settlements", "/portfolio/settlements", "settlements"),
        ("get_orders", "/portfolio/orders", "orders"),
        ("get_positions", "/portfolio/positions", "market_positions"),
        ("get_event_positions", "/portfolio/positions", "event_positions"),
        ("get_historical_markets", "/historical/markets", "markets"),
        ("get_historical_trades", "/historical/trades", "trades"),
        ("get_historical_fills", "/historical/fills", "fills"),
        ("get_historical_orders", "/historical/orders", "orders"),
        ("get_historical_positions", "/historical/positions", "market_positions"),
    ],
)
def test_paginated_typed_methods(server, client, method, path, data_key):
    pages = iter([{data_key: [{"n": 1}], "cursor": "x"}, {data_key: [{"n": 2}], "cursor": ""}])
    server.route("GET", path, lambda seen: Reply(200, next(pages)))
    assert list(getattr(client, method)(ticker="T")) == [{"n": 1}, {"n": 2}]
    first, second = server.calls("GET", path)
    assert first.query == {"ticker": ["T"], "limit": ["1000"]} | (
        {"mve_filter": ["exclude"]} if path == "/historical/markets" else {}
    )
    assert second.query["cursor"] == ["x"]
    private = path.startswith("/portfolio") or path in (
        "/historical/fills",
        "/historical/orders",
        "/historical/positions",
    )
    assert ("KALSHI-ACCESS-SIGNATURE" in first.headers) == private


def test_registry_is_consistent():
    for ep in ENDPOINTS.values():
        if ep.historical:
            assert ep.historical in ENDPOINTS, ep.name
        if ep.paginated:
            assert ep.data_key, ep.name
        concrete = (
            ep.path.replace("{series_ticker}", "S")
            .replace("{ticker}", "T")
            .replace("{event_ticker}", "E")
            .replace("{order_id}", "O")
        )
        r = route(ep.method, concrete)
        assert r.endpoint is not None and r.endpoint.path == ep.path, (ep.name, r.endpoint)
        assert r.auth == ep.auth
    assert route("GET", "/portfolio/something_new").auth == "required"
    assert route("GET", "/markets/orderbooks").endpoint.name == "orderbooks"
    assert route("GET", "/markets/trades").endpoint.name == "trades"
