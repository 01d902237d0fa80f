"""Helpers of the end-to-end lake tests: clients on the local exchange, account activity, lake comparison."""

from __future__ import annotations

import uuid
from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings

META = ("_loaded_at", "_run_id", "date")
EVENT_KEYS = {  # streams whose rows are events: each key exactly once, values identical
    "trades": ("trade_id",),
    "fills": ("fill_id",),
    "settlements": ("ticker", "settled_time"),
    "candlesticks": ("ticker", "period_interval", "end_period_ts"),
}
STATE_KEYS = {  # streams with a row per observed state: compare the latest state of each key
    "markets": ("ticker",),
    "series": ("ticker",),
    "events": ("event_ticker",),
    "orders": ("order_id",),
}
COMPARED = (*EVENT_KEYS, *STATE_KEYS)


def client_and_lake(account, lake_dir) -> tuple[KalshiClient, Lake, dict]:
    env = {**account.env, "KALSHI_LAKE_DIR": str(lake_dir), "KALSHI_CONCURRENCY": "4"}
    settings = Settings.load(environ=env)
    return KalshiClient(settings), Lake.from_settings(settings), env


def trade_some(client, n: int = 4) -> int:
    """Take liquidity in ``n`` open markets and leave a resting bid in each (fills, orders, later settlements)."""
    markets = client.get("/markets", {"status": "open", "limit": 200, "mve_filter": "exclude"})["markets"]
    done = 0
    for m in markets:
        ask = Decimal(m["yes_ask_dollars"])
        if not (0 < ask < 1):
            continue
        low = "0.0100" if m["price_level_structure"] == "linear_cent" else "0.0010"
        for price, count, tif in (
            (m["yes_ask_dollars"], "2.00", "immediate_or_cancel"),
            (low, "3.00", "good_till_canceled"),
        ):
            client.post(
                "/portfolio/events/orders",
                {
                    "ticker": m["ticker"],
                    "side": "bid",
                    "count": count,
                    "price": price,
                    "time_in_force": tif,
                    "self_trade_prevention_type": "taker_at_cross",
                    "client_order_id": str(uuid.uuid4()),
                },
            )
        done += 1
        if done >= n:
            break
    return done


def content(lake: Lake, stream: str) -> dict:
    """Rows of a stream keyed by primary key, without load metadata; asserts each key occurs once (event
    streams) or keeps the latest observed state (state streams)."""
    table = lake.read(stream)
    rows = table.sort_by([("_loaded_at", "ascending")]).to_pylist() if table.num_rows else []
    keys = EVENT_KEYS.get(stream) or STATE_KEYS[stream]
    out: dict = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if stream in EVENT_KEYS:
            assert key not in out, f"{stream}: key {key} landed twice"
        out[key] = {k: v for k, v in row.items() if k not in META}
    return out


def assert_same_lake(a: Lake, b: Lake, streams=COMPARED) -> dict:
    sizes = {}
    for stream in streams:
        ca, cb = content(a, stream), content(b, stream)
        missing, extra = cb.keys() - ca.keys(), ca.keys() - cb.keys()
        assert not missing and not extra, (
            f"{stream}: {len(missing)} rows missing, {len(extra)} extra "
            f"(e.g. {sorted(missing)[:2]} / {sorted(extra)[:2]})"
        )
        for key, row in cb.items():
            assert ca[key] == row, f"{stream} {key}: {ca[key]} != {row}"
        sizes[stream] = len(ca)
    return sizes
