"""A tiny loopback HTTP server that serves genuine-shaped Kalshi pages (for the faithfulness tests).

A route maps a path (relative to ``/trade-api/v2``) to a list of page *objects* (dicts) or to a callable
``(query) -> bytes | dict``. For a list, the server picks the page from the ``cursor`` query parameter
(opaque tokens shaped like Kalshi's: base64 text with ``-``, ``_``, and for some pages ``+``, ``/`` and ``=``
that the client must percent-encode; an unknown cursor is a 400 with Kalshi's error body), writes the cursor that
points to the next page into the body, and ends the list the way the
route says: ``end="empty"`` (``"cursor": ""``), ``"null"`` (``"cursor": null``) or ``"missing"`` (no cursor
key). Bodies are serialised with the stdlib ``json`` so ``Decimal`` numbers keep their exact text. Every request
is recorded (path, query as a dict of lists, headers).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PREFIX = "/trade-api/v2"


_TOKEN = re.compile(r'"\\u0000dec:([-0-9.eE+]+)"')


def _mark(obj):
    if isinstance(obj, Decimal):
        return "\u0000dec:" + str(obj)
    if isinstance(obj, dict):
        return {k: _mark(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_mark(v) for v in obj]
    return obj


def dumps(obj) -> bytes:
    """JSON bytes; Decimal values are written as JSON numbers with their exact text (``3.5``, ``85``)."""
    return _TOKEN.sub(r"\1", json.dumps(_mark(obj), ensure_ascii=False)).encode()


# page i+1 is fetched with _TOKENS[i]; genuine cursors are base64 of protobuf (recorded examples first)
_TOKENS = [
    "CgwIuKKp0QYQ-MDV3QISJ0tYTUxCSElULTI2SlVOMTExMzEwQVpNSUEtQVpHUEVSRE9NTzItMw",
    "EhIKEC4Yf1dC7Fly-I7MaD55Y-MaDAjavcDRBhDwop6bAg",
    "EhIKEAchBaz0I+uZyJi/gMh7b/AaDAjd7tDUBhDIhYbTAw==",
    *(f"CgwI3-Wo0QYQuIDPgQESHEtY_{i}+/=" for i in range(3, 50)),
]


class Loopback:
    def __init__(self) -> None:
        self.routes: dict[str, object] = {}
        self.ends: dict[str, str] = {}
        self.selects: dict[str, object] = {}
        self.throttle: dict[str, set[int]] = {}  # path → ordinals (1-based) of its requests answered 429
        self.gzip_chunked = False  # answer like a CDN: Content-Encoding gzip, Transfer-Encoding chunked
        self.requests: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                path = parts.path.removeprefix(PREFIX)
                query = parse_qs(parts.query, keep_blank_values=True)
                with api.lock:
                    api.requests.append((path, query, dict(self.headers.items())))
                with api.lock:
                    ordinal = sum(1 for p, _, _ in api.requests if p == path)
                if ordinal in api.throttle.get(path, ()):  # Kalshi's 429: this body, no Retry-After header
                    self._send(429, b'{"error": "too many requests"}')
                    return
                route = api.routes.get(path)
                if route is None:
                    self._send(404, b'{"code":"not_found","message":"not found","details":""}')
                    return
                if callable(route):
                    out = route({k: v[-1] for k, v in query.items()})
                    self._send(200, out if isinstance(out, bytes) else dumps(out))
                    return
                cursor = query.get("cursor", [""])[-1]
                index = _TOKENS.index(cursor) + 1 if cursor in _TOKENS else (0 if not cursor else -1)
                if index < 0:
                    self._send(400, b'{"code":"invalid_cursor","message":"invalid cursor","details":""}')
                    return
                body = dict(route[index])
                select = api.selects.get(path)
                if select is not None:
                    flat = {k: v[-1] for k, v in query.items()}
                    body = {
                        k: ([i for i in v if select(flat, i)] if isinstance(v, list) else v)
                        for k, v in body.items()
                    }
                if index + 1 < len(route):
                    body["cursor"] = _TOKENS[index]
                else:
                    end = api.ends.get(path, "empty")
                    if end == "empty":
                        body["cursor"] = ""
                    elif end == "null":
                        body["cursor"] = None
                    else:
                        body.pop("cursor", None)
                self._send(200, dumps(body))

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
                if api.gzip_chunked and accepts_gzip:
                    packed = gzip.compress(body)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(packed), 1000):
                        piece = packed[i : i + 1000]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"

    def pages(self, path: str, bodies: list[dict], end: str = "empty", select=None) -> None:
        """Serve ``bodies`` as the pages of ``path``; the last page ends with an ``end``-style cursor.
        ``select(query, item) -> bool`` filters the items of each page (a server-side filter such as status)."""
        self.routes[path] = list(bodies)
        self.ends[path] = end
        if select is not None:
            self.selects[path] = select

    def calls(self, path: str) -> list[dict]:
        with self.lock:
            return [q for p, q, _ in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
