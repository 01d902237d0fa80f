"""Big worlds: the vectorised history keeps the same invariants, and the exchange runs in a child process."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kalshi_sim import LocalExchange
from kalshi_sim.bulk import BULK_THRESHOLD
from tests.sim.helpers import SimClient, order


@pytest.mark.slow
def test_bulk_world_in_a_child_process_keeps_the_invariants():
    n = BULK_THRESHOLD + 20_000
    with LocalExchange(seed=9, size=n, subprocess=True) as ex:
        state = ex.state()
        assert state["trades"] >= n
        c = SimClient(ex.base_url)
        live = [t for b in c.pages("/markets/trades", "trades", None, 1000) for t in b["trades"]]
        hist = [t for b in c.pages("/historical/trades", "trades", None, 1000) for t in b["trades"]]
        assert len(live) + len(hist) == state["trades"]
        assert len({t["trade_id"] for t in live + hist}) == state["trades"]
        vol: dict[str, D] = {}
        for t in live + hist:
            vol[t["ticker"]] = vol.get(t["ticker"], D(0)) + D(t["count_fp"])
        markets = [m for b in c.pages("/markets", "markets", None, 1000) for m in b["markets"]]
        markets += [m for b in c.pages("/historical/markets", "markets", None, 1000) for m in b["markets"]]
        for m in markets:
            assert D(m["volume_fp"]) == vol.get(m["ticker"], D(0)), m["ticker"]
        active = [m for m in markets if m["status"] == "active" and m["ticker"] in vol][:10]
        assert active
        for m in active:
            book = c.get_json(f"/markets/{m['ticker']}/orderbook")["orderbook_fp"]
            assert book["yes_dollars"] and book["no_dollars"]
            assert D(book["yes_dollars"][-1][0]) + D(book["no_dollars"][-1][0]) < 1
            series = m["event_ticker"].split("-")[0]
            candles = c.get_json(
                f"/series/{series}/markets/{m['ticker']}/candlesticks",
                {"start_ts": 0, "end_ts": 4_000_000_000, "period_interval": 1440},
            )["candlesticks"]
            assert sum(D(x["volume_fp"]) for x in candles) == D(m["volume_fp"])
            assert candles[-1]["open_interest_fp"] == m["open_interest_fp"]
        # the engine takes over after the vectorised history: user orders trade against the seeded books
        acct = ex.create_account(100_000)
        u = SimClient(ex.base_url, acct)
        m = active[0]
        r = u.post(
            "/portfolio/events/orders",
            order(m["ticker"], "bid", "1.00", m["yes_ask_dollars"], "immediate_or_cancel"),
        )
        assert r.status_code == 201 and r.json()["fill_count"] == "1.00"
        ex.advance(3600)
        assert ex.state()["trades"] > state["trades"]
        assert [o["status"] for o in ex.orders(acct.key_id)] == ["executed"]
