"""Fixtures of the faithfulness tests: a loopback server of genuine-shaped pages, a signed client on it, a lake."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from tests.faithfulness.loopback import Loopback

OLD_CUTOFF = {
    "market_settled_ts": "2020-01-01T00:00:00Z",
    "trades_created_ts": "2020-01-01T00:00:00Z",
    "orders_updated_ts": "2020-01-01T00:00:00Z",
}


@pytest.fixture(scope="session")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def api():
    server = Loopback()
    # every live stream asks the cutoff first; an old cutoff keeps everything on the live endpoints, and the
    # historical twins answer empty pages (v3.21 shape: no market_positions_last_updated_ts)
    server.routes["/historical/cutoff"] = lambda q: OLD_CUTOFF
    for path, key in (
        ("/historical/trades", "trades"),
        ("/historical/markets", "markets"),
        ("/historical/fills", "fills"),
        ("/historical/orders", "orders"),
    ):
        server.pages(path, [{key: []}])
    yield server
    server.close()


def make_settings(base_url: str, pem: str, tmp_path, **extra) -> Settings:
    env = {
        "KALSHI_ENV": "local",
        "KALSHI_API_URL": base_url,
        "KALSHI_TIER": "unlimited",
        "KALSHI_API_KEY_ID": "faithfulness-key",
        "KALSHI_PRIVATE_KEY": pem,
        "KALSHI_LAKE_DIR": str(tmp_path / "data"),
        "KALSHI_CONCURRENCY": "2",
    }
    env.update(extra)
    return Settings.load(environ=env, config_path=None)


@pytest.fixture
def client(api, pem, tmp_path):
    with KalshiClient(make_settings(api.base_url, pem, tmp_path)) as c:
        yield c


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))
