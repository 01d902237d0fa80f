"""kalshi-lake as a benchmark contender: one ``pull`` through the public API, in a child process.

``python -m bench.lake_child --base-url URL --lake-dir DIR --streams trades [--tier unlimited] [--deadline 25]``

Settings come only from the arguments (plus ``--env-json`` for an account's key variables): every ``KALSHI_*``
variable of the harness is stripped by ``bench.common.child_env``. With ``--deadline`` the pull runs in a thread
and the process reports what it did after that many seconds and exits without waiting for the pull to finish —
that bounds the rate-limit test however big the exchange's world is.

Prints one JSON summary line: rows, pages, requests, retries, throttled (429s seen by the client), the seconds spent
inside ``pull`` (``pull_seconds``, no imports), and per-stream results.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import os
import sys
import threading
import time
from dataclasses import asdict, is_dataclass
from typing import Any

T_START = time.perf_counter()


class _HidePandas(importlib.abc.MetaPathFinder):
    """kalshi-lake does not depend on pandas, but pyarrow imports it whenever it is installed (the bench group
    installs it for the seed-style baseline). This finder makes the child look like a plain install."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by --hide-pandas)", name=name)
        return None


def _plain(obj: Any) -> Any:
    if is_dataclass(obj):
        return {k: _plain(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


def main() -> None:
    p = argparse.ArgumentParser(description="kalshi-lake pull as a benchmark contender")
    p.add_argument("--base-url", required=True)
    p.add_argument("--lake-dir", required=True)
    p.add_argument("--streams", default="trades", help="comma list of stream names, or 'all'")
    p.add_argument("--tier", default=None, help="KALSHI_TIER (omit: the client discovers it on loopback)")
    p.add_argument("--deadline", type=float, default=None, help="report and exit after this many seconds")
    p.add_argument("--env-json", default=None, help="JSON object of extra KALSHI_* variables (an account)")
    p.add_argument("--tickers", default=None, help="comma list of market tickers (Selection.tickers)")
    p.add_argument("--series", default=None, help="comma list of series tickers (Selection.series)")
    p.add_argument(
        "--hide-pandas",
        action="store_true",
        help="make pandas unimportable, as in a plain kalshi-lake install (pyarrow imports it when present)",
    )
    args = p.parse_args()
    if args.hide_pandas:
        sys.meta_path.insert(0, _HidePandas())

    environ = {"KALSHI_ENV": "local", "KALSHI_API_URL": args.base_url, "KALSHI_LAKE_DIR": args.lake_dir}
    if args.tier:
        environ["KALSHI_TIER"] = args.tier
    if args.env_json:
        environ.update(json.loads(args.env_json))
    environ["KALSHI_API_URL"] = args.base_url

    from bench.common import cpu_seconds
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.ingest.pull import STREAM_NAMES, Selection, pull
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.settings import Settings

    startup_cpu_s = cpu_seconds()  # interpreter + imports, before the first request
    settings = Settings.load(environ=environ)
    client = KalshiClient(settings)
    lake = Lake.from_settings(settings)
    streams = list(STREAM_NAMES) if args.streams == "all" else args.streams.split(",")
    if not settings.has_key:
        streams = [s for s in streams if s in _PUBLIC]
    sel = Selection(
        tickers=args.tickers.split(",") if args.tickers else None,
        series=args.series.split(",") if args.series else None,
    )
    progress = {"pages": 0, "rows": 0, "t_first_page": None, "t_last_page": None}

    def on_page(stream: str, pages: int, rows: int) -> None:
        now = time.perf_counter()
        progress["pages"] += 1
        progress["rows_last"] = rows
        if progress["t_first_page"] is None:
            progress["t_first_page"] = now
        progress["t_last_page"] = now

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = pull(client, lake, streams, sel, progress=on_page)
        except BaseException as exc:  # reported in the summary, not swallowed: the harness checks it
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    t0 = time.perf_counter()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(args.deadline)
    t1 = time.perf_counter()
    stats = client.stats
    result = outcome.get("result")
    stream_results = _plain(getattr(result, "streams", [])) if result is not None else []
    summary = {
        "contender": "kalshi_lake",
        "pandas_loaded": "pandas" in sys.modules,
        "streams": streams,
        "finished": not worker.is_alive(),
        "error": outcome.get("error"),
        "rows": sum(int(s.get("rows") or 0) for s in stream_results) if stream_results else None,
        "pages": progress["pages"],
        "requests": stats.requests,
        "retries": getattr(stats, "retries", None),
        "throttled": getattr(stats, "throttled_429", None),
        "pull_seconds": t1 - t0,
        "import_seconds": t0 - T_START,
        "startup_cpu_s": startup_cpu_s,
        "first_page_s": None if progress["t_first_page"] is None else progress["t_first_page"] - t0,
        "last_page_s": None if progress["t_last_page"] is None else progress["t_last_page"] - t0,
        "stream_results": stream_results,
        "run_id": getattr(result, "run_id", None),
        "lake_root": str(settings.lake_root),
    }
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    sys.stdout.flush()
    if worker.is_alive():
        os._exit(0)  # the deadline passed: do not wait for the pull (bounded rate-limit test)
    client.close()
    if outcome.get("error"):
        sys.exit(1)


_PUBLIC = {"series", "events", "markets", "trades", "candlesticks", "orderbook_snapshots", "exchange_status"}

if __name__ == "__main__":
    main()
