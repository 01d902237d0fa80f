"""``python -m kalshi_sim serve [--host] [--port] [--seed] [--size] [--tier] [--faults JSON] [--ws-heartbeat S]
[--ws-max-queue N]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from kalshi_sim.serve import serve


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m kalshi_sim")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the local exchange in the foreground")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--size", default="small")
    s.add_argument("--tier", default=None)
    s.add_argument("--faults", default=None, help='JSON object, e.g. {"error_rate": 0.1}')
    s.add_argument("--keys-dir", default=None, help="directory of public keys made by keygen")
    s.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process exits")
    s.add_argument(
        "--ws-heartbeat", type=float, default=10.0, help="seconds between WebSocket heartbeat pings"
    )
    s.add_argument(
        "--ws-max-queue", type=int, default=50_000, help="frames a WebSocket client may fall behind"
    )
    a = p.parse_args(argv)
    serve(
        a.host,
        a.port,
        a.seed,
        a.size,
        a.tier,
        a.faults,
        Path(a.keys_dir).expanduser() if a.keys_dir else None,
        exit_with_parent=a.exit_with_parent,
        ws_heartbeat=a.ws_heartbeat,
        ws_max_queue=a.ws_max_queue,
    )


if __name__ == "__main__":
    main()
