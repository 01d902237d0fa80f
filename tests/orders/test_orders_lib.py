"""The library API (`kalshi_extract.orders.front.Orders`) against the local exchange: batches, raw V2, lookups, settlement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.api.http import RetryPolicy
from kalshi_extract.errors import OrderValidationError
from kalshi_extract.lake.store import Lake
from kalshi_extract.orders.front import Orders
from kalshi_extract.settings import Settings
from tests.orders.helpers import open_markets, order_posts, resting_price

pytestmark = pytest.mark.slow


@pytest.fixture
def session(exchange, tmp_path):
    acct = exchange.create_account(balance_cents=1_000_00)
    env = {**acct.env, "KALSHI_LAKE_DIR": str(tmp_path / "data")}
    settings = Settings.load(environ=env)
    with KalshiClient(settings) as c:
        yield acct, c, Orders(c, Lake.from_settings(settings)), open_markets(c)


def _low(m) -> Decimal:
    return resting_price(m)


def test_batch_place_queue_position_and_batch_cancel(session, exchange):
    acct, c, orders, markets = session
    m = markets[0]
    low = _low(m)
    reqs = [
        {
            "ticker": m["ticker"],
            "side": "bid",
            "count": "2.00",
            "price": f"{low:.4f}",
            "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "taker_at_cross",
        },
        {
            "ticker": m["ticker"],
            "side": "ask",
            "count": "1.00",
            "price": "0.9900",
            "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "maker",
        },
    ]
    results = orders.place_batch(reqs)
    assert [r.outcome for r in results] == ["accepted", "accepted"]
    assert all(r.status == "resting" and r.order_id for r in results)
    mine = {o["order_id"]: o for o in exchange.orders(acct.key_id)}
    assert {r.order_id for r in results} <= set(mine)
    found = orders.find_by_client_order_id(results[1].client_order_id, m["ticker"])
    assert found and found["order_id"] == results[1].order_id
    cancelled = orders.cancel_batch([r.order_id for r in results])
    assert [w.outcome for w in cancelled] == ["accepted", "accepted"]
    assert {o["status"] for o in exchange.orders(acct.key_id)} == {"canceled"}


def test_queue_position(session, exchange):
    acct, c, orders, markets = session
    res = orders.buy(markets[0]["ticker"], "yes", 1, _low(markets[0]))
    try:
        pos = orders.queue_position(res.order_id)
    finally:
        orders.cancel(res.order_id)
    assert isinstance(pos, Decimal) and pos >= 0


def test_place_raw_v2_and_amend_in_no_terms(session, exchange):
    acct, c, orders, markets = session
    m = markets[1]
    low = _low(m)
    res = orders.place(
        {
            "ticker": m["ticker"],
            "side": "bid",
            "count": "4.00",
            "price": f"{low:.4f}",
            "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "taker_at_cross",
        }
    )
    assert res.outcome == "accepted" and res.client_order_id  # assigned before sending
    new_no = Decimal(1) - (low - Decimal("0.01") if low > Decimal("0.01") else low)
    w = orders.amend(res.order_id, price=new_no, outcome="no")
    assert w.outcome == "accepted"
    o = orders.get_order(res.order_id)
    assert Decimal(o["yes_price_dollars"]) == Decimal(1) - new_no
    w = orders.decrease(res.order_id, reduce_to=0)
    o = orders.get_order(res.order_id)
    assert o["status"] != "resting" or Decimal(o["remaining_count_fp"]) == 0
    with pytest.raises(OrderValidationError, match="not resting"):
        orders.cancel(res.order_id)
    with pytest.raises(OrderValidationError, match="no order"):
        orders.get_order("00000000-0000-0000-0000-000000000000")


def test_a_prepared_change_is_sent_exactly_as_prepared(session, exchange):
    acct, c, orders, markets = session
    m = markets[0]
    res = orders.buy(m["ticker"], "yes", 2, _low(m))
    pw = orders.prepare_amend(res.order_id, count=3)  # what a confirmation shows ...
    assert orders.submit_change(pw).outcome == "accepted"  # ... is what is sent: same updated_client_order_id
    o = orders.get_order(res.order_id)
    assert o["client_order_id"] == pw.body["updated_client_order_id"] and o["remaining_count_fp"] == "3.00"
    pw = orders.prepare_cancel_all()
    assert [o["order_id"] for o in pw.resting] == [res.order_id]
    exchange.clear_requests()
    assert orders.submit_change(pw).action == "cancel_all"
    assert [(r["method"], r["path"].endswith(pw.path)) for r in order_posts(exchange)] == [("DELETE", True)]
    assert orders.get_order(res.order_id)["status"] == "canceled"


def test_library_validation_sends_nothing(session, exchange):
    acct, c, orders, markets = session
    m = markets[0]
    exchange.clear_requests()
    for args in [
        (m["ticker"], "yes", 0, "0.5"),
        (m["ticker"], "yes", -3, "0.5"),
        (m["ticker"], "yes", 1, "0"),
        (m["ticker"], "yes", 1, "1.00"),
        (m["ticker"], "yes", 1, "0.455"),
        ("KXNOPE-1", "yes", 1, "0.5"),
    ]:
        with pytest.raises(OrderValidationError):
            orders.buy(*args)
    assert order_posts(exchange) == []


def test_settled_position_shows_in_settlements(fresh_exchange, make_cli):
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_00)
    cli = make_cli(acct)
    with KalshiClient(Settings.load(environ=acct.env)) as c:
        markets = open_markets(c, n=200)

    def close(m):
        return dt.datetime.fromisoformat(m["close_time"].replace("Z", "+00:00"))

    m = min(markets, key=close)
    ask = Decimal(m["yes_ask_dollars"])
    out = cli.json("buy", m["ticker"], "yes", "2", f"{ask}", "--tif", "ioc")
    assert Decimal(out["result"]["fill_count"]) > 0
    wait = (close(m) - ex.now).total_seconds() + int(m.get("settlement_timer_seconds") or 0) + 3600
    ex.advance(seconds=max(60, int(wait)))
    rows = cli.json("settlements")
    assert m["ticker"] in [s["ticker"] for s in rows]
    assert m["ticker"] in cli.ok("settlements").output


def test_exactly_once_under_injected_5xx_and_resets(fresh_exchange, tmp_path):
    """5xx before processing (resend) and connection resets after processing (lookup) on every request."""
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_00)
    settings = Settings.load(environ={**acct.env, "KALSHI_LAKE_DIR": str(tmp_path / "data")})
    fast = RetryPolicy(max_retries=10, backoff_base=0.001, backoff_cap=0.01)  # reads retry fast in this test
    with KalshiClient(settings, retry=fast) as c:
        m = open_markets(c)[0]
        orders = Orders(c, Lake.from_settings(settings), max_attempts=10, sleep=lambda s: None)
        ex.clear_requests()
        ex.set_faults(error_rate=0.3, reset_rate=0.3)
        try:
            results = [orders.buy(m["ticker"], "yes", 1, resting_price(m)) for _ in range(8)]
            cancels = [orders.cancel(r.order_id) for r in results]
        finally:
            ex.set_faults(error_rate=0.0, reset_rate=0.0)
    mine = ex.orders(acct.key_id)
    assert len(mine) == 8  # one order per buy, whatever the faults did
    assert sorted(o["client_order_id"] for o in mine) == sorted(r.client_order_id for r in results)
    assert {o["status"] for o in mine} == {"canceled"}
    posts = [r for r in order_posts(ex) if r["method"] == "POST"]
    assert len(posts) > 8, "the faults should have forced some re-sends"
    outcomes = {r.outcome for r in results} | {w.outcome for w in cancels}
    assert "resolved" in outcomes, "some answers should have been lost and resolved by lookup"


def test_orders_pending_settles_an_intent_whose_outcome_was_lost(exchange, make_cli, tmp_path):
    from kalshi_extract.orders.journal import LakeJournal, pending_intents

    acct = exchange.create_account(balance_cents=1_000_00)
    lake_dir = tmp_path / "data"  # the same directory make_cli uses
    settings = Settings.load(environ={**acct.env, "KALSHI_LAKE_DIR": str(lake_dir)})
    lake = Lake.from_settings(settings)

    class DiesAfterSending(LakeJournal):  # the process "dies" before the outcome reaches the journal
        def write(self, events):
            if all(e.phase == "intent" for e in events):
                super().write(events)
            else:
                raise OSError("killed")

    with KalshiClient(settings) as c:
        m = open_markets(c)[0]
        res = Orders(c, journal=DiesAfterSending(lake, account=settings.account)).buy(
            m["ticker"], "yes", 1, resting_price(m)
        )
    journal = LakeJournal(lake, account=settings.account)
    assert [r["client_order_id"] for r in pending_intents(journal.rows())] == [res.client_order_id]
    cli = make_cli(acct)
    settled = cli.json("orders", "--pending")
    assert settled == [{"client_order_id": res.client_order_id, "order": settled[0]["order"]}]
    assert settled[0]["order"]["order_id"] == res.order_id
    assert pending_intents(journal.rows()) == []
    assert cli.json("orders", "--pending") == []
    cli.ok("cancel", res.order_id)
