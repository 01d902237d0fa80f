"""Fixtures of the lake's tests: a loopback fake API with a signing key, a client on it, a lake root."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.settings import Settings
from tests.lake.fakeapi import FakeApi


@pytest.fixture(scope="session")
def test_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def fake_api():
    api = FakeApi()
    yield api
    api.close()


@pytest.fixture
def fake_client(fake_api, test_pem, tmp_path):
    settings = Settings.load(
        environ={
            "KALSHI_ENV": "local",
            "KALSHI_API_URL": fake_api.base_url,
            "KALSHI_TIER": "unlimited",
            "KALSHI_API_KEY_ID": "test-key",
            "KALSHI_PRIVATE_KEY": test_pem,
            "KALSHI_LAKE_DIR": str(tmp_path / "data"),
            "KALSHI_ACCOUNT": "acct1",
        },
        config_path=None,
    )
    with KalshiClient(settings) as client:
        yield client
