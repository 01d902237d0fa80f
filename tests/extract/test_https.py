"""HTTPS through the same send path: certificate verification on, a self-signed loopback server."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kalshi_extract import KalshiClient
from kalshi_extract.api.http import RetryPolicy
from kalshi_extract.errors import TransportError
from kalshi_extract.settings import Settings


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            body = b'{"exchange_active":true,"trading_active":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/trade-api/v2", str(cert_path)
    httpd.shutdown()
    httpd.server_close()


def _settings(url):
    return Settings.load(environ={"KALSHI_ENV": "local", "KALSHI_API_URL": url, "KALSHI_TIER": "unlimited"})


def test_https_with_trusted_certificate(https_server):
    url, cert = https_server
    session = requests.Session()
    session.verify = cert
    with KalshiClient(_settings(url), session=session) as c:
        assert c.get_exchange_status() == {"exchange_active": True, "trading_active": True}


def test_untrusted_certificate_is_refused(https_server):
    url, _ = https_server
    with KalshiClient(_settings(url), retry=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(TransportError, match="SSL|certificate"):
            c.get_exchange_status()


def test_ca_bundle_from_environment_is_used(https_server, monkeypatch):
    url, cert = https_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)  # read once by requests when the client is built
    with KalshiClient(_settings(url)) as c:
        assert c.get_exchange_status()["exchange_active"] is True
