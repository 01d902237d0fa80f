"""Pacing: token accounting under threads, tier table, shared pacers, limits discovery, endpoint costs."""

from __future__ import annotations

import threading
import time

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.pacer import TABLE_HEADROOM, Pacer, TokenBucket
from kalshi_extract.errors import TransportError
from kalshi_extract.settings import Settings

from .conftest import Reply, local_settings


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_bucket_reservation_accounting_with_fake_clock():
    clock = FakeClock()
    b = TokenBucket(100, 50, clock=clock, sleep=clock.sleep)
    for _ in range(5):  # the first 50 tokens are a burst
        b.acquire(10)
    assert clock.now == 0.0
    b.acquire(10)  # then 10 tokens take 0.1 s at 100/s
    assert clock.now == pytest.approx(0.1)
    clock.now += 10  # idle time refills only up to capacity
    start = clock.now
    for _ in range(5):
        b.acquire(10)
    assert clock.now == start
    b.acquire(25)
    assert clock.now == pytest.approx(start + 0.25)
    assert b.granted == 60 + 75


def test_threads_never_exceed_the_bucket():
    rate, capacity, cost = 2000.0, 100.0, 10
    bucket = TokenBucket(rate, capacity)
    t0 = time.monotonic()
    grants: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            bucket.acquire(cost)
            now = time.monotonic()
            with lock:
                grants.append(now)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grants.sort()
    for i, t in enumerate(grants):
        # every grant happens at or after the moment the bucket could afford it
        assert (i + 1) * cost <= capacity + rate * (t - t0) + 1e-6, (i, t - t0)
    total = len(grants) * cost
    assert grants[-1] - t0 >= (total - capacity) / rate * 0.99  # really waited for the refill
    assert bucket.granted == total


def test_concurrent_client_requests_respect_tier_at_the_server(server):
    server.route("GET", "/exchange/status", Reply(200, {"exchange_active": True}))
    settings = local_settings(server, KALSHI_TIER="basic")  # 200 burst, 180 tokens/s, 10 per request
    n_threads, per_thread = 4, 8

    def worker():
        with KalshiClient(settings) as c:  # separate clients share the process pacer
            for _ in range(per_thread):
                c.get_exchange_status()

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    arrivals = sorted(s.t for s in server.calls("GET", "/exchange/status"))
    assert len(arrivals) == n_threads * per_thread
    assert not server.calls("GET", "/account/limits")  # explicit tier: no discovery
    rate = 200 * TABLE_HEADROOM
    for i, t in enumerate(arrivals):
        assert (i + 1) * 10 <= 200 + rate * (t - start) + 10, (i, t - start)
    assert arrivals[-1] - start >= (len(arrivals) * 10 - 200) / rate * 0.95


def test_tier_table_and_unlimited():
    basic = Pacer.for_tier("basic")
    assert basic.read.capacity == 200 and basic.read.rate == pytest.approx(180)
    assert basic.write.capacity == 200 and basic.write.rate == pytest.approx(90)
    prime = Pacer.for_tier("prime")
    assert prime.read.capacity == 4000 and prime.write.capacity == 8000
    assert Pacer.for_tier("unlimited").unlimited


def test_shared_per_base_url_and_key(server, rsa_key_pem):
    s1 = local_settings(server, KALSHI_TIER="basic")
    s2 = local_settings(server, rsa_key_pem[0], KALSHI_TIER="basic")
    with KalshiClient(s1) as a, KalshiClient(s1) as b, KalshiClient(s2) as k:
        assert a.pacer is b.pacer
        assert k.pacer is not a.pacer


def test_loopback_discovery_follows_account_limits(server):
    limits = {
        "usage_tier": "basic",
        "read": {"refill_rate": 500, "bucket_capacity": 700},
        "write": {"refill_rate": 50, "bucket_capacity": 120},
    }
    server.route("GET", "/account/limits", Reply(200, limits))
    with KalshiClient(local_settings(server)) as c, KalshiClient(local_settings(server)) as d:
        assert c.pacer is d.pacer
        assert (c.pacer.read.rate, c.pacer.read.capacity) == (500, 700)
        assert (c.pacer.write.rate, c.pacer.write.capacity) == (50, 120)
        assert c.pacer.source == "account/limits"
    assert len(server.calls("GET", "/account/limits")) == 1  # asked once per process


def test_loopback_default_unlimited_and_fallback(server):
    with KalshiClient(local_settings(server)) as c:
        assert c.pacer.unlimited  # the server's default answer: usage_tier unlimited
    from kalshi_extract.api.pacer import reset_shared_pacers

    reset_shared_pacers()
    server.route("GET", "/account/limits", Reply(404, {"code": "not_found", "message": "no"}))
    with KalshiClient(local_settings(server)) as c:
        assert c.pacer.tier == "basic" and c.pacer.source == "tier"


def test_remote_host_never_discovers():
    s = Settings.load(environ={"KALSHI_ENV": "demo"})  # no request may leave the machine
    with KalshiClient(s) as c:
        assert c.pacer.tier == "basic" and c.pacer.source == "tier"


def test_endpoint_costs_and_buckets(server, rsa_key_pem):
    server.route("GET", "/portfolio/orders/o1", Reply(200, {"order": {"order_id": "o1"}}))
    server.route("GET", "/exchange/status", Reply(200, {}))
    server.route("POST", "/portfolio/events/orders/batched", Reply(201, {"orders": []}))
    server.route("DELETE", "/portfolio/events/orders/batched", Reply(200, {"orders": []}))
    server.route("DELETE", "/portfolio/events/orders/o1", Reply(200, {"order_id": "o1"}))
    server.route("DELETE", "/portfolio/events/orders", Reply(204))
    server.route("POST", "/portfolio/events/orders", Reply(201, {"order_id": "o2"}))
    with KalshiClient(local_settings(server, rsa_key_pem[0], KALSHI_TIER="prime")) as c:
        r, w = c.pacer.read, c.pacer.write
        assert c.get_order("o1") == {"order_id": "o1"}
        assert r.granted == 2
        c.get_exchange_status()
        assert r.granted == 12
        c.post("/portfolio/events/orders/batched", {"orders": [{}, {}, {}]})
        assert w.granted == 30
        c.delete("/portfolio/events/orders/batched", json={"orders": [{}, {}]})
        assert w.granted == 34
        c.delete("/portfolio/events/orders/o1")
        assert w.granted == 36
        assert c.delete("/portfolio/events/orders") is None  # cancel-all: 204, no body
        assert w.granted == 38
        c.post("/portfolio/events/orders", {"ticker": "T"})
        assert w.granted == 48 and r.granted == 12


def test_429_drains_the_bucket(server):
    server.route("GET", "/exchange/status", Reply(429, {"error": "too many requests"}), Reply(200, {}))
    from kalshi_extract.api.http import RetryPolicy

    with KalshiClient(
        local_settings(server, KALSHI_TIER="basic"),
        retry=RetryPolicy(backoff_base=0.0001, backoff_cap=0.0001),
    ) as c:
        c.get_exchange_status()
        assert c.stats.throttled_429 == 1 and c.stats.retries == 1
        # without the drain the bucket would still hold 200 - 2*10 = 180 tokens (+ refill, capped at 200)
        assert c.pacer.read.balance() < 150


def test_drain_makes_the_next_request_wait_for_the_refill():
    clock = FakeClock()
    b = TokenBucket(100, 200, clock=clock, sleep=clock.sleep)
    b.acquire(10)
    b.drain()
    b.acquire(10)
    assert clock.now == pytest.approx(0.1)  # 10 tokens at 100/s after the bucket was emptied


def test_discovery_is_not_cached_from_an_exchange_not_yet_started():
    """Nothing listening yet: the request fails at once with the clear error (no waiting schedule: that is the HTTP
    layer's one retry decision, and a host never reached is not retried); once the exchange is up the same client
    asks for the limits again and follows them, rather than pacing at the fallback tier for the rest of the run."""
    import socket

    from kalshi_extract.api.pacer import reset_shared_pacers

    from .conftest import ScriptedServer

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    reset_shared_pacers()
    settings = Settings.load(
        environ={"KALSHI_ENV": "local", "KALSHI_API_URL": f"http://127.0.0.1:{port}/trade-api/v2"}
    )
    srv = None
    try:
        with KalshiClient(settings) as c:
            with pytest.raises(TransportError) as exc:
                c.get_exchange_status()
            assert "cannot connect" in str(exc.value) and c.stats.requests == 1
            srv = ScriptedServer(port)
            srv.route("GET", "/exchange/status", Reply(200, {"exchange_active": True}))
            assert c.get_exchange_status() == {"exchange_active": True}
            assert c.pacer.unlimited and c.pacer.source == "account/limits"
    finally:
        if srv is not None:
            srv.close()
        reset_shared_pacers()


def test_limits_fallback_warns_only_when_the_exchange_answered(server, caplog):
    import logging
    import socket

    from kalshi_extract.api.pacer import reset_shared_pacers

    reset_shared_pacers()
    server.route("GET", "/account/limits", Reply(404, {"code": "not_found", "message": "no"}))
    with caplog.at_level(logging.DEBUG, logger="kalshi_extract"):
        with KalshiClient(local_settings(server)) as c:
            assert c.pacer.source == "tier"
        assert [r.levelno for r in caplog.records if "account/limits" in r.getMessage()] == [logging.WARNING]
        caplog.clear()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens: the question itself reports that, clearly, and nothing else is logged
        env = {"KALSHI_ENV": "local", "KALSHI_API_URL": f"http://127.0.0.1:{port}/trade-api/v2"}
        with KalshiClient(Settings.load(environ=env, config_path=None)) as c:
            with pytest.raises(TransportError, match="cannot connect"):
                c.pacer  # noqa: B018
        assert [r for r in caplog.records if "could not read" in r.getMessage()] == []


@pytest.mark.parametrize(
    "env, url, asks",
    [
        (
            {"KALSHI_API_KEY_ID": "k", "KALSHI_PRIVATE_KEY_PATH": "/nonexistent.pem"},
            "https://api.elections.kalshi.com/trade-api/v2",
            True,
        ),
        ({}, "https://api.elections.kalshi.com/trade-api/v2", False),
        (
            {
                "KALSHI_API_KEY_ID": "k",
                "KALSHI_PRIVATE_KEY_PATH": "/nonexistent.pem",
                "KALSHI_TIER": "premier",
            },
            "https://x/trade-api/v2",
            False,
        ),
        ({}, "http://127.0.0.1:8765/trade-api/v2", True),
    ],
)
def test_the_pacer_asks_for_the_keys_limits_unless_a_tier_is_set(env, url, asks):
    from kalshi_extract.api.client import asks_for_limits

    assert asks_for_limits(Settings.load(environ=env, config_path=None), url) is asks
