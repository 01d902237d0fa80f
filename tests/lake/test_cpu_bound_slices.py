"""Historical and live slices run one after another only when the pull is CPU-bound (unpaced, loopback server)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kalshi_extract.api.pacer import Pacer
from kalshi_extract.errors import TransportError
from kalshi_extract.ingest import rules  # noqa: F401
from kalshi_extract.ingest.time_rule import _cpu_bound


def ctx_for(base_url: str | None, pacer) -> SimpleNamespace:
    client = SimpleNamespace(base_url=base_url)
    if pacer is not None:
        client.pacer = pacer
    return SimpleNamespace(client=client)


@pytest.mark.parametrize(
    ("base_url", "tier", "expected"),
    [
        ("http://127.0.0.1:8080/trade-api/v2", "unlimited", True),
        ("http://localhost:8080/trade-api/v2", "unlimited", True),
        ("https://api.elections.kalshi.com/trade-api/v2", "unlimited", False),  # network latency to overlap
        ("http://127.0.0.1:8080/trade-api/v2", "basic", False),  # paced: waits to overlap
        ("https://api.elections.kalshi.com/trade-api/v2", "basic", False),
    ],
)
def test_cpu_bound_only_when_unpaced_and_local(base_url, tier, expected):
    assert _cpu_bound(ctx_for(base_url, Pacer.for_tier(tier))) is expected


def test_a_client_without_a_pacer_keeps_concurrent_slices():
    assert _cpu_bound(ctx_for("http://127.0.0.1:1/trade-api/v2", None)) is False

    class Failing:
        base_url = "http://127.0.0.1:1/trade-api/v2"

        @property
        def pacer(self):
            raise TransportError("connection refused", method="GET", path="/account/limits")

    assert _cpu_bound(SimpleNamespace(client=Failing())) is False
