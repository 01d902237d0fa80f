"""The recorder with a key that trades: its own order's ``client_order_id`` (and ``subaccount``) land on the
ws_book delta rows that order caused, and ``order_group_updates`` messages land in ``ws_order_groups`` (one row per
message, with ``seq``), all against the local exchange through the project's order module."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.recorder import Recorder
from kalshi_extract.ingest.recorder_plan import plan_record
from kalshi_extract.orders.front import Orders
from kalshi_extract.orders.journal import MemoryJournal
from kalshi_sim import LocalExchange
from tests.orders.helpers import open_markets
from tests.record.helpers import FAST, Running, account_settings

pytestmark = pytest.mark.slow


def test_own_deltas_and_order_groups_land(tmp_path):
    with LocalExchange(seed=11, size="small") as ex:
        acct = ex.create_account(balance_cents=10_000_00)
        settings = account_settings(ex, acct, tmp_path)
        with KalshiClient(settings) as client:
            assert client.create_subaccount() == 1
            client.transfer_between_subaccounts(0, 1, 50_000)
            m = next(x for x in open_markets(client, 50) if Decimal(x["yes_bid_dollars"]) >= Decimal("0.20"))
            t = m["ticker"]
            plan = plan_record(settings, tickers=[t], flush_seconds=0.2)
            assert "order_group_updates" in plan.channels  # a private channel: recorded by default with a key
            rec = Recorder(settings, plan, options=FAST, run_id="own")
            running = Running(rec)
            orders = Orders(client, journal=MemoryJournal())
            price = Decimal(m["yes_bid_dollars"]).quantize(Decimal("0.01")) - Decimal("0.10")
            g = orders.groups.create(5)
            orders.groups.update_limit(g, 7)
            mine = orders.buy(t, "yes", 2, price, client_order_id="rec-own-1", order_group_id=g)
            orders.buy(t, "yes", 3, price - Decimal("0.01"), client_order_id="rec-own-sub", subaccount=1)
            orders.cancel(mine.order_id)
            orders.groups.delete(g)
            ex.advance(300)
            running.settle()
            running.stop()
    book = [r for r in rec.lake.read("ws_book").to_pylist() if r["kind"] == "delta"]
    own = [
        (r["client_order_id"], r["subaccount"], r["price_dollars"], r["quantity_fp"])
        for r in book
        if r["client_order_id"]
    ]
    p = Decimal(f"{price:.4f}")
    assert own == [
        ("rec-own-1", None, p, Decimal(2)),
        ("rec-own-sub", 1, p - Decimal("0.01"), Decimal(3)),
        ("rec-own-1", None, p, Decimal(-2)),
    ]
    assert all(r["subaccount"] is None for r in book if not r["client_order_id"])
    groups = sorted(rec.lake.read("ws_order_groups").to_pylist(), key=lambda r: r["seq"])
    assert [(r["order_group_id"], r["event_type"], r["contracts_limit_fp"], r["seq"]) for r in groups] == [
        (g, "created", Decimal(5), 1),
        (g, "limit_updated", Decimal(7), 2),
        (g, "deleted", None, 3),
    ]
    assert all(r["ts"] is not None and r["_account"] == "rec-test" for r in groups)
    assert all(r["_extra"] is None for r in groups)
    assert not [r for r in rec.lake.read("ws_lifecycle").to_pylist() if r["type"] == "order_group_updates"]
