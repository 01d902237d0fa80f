"""Combo (multivariate) markets end to end: the local exchange's combos, their events and collections are pulled
into the lake (streams `combo_markets`, `mve_events`, `mve_collections`), built, and every trade
and fill on a combo is attributed to the combo's legs (`stg_combo_legs`, `dim_combo_legs`, `fct_combo_leg_trades`,
`fct_combo_leg_fills`). The exchange's own JSON is the expected value throughout."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_lake import warehouse

pytestmark = pytest.mark.slow

COMBO_STREAMS = ["mve_collections", "mve_events", "combo_markets"]


def _pull(client, settings, streams):
    from kalshi_extract.ingest.pull import Selection, pull
    from kalshi_extract.lake.store import Lake

    result = pull(client, Lake.from_settings(settings), streams, Selection())
    failed = [(s.stream, s.error) for s in result.streams if s.outcome != "ok"]
    assert not failed


def con_tickers(settings):
    """Distinct tickers of the lake's trades and fills (the combos the archive read looks for)."""
    from kalshi_extract.lake.store import Lake

    lake = Lake.from_settings(settings)
    return {(t,) for s in ("trades", "fills") for t in lake.read(s, ["ticker"]).column("ticker").to_pylist()}


def _build(settings):
    build = warehouse.build(settings)
    assert build.ok, str(build)
    return warehouse.connect(str(settings.warehouse_path))


def _rows(con, sql):
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def test_combo_trades_and_fills_are_attributed_to_their_legs(tmp_path):
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.orders.front import Orders
    from kalshi_extract.settings import Settings
    from kalshi_sim import LocalExchange

    with LocalExchange(seed=7, size="tiny") as ex:
        account = ex.create_account(balance_cents=1_000_000)
        ex.advance(2 * 3600)
        settings = Settings.load(
            environ=dict(account.env, KALSHI_LAKE_DIR=str(tmp_path), KALSHI_ACCOUNT="combo")
        )
        with KalshiClient(settings) as client:
            combos = client.get("/markets", {"mve_filter": "only", "status": "open", "limit": 1000})[
                "markets"
            ]
            tradable = [m for m in combos if Decimal(m["yes_ask_dollars"]) < 1]
            assert tradable, "the exchange quotes its open combos"
            target = tradable[0]
            filled = Orders(client).buy(target["ticker"], "yes", 2, Decimal(target["yes_ask_dollars"]))
            assert filled.fill_count == 2, filled

            # 1) trades and fills only: combo trades land, but nothing says what they are made of
            _pull(client, settings, ["markets", "trades", "fills"])
            con = _build(settings)
            unknown = _rows(con, "select * from fct_combo_leg_trades")
            assert unknown and all(not r["legs_known"] and r["leg_index"] == 0 for r in unknown)
            n_combo_trades = con.execute(
                "select count(*) from stg_trades where ticker like 'KXMVE%'"
            ).fetchone()[0]
            assert len(unknown) == n_combo_trades > 0  # no trade dropped
            con.close()

            # 2) the combo streams: every live combo's legs, events and collection land as the API sent them, and
            # every traded combo settled before the cutoff (asked from /historical/markets by ticker)
            traded = {r[0] for r in con_tickers(settings)}
            _pull(client, settings, COMBO_STREAMS)
            api_combos = {m["ticker"]: m for m in client.endpoint_items("combo_markets")}
            archived = client.get("/historical/markets", {"limit": 1000})["markets"]
            api_combos |= {
                m["ticker"]: m for m in archived if m.get("mve_collection_ticker") and m["ticker"] in traded
            }
            api_events = {e["event_ticker"] for e in client.endpoint_items("multivariate_events")}
            api_cols = {c["collection_ticker"]: c for c in client.endpoint_items("multivariate_collections")}
        con = _build(settings)
        legs = _rows(con, "select * from stg_combo_legs order by combo_ticker, leg_index")
        expected = [
            (
                t,
                k + 1,
                leg["market_ticker"],
                leg["event_ticker"],
                leg["side"],
                leg.get("yes_settlement_value_dollars"),
            )
            for t, m in sorted(api_combos.items())
            for k, leg in enumerate(m["mve_selected_legs"])
        ]
        got = [
            (
                r["combo_ticker"],
                r["leg_index"],
                r["leg_market_ticker"],
                r["leg_event_ticker"],
                r["leg_side"],
                None
                if r["leg_yes_settlement_value_dollars"] is None
                else f"{r['leg_yes_settlement_value_dollars']:.4f}",
            )
            for r in legs
        ]
        assert got == expected
        assert {r[0] for r in con.execute("select event_ticker from stg_mve_events").fetchall()} == api_events
        cols = _rows(con, "select * from stg_mve_collections")
        assert {r["collection_ticker"] for r in cols} == set(api_cols)
        for r in cols:
            assert r["size_min"] == api_cols[r["collection_ticker"]]["size_min"]

        # every combo trade whose combo is live now has one row per leg, its count on every leg
        trades = _rows(
            con,
            "select * from fct_combo_leg_trades where combo_ticker in (select ticker from stg_combo_markets)",
        )
        assert trades
        by_trade: dict[str, list] = {}
        for r in trades:
            by_trade.setdefault(r["trade_id"], []).append(r)
        for rows in by_trade.values():
            combo = api_combos[rows[0]["combo_ticker"]]
            assert [r["leg_market_ticker"] for r in sorted(rows, key=lambda r: r["leg_index"])] == [
                leg["market_ticker"] for leg in combo["mve_selected_legs"]
            ]
            assert all(r["legs_known"] and r["count_fp"] == rows[0]["count_fp"] for r in rows)
        # combos past the historical cutoff are read by ticker too: no combo trade is left unattributed
        assert _rows(con, "select * from fct_combo_leg_trades where not legs_known") == []
        n_rows = con.execute("select count(distinct trade_id) from fct_combo_leg_trades").fetchone()[0]
        assert n_rows == n_combo_trades

        # our fill: +2 combo contracts, exposure +2 on each leg, fee once per fill
        fills = _rows(con, "select * from fct_combo_leg_fills order by leg_index")
        assert [r["leg_market_ticker"] for r in fills] == [
            leg["market_ticker"] for leg in target["mve_selected_legs"]
        ]
        assert all(r["leg_exposure_fp"] == Decimal("2.00") and r["legs_known"] for r in fills)
        dim = _rows(
            con, f"select * from dim_combo_legs where combo_ticker = '{target['ticker']}' order by leg_index"
        )
        assert [r["leg_side"] for r in dim] == [leg["side"] for leg in target["mve_selected_legs"]]
        assert all(r["leg_market_known"] for r in dim)
        con.close()
