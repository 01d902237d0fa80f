"""Determinism, lifecycle and the control API of the local exchange."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
import requests

from kalshi_sim import LocalExchange
from kalshi_sim.exchange import Exchange
from tests.sim.helpers import SimClient, order

PUBLIC = [
    ("/series", {"include_volume": "true"}),
    ("/events", {"with_nested_markets": "true", "limit": 50}),
    ("/markets", {"limit": 1000}),
    ("/markets/trades", {"limit": 1000}),
    ("/historical/markets", {}),
    ("/historical/trades", {"limit": 1000}),
    ("/historical/cutoff", {}),
    ("/exchange/schedule", {}),
]


def _snapshot(ex: LocalExchange) -> list[bytes]:
    c = SimClient(ex.base_url)
    out = [c.get(p, q).content for p, q in PUBLIC]
    markets = c.get_json("/markets", {"status": "open", "limit": 5})["markets"]
    for m in markets:
        out.append(c.get(f"/markets/{m['ticker']}/orderbook").content)
        series = m["event_ticker"].split("-")[0]
        out.append(
            c.get(
                f"/series/{series}/markets/{m['ticker']}/candlesticks",
                {"start_ts": 0, "end_ts": 4_000_000_000, "period_interval": 60},
            ).content
        )
    return out


def _trade_some(ex: LocalExchange) -> list[bytes]:
    acct = ex.create_account(100_000)
    c = SimClient(ex.base_url, acct)
    m = c.get_json("/markets", {"status": "open", "series_ticker": "KXBTC", "limit": 1})["markets"][0]
    c.post(
        "/portfolio/events/orders",
        order(m["ticker"], "bid", "2.00", m["yes_ask_dollars"], "immediate_or_cancel"),
    )
    c.post("/portfolio/events/orders", order(m["ticker"], "bid", "2.00", m["yes_bid_dollars"]))
    ex.advance(7200)
    return [
        c.get(p).content
        for p in ("/portfolio/fills", "/portfolio/orders", "/portfolio/positions", "/portfolio/balance")
    ]


def test_same_seed_gives_byte_identical_responses():
    with LocalExchange(seed=5, size="tiny") as a, LocalExchange(seed=5, size="tiny") as b:
        assert _snapshot(a) == _snapshot(b)
        a.advance(5400)
        b.advance(5400)
        assert _snapshot(a) == _snapshot(b)
        assert _trade_some(a) == _trade_some(b)
        assert _snapshot(a) == _snapshot(b)


def test_other_seed_gives_another_world():
    with LocalExchange(seed=5, size="tiny") as a, LocalExchange(seed=6, size="tiny") as b:
        assert _snapshot(a)[3] != _snapshot(b)[3]


def test_sizes():
    assert 2_000 <= len(Exchange(seed=1, size="small").tape) <= 4_500
    assert 4_000 <= len(Exchange(seed=1, size=5_000).tape) <= 6_000
    with pytest.raises(ValueError):
        Exchange(seed=1, size="huge")


def _status(c, ticker):
    r = c.get(f"/markets/{ticker}")
    if r.status_code == 404:
        return "historical:" + c.get_json(f"/historical/markets/{ticker}")["market"]["status"]
    return r.json()["market"]["status"]


def test_lifecycle_settlement_and_cutoff(fresh_exchange):
    ex = fresh_exchange
    c = SimClient(ex.base_url)
    unopened = c.get_json("/markets", {"status": "unopened", "series_ticker": "KXPAYROLLS", "limit": 5})[
        "markets"
    ]
    unopened += c.get_json("/markets", {"status": "unopened", "limit": 5})["markets"]
    m = unopened[0]
    assert m["status"] == "initialized" and m["result"] == ""
    cutoff0 = c.get_json("/historical/cutoff")["trades_created_ts"]
    seen = [m["status"]]
    for _ in range(40):
        ex.advance(6 * 3600)
        s = _status(c, m["ticker"])
        if s != seen[-1]:
            seen.append(s)
        if s.startswith("historical"):
            break
    assert seen[:2] == ["initialized", "active"], seen
    assert "finalized" in seen and seen[-1] == "historical:finalized", seen
    settled = c.get_json(f"/historical/markets/{m['ticker']}")["market"]
    assert settled["result"] in ("yes", "no", "scalar") and "settlement_ts" in settled
    assert settled["settlement_value_dollars"] in (
        ("1.0000", "0.0000") if settled["result"] != "scalar" else (settled["settlement_value_dollars"],)
    )
    assert c.get_json("/historical/cutoff")["trades_created_ts"] > cutoff0
    assert c.get(f"/markets/{m['ticker']}").status_code == 404
    trades = c.get_json("/historical/trades", {"ticker": m["ticker"], "limit": 1000})["trades"]
    assert c.get_json("/markets/trades", {"ticker": m["ticker"]})["trades"] == []
    assert sum(float(t["count_fp"]) for t in trades) == float(settled["volume_fp"])
    scalars = [x for x in c.get_json("/historical/markets", {"series_ticker": "KXPAYROLLS"})["markets"]]
    assert scalars and all(x["market_type"] == "scalar" and x["result"] == "scalar" for x in scalars)


def test_now_and_state(exchange):
    assert exchange.now.tzinfo is not None
    state = exchange.state()
    assert state["trades"] > 0 and state["now"].endswith("Z")


def test_control_api_over_http(fresh_exchange):
    ex = fresh_exchange
    root = ex.root_url
    before = ex.now
    r = requests.post(root + "/_sim/advance", data=orjson.dumps({"seconds": 60}), timeout=30)
    assert r.status_code == 200 and ex.now - before >= dt.timedelta(seconds=60)
    assert requests.post(root + "/_sim/advance", data=b'{"seconds": -1}', timeout=30).status_code == 400
    r = requests.post(root + "/_sim/accounts", data=b'{"balance_cents": 12345}', timeout=30)
    assert r.status_code == 201
    out = r.json()
    assert "PRIVATE KEY" in out["private_key_pem"]
    c = SimClient(
        ex.base_url, type("A", (), {"key_id": out["key_id"], "private_key_pem": out["private_key_pem"]})
    )
    assert c.get_json("/portfolio/balance")["balance"] == 12345
    assert requests.get(root + "/_sim/orders", params={"key_id": out["key_id"]}, timeout=30).json() == {
        "orders": []
    }
    assert requests.post(root + "/_sim/faults", data=b'{"bogus": 1}', timeout=30).status_code == 400
    assert requests.get(root + "/_sim/state", timeout=30).json()["accounts"] == 1
    assert requests.delete(root + "/_sim/requests", timeout=30).status_code == 204
    requests.get(ex.base_url + "/exchange/status", timeout=30)
    log = requests.get(root + "/_sim/requests", timeout=30).json()["requests"]
    assert log == [
        {"method": "GET", "path": "/trade-api/v2/exchange/status", "query": "", "status": 200, "key_id": None}
    ]


def test_account_repr_hides_the_private_key(exchange):
    acct = exchange.create_account(100)
    assert "PRIVATE" not in repr(acct) and acct.private_key_pem not in repr(acct)


@pytest.mark.slow
def test_child_process_serves_the_same_bytes_as_in_process():
    with LocalExchange(seed=5, size="tiny") as a, LocalExchange(seed=5, size="tiny", subprocess=True) as b:
        assert _snapshot(a) == _snapshot(b)
        a.advance(3600)
        b.advance(3600)
        assert _snapshot(a) == _snapshot(b)
        assert a.now == b.now
