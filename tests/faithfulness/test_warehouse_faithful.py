"""A lake landed from genuine-shaped responses of several eras builds in the warehouse: staging reads every
stream and the typed values survive into DuckDB exactly (the SQL layer sees what the API said)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract.ingest.pull import Selection, pull
from tests.faithfulness import test_lake_ingest as T
from tests.faithfulness import variants as V

pytestmark = pytest.mark.skipif(not V.REAL.exists(), reason="recorded responses not available")


@pytest.mark.parametrize("era", ["cent_era", "both_eras_nanos"])  # today's shape: tests/sql/test_real_data.py
def test_lake_of_any_era_builds_in_the_warehouse(api, client, lake, era):
    fn = {
        "cent_era": V.cent_era,
        "both_eras_nanos": lambda x: V.time_spelling("nanos")(V.both_eras(x)),
    }[era]
    api.pages("/markets/trades", T.split_pages(V.vary(T.TRADES, fn), "trades"))
    api.pages("/markets", [{"markets": V.vary(T.MARKETS, fn)}])
    api.pages("/portfolio/fills", [{"fills": V.vary(T.FILLS, fn)}])
    api.pages("/portfolio/orders", [{"orders": V.vary(T.ORDERS, fn)}], select=T._status_filter)
    api.pages("/portfolio/settlements", [{"settlements": V.vary(T.SETTLEMENTS, fn)}])
    api.pages("/portfolio/positions", [{"market_positions": V.vary(T.POSITIONS, fn), "event_positions": []}])
    api.routes["/portfolio/balance"] = lambda q: T.BALANCES["v3.31"]
    api.routes["/exchange/status"] = lambda q: T.STATUSES["v3.31_paused"]
    api.routes["/series"] = lambda q: {"series": T.SERIES}
    api.pages("/events", [{"events": T.EVENTS}])
    streams = [
        "trades",
        "markets",
        "fills",
        "orders",
        "settlements",
        "positions",
        "balance",
        "exchange_status",
        "series",
        "events",
    ]
    result = pull(client, lake, streams, Selection())
    assert result.ok, [(s.stream, s.error) for s in result.streams if not s.ok]

    from kalshi_lake import warehouse

    con = warehouse.build_in_memory(lake.root, run_tests=True)
    try:
        n = con.execute("select count(*) from stg_trades").fetchone()[0]
        assert n == len(T.TRADES)
        got = dict(con.execute("select trade_id, yes_price_dollars from stg_trades").fetchall())
        for t in T.TRADES:
            assert got[t["trade_id"]] == Decimal(t["yes_price_dollars"])
        fees = sorted(r[0] for r in con.execute("select fee_cost from stg_fills").fetchall())
        assert fees == sorted(Decimal(f["fee_cost"]) for f in T.FILLS)
    finally:
        con.close()
