"""Basic behaviour of the local exchange over real HTTP."""

from __future__ import annotations

from decimal import Decimal

from tests.sim.helpers import SimClient, order


def test_public_endpoints_answer(exchange):
    c = SimClient(exchange.base_url)
    assert c.get_json("/exchange/status")["trading_active"] is True
    markets = c.get_json("/markets", {"status": "open", "limit": 5})["markets"]
    assert markets and all(m["status"] == "active" for m in markets)
    book = c.get_json(f"/markets/{markets[0]['ticker']}/orderbook")["orderbook_fp"]
    assert set(book) == {"yes_dollars", "no_dollars"}


def test_limit_out_of_range_is_400_with_kalshi_body(exchange):
    c = SimClient(exchange.base_url)
    for path, bad in (("/markets", 1001), ("/markets/trades", -1), ("/events", 201), ("/events", 0)):
        r = c.get(path, {"limit": bad})
        assert r.status_code == 400, (path, bad)
        assert set(r.json()) == {"code", "message", "details"}


def test_bad_cursor_is_400(exchange):
    r = SimClient(exchange.base_url).get("/markets/trades", {"cursor": "not-a-cursor"})
    assert r.status_code == 400


def test_portfolio_needs_a_valid_signature(exchange, sim_account):
    anon = SimClient(exchange.base_url)
    assert anon.get("/portfolio/balance").status_code == 401
    c = SimClient(exchange.base_url, sim_account)
    assert c.get("/portfolio/balance").status_code == 200
    stale = c.get("/portfolio/balance", ts_ms=1_000_000_000_000)
    assert stale.status_code == 401 and set(stale.json()) == {"code", "message", "details"}
    h = c.headers("GET", "/portfolio/fills")  # signed for another path
    assert anon.s.get(exchange.base_url + "/portfolio/balance", headers=h).status_code == 401


def test_order_roundtrip_and_duplicate_client_order_id(exchange, sim_account):
    c = SimClient(exchange.base_url, sim_account)
    m = c.get_json("/markets", {"status": "open", "series_ticker": "KXHIGHNY", "limit": 1})["markets"][0]
    body = order(m["ticker"], "bid", "3.00", "0.0100", client_order_id="dup-1")
    r = c.post("/portfolio/events/orders", body)
    assert r.status_code == 201, r.text
    oid = r.json()["order_id"]
    assert c.post("/portfolio/events/orders", body).status_code == 409
    got = c.get_json(f"/portfolio/orders/{oid}")["order"]
    assert got["status"] == "resting" and got["remaining_count_fp"] == "3.00"
    r = c.delete(f"/portfolio/events/orders/{oid}")
    assert r.status_code == 200 and r.json()["reduced_by"] == "3.00"
    assert [o["status"] for o in exchange.orders(sim_account.key_id) if o["order_id"] == oid] == ["canceled"]


def test_legacy_order_endpoint_says_switch_to_v2(exchange, sim_account):
    c = SimClient(exchange.base_url, sim_account)
    r = c.post(
        "/portfolio/orders", {"ticker": "X", "side": "yes", "action": "buy", "count": 1, "yes_price": 50}
    )
    assert r.status_code == 400 and "Please switch to the V2 endpoints" in r.json()["message"]


def test_queue_position_and_expiration(fresh_exchange):
    ex = fresh_exchange
    acct = ex.create_account(1_000_000)
    c = SimClient(ex.base_url, acct)
    m = c.get_json("/markets", {"status": "open", "series_ticker": "KXBTC", "limit": 1})["markets"][0]
    book = c.get_json(f"/markets/{m['ticker']}/orderbook")["orderbook_fp"]
    price, size = book["yes_dollars"][-1]
    first = c.post("/portfolio/events/orders", order(m["ticker"], "bid", "2.00", price)).json()["order_id"]
    second = c.post("/portfolio/events/orders", order(m["ticker"], "bid", "1.00", price)).json()["order_id"]
    assert c.get_json(f"/portfolio/orders/{first}/queue_position") == {"queue_position_fp": size}
    from decimal import Decimal

    assert (
        Decimal(c.get_json(f"/portfolio/orders/{second}/queue_position")["queue_position_fp"])
        == Decimal(size) + 2
    )
    qp = c.get_json("/portfolio/orders/queue_positions", {"market_tickers": m["ticker"]})["queue_positions"]
    assert {q["order_id"] for q in qp} == {first, second}
    exp = int(ex.now.timestamp()) + 600
    r = c.post("/portfolio/events/orders", order(m["ticker"], "bid", "1.00", "0.0100", expiration_time=exp))
    assert r.status_code == 201
    oid = r.json()["order_id"]
    ex.advance(300)
    assert c.get_json(f"/portfolio/orders/{oid}")["order"]["status"] == "resting"
    ex.advance(600)
    got = c.get_json(f"/portfolio/orders/{oid}")["order"]
    assert got["status"] == "canceled" and got["expiration_time"].endswith("Z")
    bad = order(m["ticker"], "bid", "1.00", "0.0100", "immediate_or_cancel", expiration_time=exp + 3600)
    assert c.post("/portfolio/events/orders", bad).status_code == 400


def test_self_trade_prevention_and_closing_needs_no_cash(fresh_exchange):
    ex = fresh_exchange
    acct = ex.create_account(1_000)  # $10
    c = SimClient(ex.base_url, acct)
    m = c.get_json("/markets", {"status": "open", "series_ticker": "KXBTC", "limit": 1})["markets"][0]
    book = c.get_json(f"/markets/{m['ticker']}/orderbook")["orderbook_fp"]
    bid = book["yes_dollars"][-1][0]
    ask = f"{1 - float(book['no_dollars'][-1][0]):.4f}"
    rest = c.post("/portfolio/events/orders", order(m["ticker"], "ask", "1.00", ask)).json()
    cross = c.post("/portfolio/events/orders", order(m["ticker"], "bid", "1.00", ask))
    assert cross.status_code == 201
    got = c.get_json(f"/portfolio/orders/{cross.json()['order_id']}")["order"]
    if cross.json()["fill_count"] == "0.00":  # our own ask was first in the queue: taker canceled
        assert got["status"] == "canceled"
    assert c.get_json(f"/portfolio/orders/{rest['order_id']}")["order"]["status"] in ("resting", "executed")
    c.delete("/portfolio/events/orders")
    # buy cheap contracts with most of the cash, then sell them back: a fresh short of that size would need
    # far more cash than is left, but closing needs none
    cheap = [
        x
        for x in c.get_json("/markets", {"status": "open", "limit": 200})["markets"]
        if x["price_level_structure"] == "linear_cent" and "0.0500" <= x["yes_ask_dollars"] <= "0.2500"
    ]
    m = cheap[0]
    top = f"{float(m['yes_ask_dollars']) + 0.02:.4f}"
    buy = c.post("/portfolio/events/orders", order(m["ticker"], "bid", "40.00", top, "immediate_or_cancel"))
    assert buy.status_code == 201, buy.text
    held = Decimal(buy.json()["fill_count"])
    assert held >= 10
    cash = Decimal(c.get_json("/portfolio/balance")["balance_dollars"])
    bid = Decimal(c.get_json(f"/markets/{m['ticker']}")["market"]["yes_bid_dollars"])
    assert held * (1 - bid) > cash  # precondition: a fresh short this size is unaffordable
    sell = c.post(
        "/portfolio/events/orders",
        order(m["ticker"], "ask", f"{held:.2f}", f"{bid:.4f}", "immediate_or_cancel"),
    )
    assert sell.status_code == 201, sell.text
    short = c.post("/portfolio/events/orders", order(m["ticker"], "ask", f"{held * 3:.2f}", f"{bid:.4f}"))
    assert short.status_code == 400 and short.json()["code"] == "insufficient_balance"
