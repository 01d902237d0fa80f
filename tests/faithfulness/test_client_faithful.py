"""The client's fixed facts against the official spec: hosts, and the signing message on the real hosts."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from kalshi_extract.api.auth import Signer
from kalshi_extract.settings import HOSTS, Settings
from tests.faithfulness import variants as V


def test_hosts_are_the_specs_recommended_servers():
    servers = [s["url"] for s in V._spec()["servers"]]
    assert HOSTS["prod"] == servers[0] == "https://external-api.kalshi.com/trade-api/v2"
    assert HOSTS["demo"] in servers and "demo" in HOSTS["demo"]
    assert not any("trading-api.kalshi.com" in h for h in HOSTS.values())  # the dead v1 host


def test_signature_on_the_real_hosts_covers_the_full_path_without_query(pem):
    public = serialization.load_pem_private_key(pem.encode(), None).public_key()
    for env in ("prod", "demo"):
        s = Settings.load(
            environ={"KALSHI_ENV": env, "KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY": pem},
            config_path=None,
        )
        assert urlsplit(s.base_url).path == "/trade-api/v2"
        h = Signer.from_settings(s).headers("get", "/portfolio/orders?limit=5", timestamp_ms=1703123456789)
        assert h["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789" and h["KALSHI-ACCESS-KEY"] == "kid"
        public.verify(
            base64.b64decode(h["KALSHI-ACCESS-SIGNATURE"]),
            b"1703123456789GET/trade-api/v2/portfolio/orders",  # the docs' own example message
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
