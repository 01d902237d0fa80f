"""Event positions and archived (historical) positions end to end: the local exchange serves them, the lake lands
`event_positions` (snapshots) and `historical_positions` (each archived state once), staging reads them back."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.plan import PORTFOLIO_STREAMS
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings

FIELDS = ("total_cost_dollars", "event_exposure_dollars", "realized_pnl_dollars", "fees_paid_dollars")


def _buy(client, ticker: str, price: str, count: str = "3.00") -> None:
    client.post(
        "/portfolio/events/orders",
        {
            "ticker": ticker,
            "side": "bid",
            "count": count,
            "price": price,
            "time_in_force": "immediate_or_cancel",
            "self_trade_prevention_type": "taker_at_cross",
            "client_order_id": str(uuid.uuid4()),
        },
    )


def _trade_events(client) -> dict[str, list[str]]:
    """Buy in two markets of each of two events; returns event → tickers traded."""
    by_event: dict[str, list[dict]] = defaultdict(list)
    for m in client.get_markets(status="open"):
        if Decimal("0.05") <= Decimal(m["yes_ask_dollars"]) <= Decimal("0.95"):
            by_event[m["event_ticker"]].append(m)
    picked = sorted(
        (e for e, ms in by_event.items() if len(ms) >= 2), key=lambda e: by_event[e][0]["close_time"]
    )
    out = {}
    for e in picked[:2]:
        for m in by_event[e][:2]:
            _buy(client, m["ticker"], m["yes_ask_dollars"])
        out[e] = [m["ticker"] for m in by_event[e][:2]]
    assert len(out) == 2
    return out


def test_event_positions_are_whole_and_once_across_pages(fresh_exchange, tmp_path):
    acct = fresh_exchange.create_account(balance_cents=1_000_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        traded = _trade_events(c)
        markets = {p["ticker"]: p for p in c.get_positions()}
        pages = list(c.paginate("/portfolio/positions", {"limit": 1}, "event_positions"))
        assert len(pages) == 4  # one market position per page
        events = [e for p in pages for e in p.items]
        assert sorted(e["event_ticker"] for e in events) == sorted(traded)  # each event once
        for e in events:
            mine = [markets[t] for t in traded[e["event_ticker"]]]
            assert Decimal(e["fees_paid_dollars"]) == sum(Decimal(p["fees_paid_dollars"]) for p in mine) > 0
            assert Decimal(e["event_exposure_dollars"]) == sum(
                Decimal(p["market_exposure_dollars"]) for p in mine
            )


def test_event_and_historical_positions_land_and_stage(fresh_exchange, tmp_path):
    from kalshi_lake import warehouse

    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path), KALSHI_ACCOUNT="a1"))
    lake = Lake.from_settings(settings)
    streams = list(PORTFOLIO_STREAMS)  # the P&L models' tests need fills and settlements too
    with KalshiClient(settings) as c:
        traded = _trade_events(c)
        first = pull(c, lake, streams, Selection())
        assert first.ok, [(s.stream, s.error) for s in first.streams]
        rows = {s.stream: s.rows for s in first.streams}
        assert (rows["positions"], rows["event_positions"], rows["historical_positions"]) == (4, 2, 0)
        live = {e["event_ticker"]: e for e in c.get_event_positions()}

        # the markets settle and the cutoff passes them: the positions move to /historical/positions
        ex.advance(5 * 86_400)
        archived = list(c.get_historical_positions())
        assert {p["ticker"] for p in archived} == {t for ts in traded.values() for t in ts}
        second = pull(c, lake, streams, Selection())
        assert second.ok, [(s.stream, s.error) for s in second.streams]
        assert {s.stream: s.rows for s in second.streams}["historical_positions"] == 4
        third = pull(c, lake, ["historical_positions"], Selection())
        assert third.ok and third.streams[0].rows == 0  # archived states land once
    t = lake.read("event_positions")
    assert str(t.schema.field("fees_paid_dollars").type) == "decimal128(18, 6)"
    assert set(t.column("_account").to_pylist()) == {"a1"}

    build = warehouse.build(settings)
    assert build.ok, str(build)
    con = warehouse.connect(str(settings.warehouse_path))
    got = dict(con.execute("select event_ticker, fees_paid_dollars from stg_event_positions").fetchall())
    assert got == {e: Decimal(p["fees_paid_dollars"]) for e, p in live.items()}
    hist = dict(con.execute("select ticker, fees_paid_dollars from stg_historical_positions").fetchall())
    assert hist == {p["ticker"]: Decimal(p["fees_paid_dollars"]) for p in archived}
