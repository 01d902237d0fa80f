"""Fills that happen while the runner cannot hear them (the WebSocket is down, or the runner is not running) are
caught up over REST by the reconcile that follows — after the reconnect, or at the next start — and reach the
strategy's ``on_fill`` and the lake exactly once."""

from __future__ import annotations

import time
from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.settings import Settings
from kalshi_extract.ws import StreamOptions, SyncStream
from kalshi_lake.backtest import Strategy
from kalshi_lake.live import RunOptions


class RestAt(Strategy):
    """Rests one bid of ``size`` at ``price`` on ``ticker`` (unless it has an order or a position there) and
    remembers every fill it is told of."""

    name = "rest_at"
    defaults = {"ticker": "", "price": "0.5", "size": "2"}

    def on_start(self, ctx):
        self.seen = []
        t = self.params["ticker"]
        if not ctx.open_orders(t) and ctx.position(t) == 0:
            ctx.buy(t, Decimal(self.params["size"]), Decimal(self.params["price"]))

    def on_fill(self, ctx, fill):
        self.seen.append((fill.ticker, fill.count, fill.yes_price))


def _room(ex, acct) -> tuple[str, Decimal]:
    """A KXBTC market with a price strictly inside its spread: a bid there is the best, the next sell hits it."""
    with KalshiClient(Settings.load(acct.env)) as c:
        markets = c.get("/markets", {"series_ticker": "KXBTC", "status": "open", "limit": 1000})["markets"]
        for m in sorted(markets, key=lambda m: m["ticker"]):
            ob = c.get(f"/markets/{m['ticker']}/orderbook")["orderbook_fp"]
            bid = max((Decimal(p) for p, _ in ob.get("yes_dollars") or ()), default=Decimal(0))
            ask = Decimal(1) - max((Decimal(p) for p, _ in ob.get("no_dollars") or ()), default=Decimal(0))
            if ask - bid >= Decimal("0.03"):
                return m["ticker"], bid + Decimal("0.01")
    raise AssertionError("no market with a spread of 3 ticks: pick another seed")


def _sell_into(ex, ticker, price, count) -> None:
    """Another account sells ``count`` YES at ``price`` (IOC): it hits the runner's bid."""
    other = ex.create_account(1_000_000)
    with KalshiClient(Settings.load(other.env)) as c:
        c.post(
            "/portfolio/events/orders",
            {
                "ticker": ticker,
                "side": "ask",
                "count": str(count),
                "price": f"{price:.2f}",
                "time_in_force": "immediate_or_cancel",
                "self_trade_prevention_type": "taker_at_cross",
                "client_order_id": f"seller-{time.time_ns()}",
            },
        )


def _positions(runner) -> dict[str, Decimal]:
    body = runner.client.get("/portfolio/positions", {"limit": 1000})
    return {
        p["ticker"]: Decimal(p["position_fp"]) for p in body["market_positions"] if Decimal(p["position_fp"])
    }


def test_a_fill_during_a_websocket_cut_is_caught_up_once_after_the_reconnect(ex, make_runner):
    acct = ex.create_account(1_000_000)
    ticker, price = _room(ex, acct)
    strat = RestAt(ticker=ticker, price=str(price))
    settings = Settings.load(acct.env)
    # a slow first reconnect (2-4 s): the fill certainly happens while no connection is subscribed to `fill`
    runner = make_runner(
        strat,
        "live",
        account=acct,
        stream_factory=lambda: SyncStream(settings, options=StreamOptions(backoff_initial=4.0)),
    )
    runner.start()
    assert [o["status"] for o in ex.orders(acct.key_id)] == ["resting"]
    ex.set_faults(ws_cut_connections=1)
    time.sleep(0.2)
    _sell_into(ex, ticker, price, 2)
    deadline = time.monotonic() + 20
    while not any(r["why"] == "reconnected" for r in runner.reconciles):
        assert time.monotonic() < deadline, "no reconnect"
        runner.step(0.2)
    runner.pump(0.5)
    rec = next(r for r in runner.reconciles if r["why"] == "reconnected")
    assert rec["missed_fills"] == 1  # the REST catch-up found it (the WebSocket never delivered it)
    assert strat.seen == [(ticker, 200, int(price * 1_000_000))]
    assert runner.engine.books[runner.engine.index[ticker]].pos == 200
    assert _positions(runner) == {ticker: Decimal(2)}
    summary = runner.stop()
    assert summary["positions"] == {ticker: "2.00"}
    rows = runner.lake.read("live_fills").to_pylist()
    assert len(rows) == 1 and rows[0]["via"] == "rest" and rows[0]["fill_id"]
    done = [r for r in runner.lake.read("live_orders").to_pylist() if r["event"] == "filled"]
    assert [(r["ticker"], r["status"]) for r in done] == [(ticker, "filled")]
    assert strat.seen == [(ticker, 200, int(price * 1_000_000))]  # the stop's reconcile did not replay it


def test_a_fill_while_the_runner_is_down_reaches_the_restarted_strategy_once(ex, make_runner):
    acct = ex.create_account(1_000_000)
    ticker, price = _room(ex, acct)
    params = {"ticker": ticker, "price": str(price)}
    opts = RunOptions(mode="live", cancel_on_stop=False, inflight_grace_s=0)
    first = make_runner(RestAt(**params), "live", account=acct, options=opts)
    first.start()
    first.stream.close()  # the process dies: no stop, no cancel
    first.stream = None
    _sell_into(ex, ticker, price, 1)  # a partial fill while nobody listens
    strat = RestAt(**params)
    second = make_runner(strat, "live", account=acct, options=opts)
    second.start()
    assert second.reconciles[0]["missed_fills"] == 1
    assert strat.seen == [(ticker, 100, int(price * 1_000_000))]  # told after on_start, once
    assert [o["status"] for o in ex.orders(acct.key_id)] == ["resting"]  # not placed again
    second.stream.close()
    second.stream = None
    third_strat = RestAt(**params)
    third = make_runner(third_strat, "live", account=acct, options=opts)
    third.start()  # the lake knows that fill now: not replayed
    assert third.reconciles[0]["missed_fills"] == 0 and third_strat.seen == []
    third.stop("done")
    rows = third.lake.read("live_fills").to_pylist()
    assert [r["via"] for r in rows] == ["rest"]
    assert _positions(third) == {ticker: Decimal(1)}


def test_a_fill_between_the_start_reconcile_and_the_subscription_is_caught_up(ex, make_runner):
    acct = ex.create_account(1_000_000)
    ticker, price = _room(ex, acct)
    params = {"ticker": ticker, "price": str(price)}
    opts = RunOptions(mode="live", cancel_on_stop=False, inflight_grace_s=0)
    first = make_runner(RestAt(**params), "live", account=acct, options=opts)
    first.start()
    first.stream.close()  # the process dies with its bid resting
    first.stream = None
    settings = Settings.load(acct.env)

    def connect_after_a_fill():  # called after the start's reconcile, before the fill channel is subscribed
        _sell_into(ex, ticker, price, 2)
        return SyncStream(settings)

    strat = RestAt(**params)
    second = make_runner(strat, "live", account=acct, options=opts, stream_factory=connect_after_a_fill)
    second.start()
    second.pump(0.5)
    assert [r["why"] for r in second.reconciles[:2]] == ["start", "subscribed"]
    assert second.reconciles[0]["missed_fills"] == 0 and second.reconciles[1]["missed_fills"] == 1
    assert strat.seen == [(ticker, 200, int(price * 1_000_000))]
    assert second.engine.books[second.engine.index[ticker]].pos == 200
    second.stop("done")
    assert strat.seen == [(ticker, 200, int(price * 1_000_000))]
    assert len(second.lake.read("live_fills").to_pylist()) == 1
