"""Closed loop: trades placed on the local exchange -> pulled into the lake -> built -> fct_pnl equals the exchange's
own accounting to the cent, first with the positions open, then again after the markets settle.

The account sweeps several price levels (same-instant fills at different prices), sells through its position
(a YES -> NO flip), partially buys back, holds a NO position and an open YES position. Nothing here is computed by
hand: the exchange's `GET /portfolio/positions`, `/settlements` and `/balance` are the expected values.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_lake import warehouse

pytestmark = pytest.mark.slow


def _d(x) -> Decimal:
    return Decimal(str(x))


def _pull_and_build(client, settings):
    from kalshi_extract.ingest.pull import STREAM_NAMES, Selection, pull
    from kalshi_extract.lake.store import Lake

    result = pull(client, Lake.from_settings(settings), list(STREAM_NAMES), Selection())
    failed = [(s.stream, s.error) for s in result.streams if s.outcome != "ok"]
    assert not failed
    build = warehouse.build(settings)
    assert build.ok, str(build)
    return warehouse.connect(str(settings.warehouse_path))


def _ours(con):
    cur = con.execute(
        "select ticker, position_fp, cost_basis_dollars, realized_pnl_dollars, fees_dollars, settled, "
        "payout_dollars, unrealized_pnl_dollars, total_pnl_dollars, mark_source from fct_pnl where account = 'loop'"
    )
    cols = [d[0] for d in cur.description]
    return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def test_fct_pnl_matches_the_exchange_to_the_cent(fresh_exchange, tmp_path):
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.orders.front import Orders
    from kalshi_extract.settings import Settings

    ex = fresh_exchange
    account = ex.create_account(balance_cents=1_000_000)
    ex.advance(seconds=3 * 3600)
    settings = Settings.load(environ=dict(account.env, KALSHI_LAKE_DIR=str(tmp_path), KALSHI_ACCOUNT="loop"))
    with KalshiClient(settings) as client:
        orders = Orders(client)
        liquid = [
            m
            for m in client.get_markets(status="open")
            if _d(m["yes_bid_dollars"]) >= Decimal("0.10")
            and Decimal(0) < _d(m["yes_ask_dollars"]) <= Decimal("0.90")
        ]
        liquid.sort(key=lambda m: (m["close_time"], m["ticker"]))
        assert len(liquid) >= 3
        a, b, c = liquid[:3]
        cent = Decimal("0.01")
        # sweep the asks, then sell through the position (flip to NO), then buy part of it back
        orders.buy(a["ticker"], "yes", 10, _d(a["yes_ask_dollars"]) + 3 * cent)
        orders.sell(a["ticker"], "yes", 14, _d(a["yes_bid_dollars"]) - 3 * cent)
        orders.buy(a["ticker"], "yes", 2, _d(client.get_market(a["ticker"])["yes_ask_dollars"]) + cent)
        orders.buy(b["ticker"], "no", 6, 1 - _d(b["yes_bid_dollars"]))
        orders.buy(c["ticker"], "yes", 3, _d(c["yes_ask_dollars"]))
        traded = {a["ticker"], b["ticker"], c["ticker"]}

        # 1) positions open
        con = _pull_and_build(client, settings)
        ours = _ours(con)
        exchange = {p["ticker"]: p for p in client.get_positions()}
        assert set(ours) == traded
        for t in traded:
            p = exchange[t]
            assert ours[t]["position_fp"] == _d(p["position_fp"]), t
            assert ours[t]["realized_pnl_dollars"] == _d(p["realized_pnl_dollars"]), t
            assert ours[t]["fees_dollars"] == _d(p["fees_paid_dollars"]), t
            assert ours[t]["cost_basis_dollars"] == _d(p["market_exposure_dollars"]), t
            assert ours[t]["settled"] is False and ours[t]["mark_source"] == "mid"
        assert ours[a["ticker"]]["position_fp"] < 0  # the flip happened
        assert ours[a["ticker"]]["realized_pnl_dollars"] != 0
        rec = con.execute(
            "select count(*) filter (where positions_comparable), count(*) from fct_pnl_reconciliation "
            "where account = 'loop'"
        ).fetchone()
        assert rec == (3, 3)
        con.close()

        # 2) every traded market settled: realized P&L, payouts and the balance itself agree
        ex.advance(seconds=36 * 3600)
        con = _pull_and_build(client, settings)
        ours = _ours(con)
        exchange = {p["ticker"]: p for p in client.get_positions()}
        settlements = {s["ticker"]: s for s in client.get_settlements()}
        assert set(settlements) >= traded
        for t in traded:
            assert ours[t]["settled"] is True
            assert ours[t]["position_fp"] == 0 and ours[t]["cost_basis_dollars"] == 0
            assert ours[t]["realized_pnl_dollars"] == _d(exchange[t]["realized_pnl_dollars"]), t
            assert ours[t]["fees_dollars"] == _d(exchange[t]["fees_paid_dollars"]), t
            assert ours[t]["payout_dollars"] * 100 == settlements[t]["revenue"], t
        total = sum(r["total_pnl_dollars"] for r in ours.values())
        balance = client.get_balance()
        assert Decimal(10_000) + total == _d(balance["balance_dollars"])
        diffs = con.execute(
            "select count(*) from fct_pnl_reconciliation where account = 'loop' and in_settlements "
            "and payout_diff_dollars = 0 and (not positions_comparable or realized_pnl_diff_dollars = 0)"
        ).fetchone()
        assert diffs == (3,)
        con.close()
