"""A tiny scripted HTTP server on loopback for the client's tests (a real server, no mocks of requests)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from kalshi_extract.api.pacer import reset_shared_pacers
from kalshi_extract.settings import Settings

PREFIX = "/trade-api/v2"


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | list | None = None
    headers: dict = field(default_factory=dict)
    action: str | None = None  # "reset" (close without answer) | "truncate" (short body) | "delay"
    delay: float = 0.0

    def raw(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return orjson.dumps(self.body)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    t: float
    client_port: int = 0


class ScriptedServer:
    """Routes map (METHOD, path-after-/trade-api/v2) to a list of replies (consumed in order, the last one
    repeats) or to a callable(seen) -> Reply."""

    def __init__(self, port: int = 0) -> None:
        self.routes: dict[tuple[str, str], object] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = parts.path[len(PREFIX) :] if parts.path.startswith(PREFIX) else parts.path
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k: v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with server.lock:
                    server.seen.append(seen)
                    reply = server._next(self.command, path, seen)
                if reply.delay:
                    time.sleep(reply.delay)
                raw = reply.raw()
                if reply.action == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response_only(reply.status)
                if (
                    "Date" not in reply.headers
                ):  # as send_response would; a reply may set it, or None for none
                    self.send_header("Date", self.date_time_string())
                self.send_header("Content-Type", "application/json")
                for k, v in reply.headers.items():
                    if v is not None:
                        self.send_header(k, v)
                if reply.action == "truncate":
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw[: len(raw) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                if raw:
                    self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}{PREFIX}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def _next(self, method: str, path: str, seen: Seen) -> Reply:
        target = self.routes.get((method, path))
        if target is None:
            if (method, path) == ("GET", "/account/limits"):
                return Reply(
                    200,
                    {
                        "usage_tier": "unlimited",
                        "read": {"refill_rate": 1000000, "bucket_capacity": 1000000},
                        "write": {"refill_rate": 1000000, "bucket_capacity": 1000000},
                    },
                )
            return Reply(404, {"code": "not_found", "message": f"no route {method} {path}", "details": ""})
        if callable(target):
            return target(seen)
        if len(target) > 1:
            return target.pop(0)
        return target[0]

    def route(self, method: str, path: str, *replies) -> None:
        with self.lock:
            self.routes[(method, path)] = (
                replies[0] if len(replies) == 1 and callable(replies[0]) else list(replies)
            )

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self.lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and (path is None or s.path == PREFIX + path)
            ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = ScriptedServer()
    reset_shared_pacers()
    yield srv
    srv.close()
    reset_shared_pacers()


@pytest.fixture(scope="session")
def rsa_key_pem() -> tuple[str, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


@pytest.fixture(scope="session")
def ed25519_key_pem() -> tuple[str, object]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


def local_settings(server: ScriptedServer, pem: str | None = None, **extra) -> Settings:
    env = {"KALSHI_ENV": "local", "KALSHI_API_URL": server.base_url}
    if pem is not None:
        env["KALSHI_API_KEY_ID"] = "key-123"
        env["KALSHI_PRIVATE_KEY"] = pem
    env.update(extra)
    return Settings.load(environ=env, config_path=None)
