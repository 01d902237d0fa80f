"""The live runner against the local exchange: paper places nothing, limits hold over simulated hours, the kill
switch cancels everything, a stale feed stops new orders, a restart never sends an order twice."""

from __future__ import annotations

from decimal import Decimal

from kalshi_lake.backtest import make_strategy
from kalshi_lake.live import RiskLimits, RunOptions
from tests.live.conftest import writes
from tests.live.strategies import Greedy, RestOnce


def _positions(runner) -> dict[str, Decimal]:
    body = runner.client.get("/portfolio/positions", {"limit": 1000})
    return {p["ticker"]: Decimal(p["position_fp"]) for p in body["market_positions"]}


def test_paper_mode_sends_no_order_request_whatever_the_strategy_does(ex, make_runner):
    strat = Greedy()
    runner = make_runner(strat, "paper")
    ex.clear_requests()
    runner.start()
    for _ in range(6):
        ex.advance(600)
        runner.pump(0.3)
    summary = runner.stop()
    assert summary["orders"] >= 10  # it tried
    assert writes(ex) == []  # nothing left the process
    assert runner.engine.desk is None
    assert all(o.status != "open" for o in runner.engine.orders)  # stop cancelled the paper orders
    assert any(r.startswith("risk: ") for r in strat.rejects)  # the gate works on paper too


def test_live_threshold_for_simulated_hours_never_exceeds_the_limits(ex, make_runner):
    strat = make_strategy("threshold", {"size": "2", "buy_below": "0.45", "sell_above": "0.55"})
    runner = make_runner(strat, "live")
    runner.start()
    for _ in range(18):  # three simulated hours
        ex.advance(600)
        runner.pump(0.3)
        pos = _positions(runner)
        assert all(abs(v) <= 4 for v in pos.values()), pos
        assert sum(abs(v) for v in pos.values()) <= 10, pos
    summary = runner.stop()
    assert writes(ex, runner.account.key_id), "the strategy never traded: the test proves nothing"
    assert summary["positions"] == {t: f"{v:.2f}" for t, v in _positions(runner).items() if v}
    rows = runner.lake.read("live_orders").to_pylist()
    assert {r["event"] for r in rows} >= {"accepted"}


def test_kill_switch_cancels_resting_orders_and_stops(ex, make_runner, tmp_path):
    stop = tmp_path / "STOP"
    runner = make_runner(Greedy(), "live", stop_file=str(stop))
    runner.start()
    for _ in range(3):
        ex.advance(600)
        runner.pump(0.3)
    assert any(o["status"] == "resting" for o in ex.orders(runner.account.key_id)), [
        (o.status, o.reason) for o in runner.engine.orders
    ]
    stop.touch()
    summary = runner.run(seconds=5)
    assert summary["reason"].startswith("kill switch")
    assert not [o for o in ex.orders(runner.account.key_id) if o["status"] == "resting"]
    kinds = {r["event"] for r in runner.lake.read("live_sessions").to_pylist()}
    assert "killed" in kinds


def test_a_stale_feed_stops_new_orders(ex, make_runner):
    now = [1000.0]
    limits = RiskLimits(
        max_data_age_s=Decimal(5), max_orders_per_minute=10_000, max_daily_notional=Decimal(10**5)
    )
    strat = Greedy()
    runner = make_runner(
        strat, "live", limits=limits, options=RunOptions(mode="live", poll_s=10**9), clock=lambda: now[0]
    )
    runner.start()
    for mi in range(len(runner.engine.books)):
        runner.engine.ws_suspect(mi)  # the WebSocket books are lost, and REST polling is off
    now[0] += 60
    ex.clear_requests()
    ex.advance(1800)
    runner.pump(0.3)
    assert strat.rejects and all("stale feed" in r for r in strat.rejects)
    assert not [q for q in writes(ex) if q["method"] == "POST"]
    runner.options.poll_s = 1  # the REST fallback comes back: books are fresh again
    runner.poll_books(force=True)
    assert all(runner.engine.data_age(mi) == 0 for mi in range(len(runner.engine.books)))
    runner.stop()


def test_restart_adopts_its_orders_and_never_sends_one_twice(ex, make_runner):
    acct = ex.create_account(1_000_000)
    first = make_runner(
        RestOnce(), "live", account=acct, options=RunOptions(mode="live", cancel_on_stop=False)
    )
    first.start()
    assert len([q for q in writes(ex, acct.key_id) if q["method"] == "POST"]) == 1
    first.stream.close()  # the process dies: no stop, no cancel
    first.stream = None
    second = make_runner(
        RestOnce(), "live", account=acct, options=RunOptions(mode="live", cancel_on_stop=False)
    )
    second.start()
    assert second.reconciles[0]["adopted"] == 1
    assert len(second.engine.open_orders()) == 1
    assert len([q for q in writes(ex, acct.key_id) if q["method"] == "POST"]) == 1
    assert [o["status"] for o in ex.orders(acct.key_id)] == ["resting"]
    second.stop()
