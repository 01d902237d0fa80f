"""Signing (checked with the public key, as the exchange does), signing rules per endpoint, key hygiene."""

from __future__ import annotations

import base64
import logging
import os
import warnings

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from kalshi_extract import KalshiClient
from kalshi_extract.api.auth import Signer
from kalshi_extract.api.http import RetryPolicy
from kalshi_extract.errors import AuthenticationError, ConfigError
from kalshi_extract.settings import Settings

from .conftest import PREFIX, Reply, local_settings

FAST = RetryPolicy(max_retries=2, backoff_base=0.001, backoff_cap=0.002)


def verify(public_key, seen, method: str, signed_path: str) -> None:
    """Raise InvalidSignature unless the request's signature covers ts + METHOD + signed_path."""
    ts = seen.headers["KALSHI-ACCESS-TIMESTAMP"]
    sig = base64.b64decode(seen.headers["KALSHI-ACCESS-SIGNATURE"])
    message = (ts + method + signed_path).encode()
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(sig, message)
    else:  # salt length pinned to the digest length (32), as Kalshi requires
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        public_key.verify(sig, message, pss, hashes.SHA256())


@pytest.mark.parametrize("keyfix", ["rsa_key_pem", "ed25519_key_pem"])
def test_signature_verifies_without_query_string(server, request, keyfix):
    pem, public = request.getfixturevalue(keyfix)
    server.route("GET", "/portfolio/fills", Reply(200, {"fills": [], "cursor": ""}))
    with KalshiClient(local_settings(server, pem), retry=FAST) as c:
        assert list(c.get_fills(ticker="ABC-1", min_ts=5)) == []
    seen = server.calls("GET", "/portfolio/fills")[0]
    assert seen.query["ticker"] == ["ABC-1"]  # the query was sent...
    assert seen.headers["KALSHI-ACCESS-KEY"] == "key-123"
    assert (
        seen.headers["KALSHI-ACCESS-TIMESTAMP"].isdigit()
        and len(seen.headers["KALSHI-ACCESS-TIMESTAMP"]) == 13
    )
    verify(public, seen, "GET", PREFIX + "/portfolio/fills")  # ...but not signed
    with pytest.raises(InvalidSignature):
        verify(public, seen, "GET", PREFIX + "/portfolio/fills?ticker=ABC-1&min_ts=5&limit=1000")
    with pytest.raises(InvalidSignature):
        verify(public, seen, "GET", "/portfolio/fills")  # the /trade-api/v2 prefix is part of the message


def test_post_and_delete_signed_with_their_method(server, rsa_key_pem):
    pem, public = rsa_key_pem
    server.route("POST", "/portfolio/events/orders", Reply(201, {"order_id": "o1"}))
    server.route("DELETE", "/portfolio/events/orders/o1", Reply(200, {"order_id": "o1"}))
    with KalshiClient(local_settings(server, pem)) as c:
        assert c.post("/portfolio/events/orders", {"ticker": "T", "count": "1.00"}) == {"order_id": "o1"}
        assert c.delete("/portfolio/events/orders/o1", {"market_ticker": "T"}) == {"order_id": "o1"}
    verify(public, server.calls("POST")[0], "POST", PREFIX + "/portfolio/events/orders")
    verify(public, server.calls("DELETE")[0], "DELETE", PREFIX + "/portfolio/events/orders/o1")


def test_signer_headers_drop_query():
    key = ed25519.Ed25519PrivateKey.generate()
    signer = Signer("kid", key, "/trade-api/v2")
    h = signer.headers("get", "/markets?limit=5", timestamp_ms=1703123456789)
    key.public_key().verify(
        base64.b64decode(h["KALSHI-ACCESS-SIGNATURE"]), b"1703123456789GET/trade-api/v2/markets"
    )


def test_public_endpoints_unsigned_orderbook_signed_when_key(server, rsa_key_pem):
    pem, public = rsa_key_pem
    server.route("GET", "/markets", Reply(200, {"markets": [], "cursor": ""}))
    server.route(
        "GET", "/markets/T-1/orderbook", Reply(200, {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}})
    )
    with KalshiClient(local_settings(server, pem)) as c:
        list(c.get_markets())
        c.get_orderbook("T-1")
    assert "KALSHI-ACCESS-SIGNATURE" not in server.calls("GET", "/markets")[0].headers
    book = server.calls("GET", "/markets/T-1/orderbook")[0]
    verify(public, book, "GET", PREFIX + "/markets/T-1/orderbook")
    with KalshiClient(local_settings(server)) as c:  # no key: orderbook still works, unsigned
        c.get_orderbook("T-1")
    assert "KALSHI-ACCESS-SIGNATURE" not in server.calls("GET", "/markets/T-1/orderbook")[1].headers


def test_private_endpoint_without_key_names_both_variables(server):
    with KalshiClient(local_settings(server)) as c:
        with pytest.raises(ConfigError) as exc:
            c.get_balance()
    assert "KALSHI_API_KEY_ID" in str(exc.value) and "KALSHI_PRIVATE_KEY_PATH" in str(exc.value)
    assert server.calls("GET", "/portfolio/balance") == []  # nothing was sent


def _write_key(path, pem, mode):
    path.write_text(pem)
    os.chmod(path, mode)
    return str(path)


def test_key_file_loaded_and_permissions_warned(server, rsa_key_pem, tmp_path):
    pem, public = rsa_key_pem
    server.route("GET", "/portfolio/balance", Reply(200, {"balance": 100, "portfolio_value": 0}))
    base = {"KALSHI_ENV": "local", "KALSHI_API_URL": server.base_url, "KALSHI_API_KEY_ID": "key-123"}
    loose = _write_key(tmp_path / "loose.pem", pem, 0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        with KalshiClient(Settings.load(environ=dict(base, KALSHI_PRIVATE_KEY_PATH=loose))) as c:
            assert c.get_balance()["balance"] == 100
    tight = _write_key(tmp_path / "tight.pem", pem, 0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with KalshiClient(Settings.load(environ=dict(base, KALSHI_PRIVATE_KEY_PATH=tight))) as c:
            c.get_balance()
    for seen in server.calls("GET", "/portfolio/balance"):
        verify(public, seen, "GET", PREFIX + "/portfolio/balance")


def test_unreadable_or_bad_key_is_config_error_without_key_text(server, tmp_path):
    base = {"KALSHI_ENV": "local", "KALSHI_API_URL": server.base_url, "KALSHI_API_KEY_ID": "k"}
    bad_pem = "-----BEGIN PRIVATE KEY-----\nTOPSECRETgarbage\n-----END PRIVATE KEY-----\n"
    with KalshiClient(Settings.load(environ=dict(base, KALSHI_PRIVATE_KEY=bad_pem))) as c:
        with pytest.raises(ConfigError) as exc:
            c.get_balance()
    assert "TOPSECRET" not in str(exc.value) and exc.value.__cause__ is None and exc.value.__context__ is None
    missing = dict(base, KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "none.pem"))
    with KalshiClient(Settings.load(environ=missing)) as c:
        with pytest.raises(ConfigError, match="cannot read"):
            c.get_balance()


def test_no_key_material_or_signature_in_reprs_errors_or_logs(server, rsa_key_pem, caplog):
    pem, _ = rsa_key_pem
    body = pem.splitlines()[1]  # a line of the key's base64
    server.route(
        "GET", "/portfolio/balance", Reply(401, {"code": "unauthorized", "message": "bad signature"})
    )
    server.route("GET", "/portfolio/fills", Reply(503, {"code": "unavailable", "message": "down"}))
    caplog.set_level(logging.DEBUG)
    settings = local_settings(server, pem)
    with KalshiClient(settings, retry=FAST) as c:
        with pytest.raises(AuthenticationError) as auth_err:
            c.get_balance()
        with pytest.raises(Exception) as server_err:
            list(c.get_fills())
        texts = [
            repr(settings),
            str(settings),
            repr(c),
            repr(c._http.signer()),
            str(auth_err.value),
            repr(auth_err.value),
            str(server_err.value),
            repr(vars(auth_err.value)),
            caplog.text,
        ]
    signatures = {
        s.headers["KALSHI-ACCESS-SIGNATURE"] for s in server.seen if "KALSHI-ACCESS-SIGNATURE" in s.headers
    }
    assert len(signatures) >= 2
    for text in texts:
        assert body not in text and "PRIVATE KEY" not in text
        for sig in signatures:
            assert sig not in text and sig[:20] not in text
    assert auth_err.value.status == 401 and auth_err.value.code == "unauthorized"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(c._http.signer())


def test_one_line_pem_with_escaped_newlines(server, ed25519_key_pem):
    pem, public = ed25519_key_pem
    server.route("GET", "/portfolio/balance", Reply(200, {"balance": 1}))
    one_line = pem.strip().replace("\n", "\\n")
    with KalshiClient(local_settings(server, one_line)) as c:
        assert c.get_balance() == {"balance": 1}
    verify(public, server.calls("GET", "/portfolio/balance")[0], "GET", PREFIX + "/portfolio/balance")
