"""The control API answers only this machine; one advance is bounded; user_data_timestamp needs no key
(issue #17 item 11, issue #18 item 9)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import requests

from kalshi_sim import LocalExchange
from kalshi_sim.app import Api, Faults, build_app
from kalshi_sim.exchange import MAX_ADVANCE_SECONDS, Exchange


@pytest.fixture(scope="module")
def api():
    return Api(Exchange(seed=3, size="tiny"), Faults())


@pytest.fixture(scope="module")
def exchange():
    with LocalExchange(seed=3, size="tiny") as ex:
        yield ex


def _ask_in_process(api, client_host: str, calls):
    """Call the app in process (no socket) as if from ``client_host``."""

    async def go():
        transport = httpx.ASGITransport(app=build_app(api), client=(client_host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
            return [await c.request(method, path, json={}) for method, path in calls]

    return asyncio.run(go())


def test_control_api_refuses_clients_from_other_machines(api):
    calls = [("POST", "/_sim/accounts"), ("POST", "/_sim/advance"), ("GET", "/_sim/state")]
    for r in _ask_in_process(api, "203.0.113.7", calls):  # a documentation address: in process, never sent
        assert r.status_code == 403, (r.request.url, r.status_code)
        assert "only clients on this machine" in r.json()["message"]
    from_here = [r.status_code for r in _ask_in_process(api, "127.0.0.1", calls)]
    assert from_here == [201, 400, 200]  # (advance wants its seconds)
    (public,) = _ask_in_process(api, "203.0.113.7", [("GET", "/trade-api/v2/exchange/status")])
    assert public.status_code == 200  # the trading API is unchanged


def test_one_advance_is_bounded(exchange):
    with pytest.raises(requests.HTTPError) as info:
        r = requests.post(
            exchange.root_url + "/_sim/advance", json={"seconds": MAX_ADVANCE_SECONDS + 1}, timeout=30
        )
        r.raise_for_status()
    assert info.value.response.status_code == 400
    assert "advance at most 31 days per call" in info.value.response.json()["message"]


def test_user_data_timestamp_needs_no_key(exchange):
    r = requests.get(exchange.base_url + "/exchange/user_data_timestamp", timeout=30)
    assert r.status_code == 200 and "as_of_time" in r.json()
