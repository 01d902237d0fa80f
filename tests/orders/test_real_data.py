"""The order module on genuine recorded Kalshi responses (demo environment, /work/shared/real-data/fortuna_demo)."""

from __future__ import annotations

import json
import pathlib
from decimal import Decimal as D

import pytest

from kalshi_extract.errors import OrderValidationError
from kalshi_extract.orders.results import OrderResult
from kalshi_extract.orders.translate import check_price_on_grid, estimate_fee, price_grid
from kalshi_extract.orders.validate import OPEN_STATUSES, OrderChecker, describe_v2
from tests.shared_paths import REAL_DATA

DEMO = REAL_DATA / "fortuna_demo"
if not DEMO.exists():
    DEMO = pathlib.Path(__file__).resolve().parents[3] / "shared" / "real-data" / "fortuna_demo"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="recorded responses not available")


def _load(name):
    return json.loads((DEMO / name).read_text())


def test_fee_estimate_equals_every_recorded_taker_fill_fee():
    fills = _load("fills__after_taker.json")["fills"]
    assert fills
    for f in fills:
        assert f["is_taker"]
        est = estimate_fee(D(f["count_fp"]), D(f["yes_price_dollars"]))
        assert est == D(f["fee_cost"]), f["fill_id"]


def test_recorded_orders_read_back():
    orders = _load("portfolio__orders_list.json")["orders"]
    for o in orders:
        req = {
            "client_order_id": o["client_order_id"],
            "ticker": o["ticker"],
            "side": o["book_side"],
            "price": o["yes_price_dollars"],
            "count": o["initial_count_fp"],
        }
        r = OrderResult.from_order(o, req, attempts=1)
        assert r.status == o["status"] and r.order_id == o["order_id"]
        assert r.fill_count + r.remaining_count <= D(o["initial_count_fp"])
        assert describe_v2(o["book_side"], D(o["yes_price_dollars"])).startswith(("buy YES", "sell YES"))
    executed = next(o for o in orders if o["order_id"] == "97ec18b7-10d3-4557-9de0-8598aad625f0")
    req = {"client_order_id": "x", "ticker": "t", "side": "bid", "price": "0.9900", "count": "1.00"}
    r = OrderResult.from_order(executed, req, attempts=1)
    assert (r.average_fill_price, r.average_fee_paid) == (D("0.520000"), D("0.017500"))


def test_recorded_market_grids_and_statuses():
    market = _load("markets__single.json")["market"]
    check_price_on_grid(D("0.52"), market)
    with pytest.raises(OrderValidationError, match="0.52 and 0.53"):
        check_price_on_grid(D("0.525"), market)
    markets = _load("markets__high_temp.json")["markets"]
    for m in markets:
        grid = price_grid(m)
        assert grid and all(step > 0 for _, _, step in grid)
    assert {m["status"] for m in markets} & set(OPEN_STATUSES) == {"active"}
    checker = OrderChecker(client=None)
    closed = next(m for m in markets if m["status"] != "active")
    with pytest.raises(OrderValidationError, match="not open for trading"):
        checker.check_open(closed)
