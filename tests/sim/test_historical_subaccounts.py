"""``/historical/fills`` and ``/historical/orders`` have no ``subaccount`` parameter (spec v3.21: ticker, max_ts,
limit, cursor) and answer every subaccount's rows, each with its ``subaccount_number`` (Fill, Order). The lake reads
them once (not per subaccount: that would land each row once per subaccount) and keys them by ``fill_id`` /
``order_id``; a subaccount's fill and order archived before the cutoff land with their subaccount."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pyarrow.compute as pc
import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.ingest.streams import STREAMS
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_sim import LocalExchange

pytestmark = pytest.mark.slow


def test_archived_fills_and_orders_keep_their_subaccount(tmp_path):
    assert not STREAMS["fills"].per_subaccount and not STREAMS["orders"].per_subaccount
    with LocalExchange(seed=3, size="tiny") as ex:
        acct = ex.create_account(balance_cents=100_000)
        settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
        with KalshiClient(settings) as c:
            assert c.create_subaccount() == 1
            c.transfer_between_subaccounts(0, 1, 50_000)
            m = next(
                m
                for m in c.get_markets(status="open")
                if Decimal("0.05") <= Decimal(m["yes_ask_dollars"]) <= Decimal("0.95")
            )
            body = {
                "ticker": m["ticker"],
                "side": "bid",
                "count": "1.00",
                "price": m["yes_ask_dollars"],
                "time_in_force": "immediate_or_cancel",
                "self_trade_prevention_type": "taker_at_cross",
                "client_order_id": str(uuid.uuid4()),
                "subaccount": 1,
            }
            oid = c.post("/portfolio/events/orders", body)["order_id"]
            ex.advance(4 * 86_400)  # past the cutoff (tiny: 2 days behind now)
            hist = c.get("/historical/fills", {"limit": 1000})["fills"]
            assert [f["subaccount_number"] for f in hist if f["order_id"] == oid] == [1]
            # the parameter is not the historical endpoint's: rows of every subaccount whatever is sent
            assert c.get("/historical/fills", {"limit": 1000, "subaccount": 0})["fills"] == hist

            lake = Lake.from_settings(settings)
            result = pull(c, lake, ["fills", "orders"], Selection())
            assert result.ok, [(s.stream, s.error) for s in result.streams]
        asked = {r["path"].split("/trade-api/v2")[-1] for r in ex.requests()}
        assert {"/historical/fills", "/historical/orders"} <= asked
    fills = lake.read("fills").to_pylist()
    mine = [f for f in fills if f["order_id"] == oid]
    assert [f["subaccount_number"] for f in mine] == [1]
    assert len(fills) == len(set(pc.unique(lake.read("fills", ["fill_id"]).column("fill_id")).to_pylist()))
    orders = [o for o in lake.read("orders").to_pylist() if o["order_id"] == oid]
    assert orders and {o["subaccount_number"] for o in orders} == {1}
