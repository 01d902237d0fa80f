"""DEV AID ONLY: a tiny loopback server that serves a trade tape in the real API shape.

Not a benchmark target: the benchmarks run against ``kalshi_sim.LocalExchange``. This exists so the harness and the
baselines can be developed and smoke-tested without the local exchange (``python -m bench --dev-server``). It
serves ``GET /trade-api/v2/markets/trades`` (``limit``, ``cursor``, newest first, empty cursor at the end) and
``GET /trade-api/v2/historical/trades`` (empty), nothing else.

Usage: ``python -m bench.devserver --trades 5000`` prints ``{"base_url": ...}`` and serves until killed.
"""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_T0 = datetime(2026, 11, 1, tzinfo=UTC)


def make_trade(i: int) -> dict:
    """The i-th trade (0 = oldest), deterministic."""
    yes = 1 + (i * 37) % 98
    ts = _T0 + timedelta(seconds=i * 0.75)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"
    return {
        "trade_id": str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15 + 12345) % (1 << 128))),
        "ticker": f"KXDEV-26NOV{(i % 28) + 1:02d}-T{i % 50}",
        "count_fp": f"{1 + i % 250}.{(i * 7) % 100:02d}",
        "yes_price_dollars": f"0.{yes:02d}00",
        "no_price_dollars": f"0.{100 - yes:02d}00",
        "taker_outcome_side": "yes" if i % 3 else "no",
        "taker_book_side": "bid" if i % 3 else "ask",
        "created_time": text,
        "is_block_trade": i % 97 == 0,
    }


def serve(n_trades: int, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            q = parse_qs(parts.query)
            if parts.path == "/trade-api/v2/historical/trades":
                return self._json({"trades": [], "cursor": ""})
            if parts.path != "/trade-api/v2/markets/trades":
                return self._json({"code": "not_found", "message": "not found", "details": ""}, 404)
            limit = min(int(q.get("limit", ["100"])[0]), 1000)
            cur = q.get("cursor", [""])[0]
            offset = int(base64.urlsafe_b64decode(cur.encode()).decode()) if cur else 0
            # newest first: offset 0 is trade n-1
            idx = range(n_trades - 1 - offset, max(n_trades - 1 - offset - limit, -1), -1)
            trades = [make_trade(i) for i in idx]
            nxt = offset + len(trades)
            cursor = base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < n_trades else ""
            self._json({"trades": trades, "cursor": cursor})

        def _json(self, obj, status=200):
            body = json.dumps(obj, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    p = argparse.ArgumentParser(description="dev-only trade tape server")
    p.add_argument("--trades", type=int, default=5000)
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    httpd = serve(a.trades, a.port)
    print(json.dumps({"base_url": f"http://127.0.0.1:{httpd.server_address[1]}/trade-api/v2"}), flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
