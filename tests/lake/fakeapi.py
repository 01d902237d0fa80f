"""A tiny loopback HTTP server that serves canned Kalshi responses page by page (for the lake's tests).

Routes map a path (relative to ``/trade-api/v2``) to a list of page bodies; the server rewrites only the
``cursor`` value of each body so the pages chain (``c1``, ``c2``, … then ``""``) and serves every other byte as
recorded. A route may also be a callable ``(query: dict) -> bytes`` for dynamic answers.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_CURSOR = re.compile(rb'"cursor"\s*:\s*"[^"]*"')


def chain(bodies: list[bytes]) -> list[bytes]:
    """Rewrite the cursor of each page so that page i points to page i+1 and the last page ends the list."""
    out = []
    for i, body in enumerate(bodies):
        nxt = f"c{i + 1}".encode() if i + 1 < len(bodies) else b""
        if _CURSOR.search(body):
            body = _CURSOR.sub(b'"cursor": "' + nxt + b'"', body, count=1)
        elif nxt:
            raise ValueError("a page without a cursor field cannot be chained")
        out.append(body)
    return out


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[str, object] = {}
        self.requests: list[tuple[str, dict]] = []
        # Date header: "now" = this machine's clock (http.server's default), None = none, else sent as is
        self.date: str | None = "now"
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                path = parts.path.removeprefix("/trade-api/v2")
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                api.requests.append((path, query))
                route = api.routes.get(path)
                if route is None:
                    self._send(404, b'{"error": {"code": "not_found", "message": "no such route"}}')
                    return
                if callable(route):
                    self._send(200, route(query))
                    return
                cursor = query.get("cursor")
                index = int(cursor[1:]) if cursor else 0
                self._send(200, route[index])

            def _send(self, status: int, body: bytes) -> None:
                self.send_response_only(status)
                if api.date is not None:
                    self.send_header("Date", self.date_time_string() if api.date == "now" else api.date)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/trade-api/v2"

    def pages(self, path: str, bodies: list[bytes]) -> None:
        self.routes[path] = chain(bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
