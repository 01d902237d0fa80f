"""A local exchange per module and a factory for runners against it (paper or live)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.lake.store import Lake
from kalshi_extract.orders.front import Orders
from kalshi_extract.settings import Settings
from kalshi_extract.ws import SyncStream
from kalshi_lake.live import LiveRunner, RiskLimits, RunOptions, Selection
from kalshi_sim import LocalExchange


@pytest.fixture
def ex():
    with LocalExchange(seed=7, size="small") as exchange:
        yield exchange


@pytest.fixture
def make_runner(ex, tmp_path):
    made = []

    def make(strategy, mode="paper", *, limits=None, account=None, series=("KXBTC",), **kw):
        acct = account or ex.create_account(1_000_000)
        s = Settings.load({**acct.env, "KALSHI_LAKE_DIR": str(tmp_path)})
        client = KalshiClient(s)
        lake = Lake.from_settings(s)
        limits = limits or RiskLimits(
            max_position=Decimal(4),
            max_total_position=Decimal(10),
            max_orders_per_minute=10_000,
            max_daily_notional=Decimal(100_000),
        )
        opts = kw.pop("options", None) or RunOptions(mode=mode)
        runner = LiveRunner(
            s,
            client,
            strategy,
            Selection(series=series),
            limits,
            opts,
            lake=lake,
            orders=Orders(client, lake) if mode == "live" else None,
            stream_factory=kw.pop("stream_factory", None) or (lambda: SyncStream(s)),
            **kw,
        )
        runner.account = acct
        made.append(runner)
        return runner

    yield make
    for r in made:
        if r.stream is not None:
            r.stream.close()


def writes(ex, key_id=None):
    """Requests that could change anything on the exchange (orders, cancels)."""
    return [
        q
        for q in ex.requests()
        if q["method"] in ("POST", "DELETE", "PUT")
        and "/portfolio" in q["path"]
        and (key_id is None or q["key_id"] == key_id)
    ]
