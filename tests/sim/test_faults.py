"""Faults on demand: rate limits (429), random 5xx, latency, resets mid-body, truncated JSON, dropped order
responses — and the request log."""

from __future__ import annotations

import time

import orjson
import pytest
import requests

from kalshi_sim import LocalExchange
from tests.sim.helpers import SimClient, order


@pytest.fixture
def ex():
    with LocalExchange(seed=3, size="tiny") as e:
        yield e


def test_rate_limit_tier_gives_429_with_kalshi_body(ex):
    ex.set_faults(rate_limit_tier="basic")
    c = SimClient(ex.base_url)
    limits = c.get_json("/account/limits")
    assert limits["usage_tier"] == "basic" and limits["read"] == {"refill_rate": 200, "bucket_capacity": 200}
    codes = [c.get("/exchange/status") for _ in range(40)]
    throttled = [r for r in codes if r.status_code == 429]
    assert throttled and codes[0].status_code == 200
    assert throttled[0].content == b'{"error":"too many requests"}'
    time.sleep(0.2)  # the bucket refills at 200 tokens/s
    assert c.get("/exchange/status").status_code == 200
    ex.set_faults(rate_limit_tier="unlimited")
    assert all(c.get("/exchange/status").status_code == 200 for _ in range(40))
    assert c.get_json("/account/limits")["usage_tier"] == "unlimited"


def test_random_server_errors(ex):
    ex.set_faults(error_rate=1.0)
    r = SimClient(ex.base_url).get("/markets")
    assert r.status_code in (500, 502, 503) and set(r.json()) == {"code", "message", "details"}
    ex.set_faults(error_rate=0.0)
    assert SimClient(ex.base_url).get("/markets").status_code == 200


def test_truncated_json(ex):
    ex.set_faults(truncate_rate=1.0)
    r = SimClient(ex.base_url).get("/markets")
    assert r.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(r.content)


def test_connection_reset_mid_body(ex):
    ex.set_faults(reset_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(ex.base_url + "/markets/trades", timeout=10)
    ex.set_faults(reset_rate=0.0)
    assert requests.get(ex.base_url + "/markets/trades", timeout=10).status_code == 200


def test_latency(ex):
    ex.set_faults(latency_ms=300)
    t = time.monotonic()
    SimClient(ex.base_url).get("/exchange/status")
    assert time.monotonic() - t >= 0.3


def test_accept_then_drop_the_order_response(ex):
    acct = ex.create_account(100_000)
    c = SimClient(ex.base_url, acct)
    m = c.get_json("/markets", {"status": "open", "limit": 1})["markets"][0]
    body = order(m["ticker"], "bid", "1.00", m["yes_bid_dollars"], client_order_id="cid-drop-1")
    ex.set_faults(drop_order_response=1)
    with pytest.raises(requests.exceptions.RequestException):
        c.post("/portfolio/events/orders", body)
    placed = [o for o in ex.orders(acct.key_id) if o["client_order_id"] == "cid-drop-1"]
    assert len(placed) == 1 and placed[0]["status"] == "resting"
    assert c.post("/portfolio/events/orders", body).status_code == 409  # the retry is not a second order
    listed = c.get_json("/portfolio/orders")["orders"]
    assert [o["order_id"] for o in listed] == [placed[0]["order_id"]]


def test_bad_fault_values_are_rejected(ex):
    with pytest.raises(ValueError):
        ex.set_faults(error_rate=2)
    with pytest.raises(ValueError):
        ex.set_faults(rate_limit_tier="platinum")
    with pytest.raises(ValueError):
        ex.set_faults(nonsense=1)


def test_request_log(ex):
    acct = ex.create_account(1000)
    ex.clear_requests()
    SimClient(ex.base_url, acct).get("/portfolio/balance", {"subaccount": 0})
    SimClient(ex.base_url).get("/portfolio/balance")
    assert ex.requests() == [
        {
            "method": "GET",
            "path": "/trade-api/v2/portfolio/balance",
            "query": "subaccount=0",
            "status": 200,
            "key_id": acct.key_id,
        },
        {
            "method": "GET",
            "path": "/trade-api/v2/portfolio/balance",
            "query": "",
            "status": 401,
            "key_id": None,
        },
    ]
