"""The server's clock of a response (``Date`` header): ``get_with_time``, ``Page.server_time``, ``parse_http_date``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.http import parse_http_date
from kalshi_extract.settings import Settings
from kalshi_sim import LocalExchange

from .conftest import Reply, local_settings

STATUS = {"exchange_active": True, "trading_active": True}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed, 25 Nov 2026 01:00:30 GMT", datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)),
        ("Wed, 25 Nov 2026 01:00:30 -0000", datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)),  # naive → UTC
        ("Wed, 25 Nov 2026 03:00:30 +0200", datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)),
        ("not a date", None),
        ("Wed, 99 Nov 2026 01:00:30 GMT", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_http_date(value, expected):
    got = parse_http_date(value)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == timedelta(0)


@pytest.fixture
def client(server):
    with KalshiClient(local_settings(server)) as c:
        yield c


def test_get_with_time_returns_the_servers_date(server, client):
    server.route(
        "GET", "/exchange/status", Reply(200, STATUS, headers={"Date": "Wed, 25 Nov 2026 01:00:30 GMT"})
    )
    data, when = client.get_with_time("/exchange/status")
    assert data == STATUS
    assert when == datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "date", [None, "yesterday-ish", "Wed, 25 Nov 2026 25:61:99 GMT"], ids=["absent", "junk", "bad"]
)
def test_get_with_time_is_none_without_a_usable_date(server, client, date):
    server.route("GET", "/exchange/status", Reply(200, STATUS, headers={"Date": date}))
    data, when = client.get_with_time("/exchange/status")
    assert data == STATUS and when is None
    assert client.get("/exchange/status") == STATUS  # the plain call is unaffected


def test_pages_carry_their_own_server_time(server, client):
    server.route(
        "GET",
        "/markets/trades",
        Reply(
            200,
            {"trades": [{"trade_id": "a"}], "cursor": "c1"},
            headers={"Date": "Tue, 24 Nov 2026 12:00:00 GMT"},
        ),
        Reply(200, {"trades": [{"trade_id": "b"}], "cursor": "c2"}, headers={"Date": None}),
        Reply(
            200,
            {"trades": [{"trade_id": "c"}], "cursor": ""},
            headers={"Date": "Tue, 24 Nov 2026 12:00:05 GMT"},
        ),
    )
    pages = list(client.paginate("/markets/trades", {"limit": 1}, data_key="trades"))
    assert [p.items[0]["trade_id"] for p in pages] == ["a", "b", "c"]
    assert [p.server_time for p in pages] == [
        datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC),
        None,
        datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC),
    ]


def test_local_exchange_time_reaches_the_client():
    with LocalExchange(seed=5, size="tiny") as ex:
        settings = Settings.load(
            environ={"KALSHI_ENV": "local", "KALSHI_API_URL": ex.base_url}, config_path=None
        )
        with KalshiClient(settings) as c:
            ex.advance(3600 * 30 + 0.5)
            _, when = c.get_with_time("/exchange/status")
            assert when == ex.now.replace(microsecond=0)
            page = next(iter(c.paginate("/markets", {"limit": 5}, data_key="markets")))
            assert page.server_time == when
            assert abs(when - datetime.now(UTC)) > timedelta(
                hours=6
            )  # the exchange's clock, not this machine's
