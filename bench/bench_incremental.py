"""Incremental cost: what a scheduled pull costs when little or nothing changed.

Every stream (public, and private with an account on the exchange) is backfilled into a fresh lake; then a
no-change re-run (requests and seconds per stream, requests per *pull partition*: the entries of the stream's
``_state/<stream>.json``, e.g. one ticker × interval for candlesticks, ``all`` for trades; a stream without
per-partition state counts as one); then the exchange's clock is advanced (``/_sim/advance``) once per entry of
``advances`` with a top-up after each, so the requests of top-ups of different sizes can be set against the rows
they brought. Requests are counted by the exchange (its request log), per endpoint template.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from bench.bench_pull import _fresh_dir, _lake_child, start_exchange
from bench.common import BenchError, ratio


def _partitions(lake_root: Path) -> dict[str, dict[str, int]]:
    """Per stream: the pull's own partitions (entries of ``_state/<stream>.json``, per account for private streams: a ticker × interval for
    candlesticks, one ``all`` for trades...; a stream without per-partition state counts as 1) and the lake's
    ``date=`` directories."""
    counts: dict[str, dict[str, int]] = {}
    state_dir = lake_root / "_state"
    if state_dir.exists():
        # public streams: _state/<stream>.json; private ones: _state/<stream>/account=<label>.json (summed)
        for f in sorted([*state_dir.glob("*.json"), *state_dir.glob("*/account=*.json")]):
            try:
                n = len(json.loads(f.read_text()).get("partitions") or {})
            except (ValueError, OSError):
                n = 0
            stream = f.stem if f.parent == state_dir else f.parent.name
            entry = counts.setdefault(stream, {})
            entry["state"] = entry.get("state", 0) + max(n, 1)
    if lake_root.exists():
        for stream_dir in sorted(lake_root.iterdir()):
            if stream_dir.is_dir() and not stream_dir.name.startswith("_"):
                dates = sum(1 for p in stream_dir.iterdir() if p.is_dir() and "=" in p.name)
                counts.setdefault(stream_dir.name, {})["dates"] = dates
    return counts


def _per_stream(summary: dict) -> dict[str, dict[str, Any]]:
    res = {}
    for s in summary.get("stream_results") or []:
        res[s.get("stream")] = {
            k: s.get(k) for k in ("requests", "rows", "pages", "seconds", "outcome", "throttled", "error")
        }
    return res


_TEMPLATES = (
    (
        re.compile(r"/series/[^/]+/markets/[^/]+/candlesticks$"),
        "/series/{series}/markets/{ticker}/candlesticks",
    ),
    (re.compile(r"/series/[^/]+/events/[^/]+/candlesticks$"), "/series/{series}/events/{event}/candlesticks"),
    (re.compile(r"/historical/markets/[^/]+/candlesticks$"), "/historical/markets/{ticker}/candlesticks"),
    (re.compile(r"/markets/[^/]+/orderbook$"), "/markets/{ticker}/orderbook"),
    (re.compile(r"/portfolio/orders/[^/]+$"), "/portfolio/orders/{order_id}"),
)


def _server_by_stream(log: list[dict] | None) -> dict[str, int] | None:
    """Requests per endpoint (ticker-specific paths folded into their template)."""
    if log is None:
        return None
    counts: Counter = Counter()
    for r in log:
        path = str(r.get("path", "?")).replace("/trade-api/v2", "", 1)
        for rx, template in _TEMPLATES:
            if rx.search(path):
                path = rx.sub(template, path)
                break
        counts[path] += 1
    return dict(counts)


def incremental(
    size: int | str = "demo", seed: int = 7, advances: tuple[int, ...] = (3600, 86400)
) -> dict[str, Any]:
    """Backfill every stream, re-run with no change, then advance the exchange and top up, once per advance.

    Two advances of different lengths show whether top-up requests grow with the new data (and only with it)."""
    with start_exchange(size, seed=seed) as ex:
        if not ex.is_sim:
            raise BenchError("the incremental benchmark needs the local exchange")
        acct = ex.sim.create_account(balance_cents=10_000_00)
        env = {k: v for k, v in acct.env.items() if k != "KALSHI_API_URL"}
        lake_dir = _fresh_dir("incremental")
        runs: dict[str, Any] = {"advances": list(advances), "top_ups": []}
        steps = [("backfill", 0), ("no_change", 0), *((f"top_up_{a}s", a) for a in advances)]
        for label, advance in steps:
            if advance:
                ex.sim.advance(seconds=advance)
            ex.clear_requests()
            child = _lake_child(ex, lake_dir, "all", tier="unlimited", env_json=env)
            log = ex.request_log()
            child.check()
            runs[label] = {
                "advance_s": advance,
                "wall_s": child.wall_s,
                "pull_seconds": child.summary.get("pull_seconds"),
                "requests": len(log) if log is not None else child.summary.get("requests"),
                "error": child.summary.get("error"),
                "streams": _per_stream(child.summary),
                "server_requests_by_path": _server_by_stream(log),
            }
            if advance:
                runs["top_ups"].append(label)
            if label == "backfill":
                runs["partitions_after_backfill"] = _partitions(Path(child.summary["lake_root"]))
    parts = runs["partitions_after_backfill"]
    per_partition = {}
    for stream, st in runs["no_change"]["streams"].items():
        n_parts = parts.get(stream, {}).get("state", 1)
        per_partition[stream] = {
            "requests": st.get("requests"),
            "partitions": n_parts,
            "date_partitions": parts.get(stream, {}).get("dates", 0),
            "requests_per_partition": (st.get("requests") or 0) / n_parts,
        }
    runs["no_change_requests_per_partition"] = per_partition
    runs["no_change_max_requests_per_partition"] = max(
        (v["requests_per_partition"] for v in per_partition.values()), default=None
    )
    runs["trades_rows_per_request"] = {
        label: ratio(
            runs[label]["streams"].get("trades", {}).get("rows"),
            runs[label]["streams"].get("trades", {}).get("requests"),
        )
        for label in ("backfill", *runs["top_ups"])
    }
    return runs
