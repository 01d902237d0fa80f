"""Retry decisions and error mapping against a real loopback server."""

from __future__ import annotations

import pickle

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.http import RetryPolicy
from kalshi_extract.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    KalshiApiError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)

from .conftest import Reply, local_settings

FAST = RetryPolicy(max_retries=4, backoff_base=0.001, backoff_cap=0.005)
OK = Reply(200, {"exchange_active": True, "trading_active": True})
TOO_MANY = Reply(429, {"error": "too many requests"})


@pytest.fixture
def client(server):
    with KalshiClient(local_settings(server), retry=FAST) as c:
        yield c


@pytest.mark.parametrize(
    "failure",
    [
        TOO_MANY,
        Reply(500, {"code": "internal", "message": "oops"}),
        Reply(502, b"<html>bad gateway</html>"),
        Reply(503, b""),
        Reply(action="reset"),
        Reply(200, {"exchange_active": True, "padding": "x" * 5000}, action="truncate"),
        Reply(200, b'{"exchange_active": tr'),  # complete HTTP body, malformed JSON
        Reply(200, b""),
    ],
    ids=["429", "500", "502-html", "503-empty", "reset", "truncated", "malformed-json", "empty-200"],
)
def test_get_retried_then_succeeds(server, client, failure):
    server.route("GET", "/exchange/status", failure, failure, OK)
    assert client.get_exchange_status() == {"exchange_active": True, "trading_active": True}
    assert len(server.calls("GET", "/exchange/status")) == 3
    stats = client.stats.snapshot()
    assert stats.retries == 2
    assert stats.throttled_429 == (2 if failure is TOO_MANY else 0)


def test_get_bytes_returns_raw_body_and_retries_truncation(server, client):
    raw = b'{"cursor":"","trades":[{"trade_id":"t1","yes_price_dollars":"0.0010"}]}'
    server.route("GET", "/markets/trades", Reply(200, raw, action="truncate"), Reply(200, raw))
    assert client.get_bytes("/markets/trades", {"ticker": "X"}) == raw
    assert client.stats.retries == 1


def test_retries_give_up_with_typed_error(server, client):
    server.route("GET", "/exchange/status", Reply(503, {"code": "unavailable", "message": "maintenance"}))
    with pytest.raises(ServerError) as exc:
        client.get_exchange_status()
    assert exc.value.status == 503 and exc.value.code == "unavailable" and exc.value.message == "maintenance"
    assert len(server.calls("GET", "/exchange/status")) == 1 + FAST.max_retries


def test_transport_error_after_retries(server, client):
    server.route("GET", "/exchange/status", Reply(action="reset"))
    with pytest.raises(TransportError) as exc:
        client.get_exchange_status()
    assert exc.value.path == "/exchange/status" and exc.value.maybe_sent


def test_connection_refused_is_transport_error_not_sent():
    import socket

    from kalshi_extract.settings import Settings

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    settings = Settings.load(
        environ={
            "KALSHI_ENV": "local",
            "KALSHI_API_URL": f"http://127.0.0.1:{port}/trade-api/v2",
            "KALSHI_TIER": "unlimited",
        }
    )
    with KalshiClient(settings, retry=RetryPolicy(max_retries=3, backoff_base=0.5, backoff_cap=0.5)) as c:
        with pytest.raises(TransportError) as exc:
            c.get("/exchange/status")
    assert exc.value.maybe_sent is False
    # refused before the host ever answered: a wrong address or a server not started; no retry, no waiting
    assert c.stats.requests == 1 and c.stats.retries == 0
    # one short line naming the address and what to check, not urllib3's retry wrapper
    assert f"cannot connect to 127.0.0.1:{port} (Connection refused)" in str(exc.value), str(exc.value)
    assert "KALSHI_API_URL" in str(exc.value) and "HTTPConnectionPool" not in str(exc.value)


@pytest.mark.parametrize(
    "failure",
    [
        TOO_MANY,
        Reply(500, {"code": "e", "message": "m"}),
        Reply(action="reset"),
        Reply(200, {"order_id": "o"}, action="truncate"),
    ],
)
def test_post_and_delete_never_retried(server, rsa_key_pem, failure):
    server.route("POST", "/portfolio/events/orders", failure, Reply(201, {"order_id": "o"}))
    server.route("DELETE", "/portfolio/events/orders/o", failure, Reply(200, {"order_id": "o"}))
    with KalshiClient(local_settings(server, rsa_key_pem[0]), retry=FAST) as c:
        with pytest.raises((KalshiApiError, TransportError)):
            c.post("/portfolio/events/orders", {"ticker": "T", "client_order_id": "abc"})
        with pytest.raises((KalshiApiError, TransportError)):
            c.delete("/portfolio/events/orders/o")
        assert c.stats.retries == 0
    assert len(server.calls("POST")) == 1 and len(server.calls("DELETE")) == 1


@pytest.mark.parametrize(
    "status,body,cls,code,message",
    [
        (
            400,
            {"code": "invalid_parameters", "message": "bad limit", "details": "limit must be <= 1000"},
            BadRequestError,
            "invalid_parameters",
            "bad limit",
        ),
        (
            401,
            {"code": "authentication_error", "message": "bad sig"},
            AuthenticationError,
            "authentication_error",
            "bad sig",
        ),
        (
            403,
            {"code": "missing_scope", "message": "needs write"},
            AuthenticationError,
            "missing_scope",
            "needs write",
        ),
        (
            404,
            {"code": "not_found", "message": "market not found", "details": ""},
            NotFoundError,
            "not_found",
            "market not found",
        ),
        (
            409,
            {"code": "order_already_exists", "message": "dup"},
            ConflictError,
            "order_already_exists",
            "dup",
        ),
        (429, {"error": "too many requests"}, RateLimitError, None, "too many requests"),
        (418, b"teapot", KalshiApiError, None, "teapot"),
        (400, {"error": {"code": "nested", "message": "inner"}}, BadRequestError, "nested", "inner"),
    ],
)
def test_error_mapping(server, status, body, cls, code, message):
    server.route("GET", "/markets/NOPE", Reply(status, body))
    with KalshiClient(local_settings(server), retry=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(cls) as exc:
            c.get_market("NOPE")
    err = exc.value
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.method, err.path) == (
        status,
        code,
        message,
        "GET",
        "/markets/NOPE",
    )
    if isinstance(body, dict) and body.get("details"):
        assert err.details == body["details"] and body["details"] in str(err)
    assert "/markets/NOPE" in str(err) and str(status) in str(err)
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is cls and clone.status == status and clone.code == code


def test_retry_after_is_honoured(server, client):
    server.route(
        "GET",
        "/exchange/status",
        Reply(429, {"error": "too many requests"}, headers={"Retry-After": "1"}),
        OK,
    )
    client.get_exchange_status()
    first, second = server.calls("GET", "/exchange/status")
    assert second.t - first.t >= 0.9  # backoff alone would be < 5 ms


def test_stats_count_requests_and_bytes(server, client):
    server.route("GET", "/exchange/status", OK)
    client.get_exchange_status()  # the first request also asks /account/limits (counted too)
    before = client.stats.snapshot()
    for _ in range(3):
        client.get_exchange_status()
    s = client.stats.snapshot()
    assert s.requests - before.requests == 3 and s.retries == 0 and s.errors == 0
    assert s.bytes - before.bytes == 3 * len(OK.raw())


def test_query_params_encoding(server, client):
    server.route("GET", "/markets/orderbooks", Reply(200, {"orderbooks": [{"ticker": "A"}, {"ticker": "B"}]}))
    server.route("GET", "/markets/trades", Reply(200, {"trades": [], "cursor": ""}))
    assert [b["ticker"] for b in client.get_orderbooks(["A", "B"])] == ["A", "B"]
    assert server.calls("GET", "/markets/orderbooks")[0].query["tickers"] == ["A", "B"]
    list(client.get_trades(is_block_trade=False, ticker=None, min_ts=10))
    q = server.calls("GET", "/markets/trades")[0].query
    assert q == {"is_block_trade": ["false"], "min_ts": ["10"], "limit": ["1000"]}
    with pytest.raises(TypeError):
        client.get("/markets/trades", {"min_ts": 1.5})


def test_connections_are_pooled_and_reused(server, client):
    server.route("GET", "/exchange/status", OK)
    server.route("GET", "/markets/X", Reply(404, {"code": "not_found", "message": "no"}))
    for i in range(20):
        client.get_exchange_status()
        if i % 5 == 0:
            with pytest.raises(NotFoundError):
                client.get_market("X")
    ports = {s.client_port for s in server.seen}
    assert len(ports) == 1  # one keep-alive connection served every request, errors included


def test_redirect_is_an_error_not_followed(server, client):
    server.route("GET", "/exchange/status", Reply(301, b"", headers={"Location": "http://elsewhere/"}))
    with pytest.raises(KalshiApiError) as exc:
        client.get_exchange_status()
    assert exc.value.status == 301


def test_no_network_until_first_request(server):
    with KalshiClient(local_settings(server)) as c:
        assert server.seen == []  # constructing a client sends nothing
        assert "pacer=None" in repr(c)
    assert server.seen == []


def test_stopped_exchange_fails_fast(server):
    settings = local_settings(server)
    server.close()
    with KalshiClient(settings, retry=RetryPolicy(max_retries=1, backoff_base=0.01, backoff_cap=0.01)) as c:
        with pytest.raises(TransportError):
            c.get_exchange_status()
        assert c.stats.requests == 1 and c.stats.retries == 0  # the limits question, refused once: no retry
        # nothing was cached from a host that never answered: the next request asks again (and fails the same)
        with pytest.raises(TransportError):
            c.get_exchange_status()
        assert c.stats.requests == 2


def test_refused_after_the_server_answered_is_retried(server):
    """A server that goes away mid-run (a restart) is waited for; only a host never reached fails at once."""
    server.route("GET", "/exchange/status", OK)
    retry = RetryPolicy(max_retries=2, backoff_base=0.001, backoff_cap=0.001)
    with KalshiClient(local_settings(server, KALSHI_TIER="unlimited"), retry=retry) as c:
        assert c.get_exchange_status()["exchange_active"]
        server.close()
        c._http.session.close()  # drop the kept-alive connection (its handler thread outlives the server)
        with pytest.raises(TransportError) as exc:
            c.get_exchange_status()
        assert exc.value.maybe_sent is False
        assert c.stats.requests == 1 + 1 + retry.max_retries and c.stats.retries == retry.max_retries


def test_stats_are_exact_under_threads(server, client):
    import threading

    server.route("GET", "/exchange/status", OK)
    client.get_exchange_status()
    before = client.stats.snapshot()

    def work():
        for _ in range(25):
            client.get_exchange_status()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = client.stats.snapshot()
    assert after.requests - before.requests == 200
    assert after.bytes - before.bytes == 200 * len(OK.raw())


@pytest.mark.parametrize(
    "path",
    [
        "/series/../../_sim/state",
        "/markets/X?status=open",
        "/markets/X#frag",
        "/series/%2E%2E/x",
        "series",
        "/a b",
    ],
)
def test_unsafe_paths_are_refused_before_sending(server, path):
    with KalshiClient(local_settings(server)) as c:
        with pytest.raises(ValueError, match="refusing to request"):
            c.get(path)
    assert server.seen == []


def test_balance_against_a_closed_port_is_one_attempt_and_one_line(sim_account, tmp_path, monkeypatch):
    """A key is configured and the tier not pinned, so the client first asks the exchange for its limits. Nothing
    listens at the address: that is decided once, by the HTTP layer's retry decision, after ONE connection attempt
    (it was eight: a 2.6 s schedule of limit probes, then the request itself) and without any sleep."""
    import socket

    from kalshi_extract.api import http as http_mod
    from kalshi_extract.api.pacer import reset_shared_pacers
    from tests.orders.helpers import Cli, cli_env

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    sends: list[str] = []
    real_send = http_mod.HttpClient._send_once

    def counting_send(self, method, path, *args):
        sends.append(path)
        return real_send(self, method, path, *args)

    def no_sleep(seconds):
        raise AssertionError(f"slept {seconds}s before giving up on a closed port")

    monkeypatch.setattr(http_mod.HttpClient, "_send_once", counting_send)
    monkeypatch.setattr(http_mod.time, "sleep", no_sleep)  # the time module's: any sleep of this process
    reset_shared_pacers()
    env = cli_env(sim_account.env, tmp_path / "data", KALSHI_API_URL=f"http://127.0.0.1:{port}/trade-api/v2")
    env.pop("KALSHI_TIER", None)
    res = Cli(env)("balance")
    assert res.exit_code != 0
    assert sends == ["/account/limits"], sends
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert f"cannot connect to 127.0.0.1:{port} (Connection refused)" in lines[0]
