"""The local exchange's ``Date`` header reads its simulated clock (RFC 7231), in-process and as a child process."""

from __future__ import annotations

import email.utils
import urllib.error
import urllib.request

import pytest

from kalshi_sim import LocalExchange
from tests.sim.helpers import SimClient


def _dates(url: str, method: str = "GET") -> list[str]:
    req = urllib.request.Request(url, method=method)
    try:
        resp = urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as exc:  # 4xx answers carry the header too
        resp = exc
    with resp:
        resp.read()
        return resp.headers.get_all("Date") or []


def _whole_second(ex: LocalExchange) -> str:
    return email.utils.formatdate(int(ex.now.timestamp()), usegmt=True)


def _check(ex: LocalExchange) -> None:
    api, root = ex.base_url, ex.root_url
    assert _dates(f"{api}/exchange/status") == ["Tue, 24 Nov 2026 12:00:00 GMT"] == [_whole_second(ex)]
    ex.advance(3600 * 13 + 30.75)  # past midnight: the Date's day moves with the simulated clock
    expected = [_whole_second(ex)]
    assert expected == ["Wed, 25 Nov 2026 01:00:30 GMT"]
    assert _dates(f"{api}/markets?limit=1") == expected
    assert _dates(f"{api}/markets/NO-SUCH-MARKET") == expected  # 404 from a view
    assert _dates(f"{api}/no/such/endpoint") == expected  # 404 from the router
    assert _dates(f"{api}/portfolio/balance") == expected  # 401
    assert _dates(f"{root}/_sim/state") == expected  # control API
    when = email.utils.parsedate_to_datetime(expected[0])
    assert abs((when - ex.now).total_seconds()) < 1


def test_date_header_follows_the_simulated_clock_in_process():
    with LocalExchange(seed=3, size="tiny") as ex:
        _check(ex)


@pytest.mark.slow
def test_date_header_follows_the_simulated_clock_in_a_child_process():
    with LocalExchange(seed=3, size="tiny", subprocess=True) as ex:
        _check(ex)


def test_signed_private_responses_carry_the_simulated_date():
    with LocalExchange(seed=3, size="tiny") as ex:
        ex.advance(7200)
        client = SimClient(ex.base_url, ex.create_account(balance_cents=1_000))
        r = client.get("/portfolio/balance")
        assert r.status_code == 200
        assert r.headers["Date"] == "Tue, 24 Nov 2026 14:00:00 GMT" == _whole_second(ex)
