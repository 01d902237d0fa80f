"""Contract test of the multivariate (combo) surface of the local exchange: ``GET /events/multivariate``,
``GET /multivariate_event_collections[/{collection_ticker}]`` and the combo markets of ``GET /markets``
(``mve_filter=only``) validate against the official OpenAPI spec, page and filter as it says, and a combo market
carries the fields of the genuine combo recorded on the demo exchange (June 2026)."""

from __future__ import annotations

import json

from tests.sim.helpers import SimClient
from tests.sim.test_contract import REAL, REMOVED, check, spec, validator_for, walk  # noqa: F401  (fixtures)

COLLECTION = "/multivariate_event_collections/{collection_ticker}"


def test_multivariate_events_page_and_filter_as_the_spec_says(fresh_exchange, spec, validator_for):  # noqa: F811
    c = SimClient(fresh_exchange.base_url)
    events = walk(c, spec, validator_for, "/events/multivariate", "events", limit=2)
    tickers = [e["event_ticker"] for e in events]
    assert len(tickers) >= 3 and len(set(tickers)) == len(tickers)
    assert all(t.startswith("KXMVE") for t in tickers)
    assert not {e["event_ticker"] for e in walk(c, spec, validator_for, "/events", "events")} & set(tickers)
    nested = c.get_json("/events/multivariate", {"with_nested_markets": "true", "limit": 1})
    check(spec, validator_for, "get", "/events/multivariate", 200, nested)
    assert all(m["mve_selected_legs"] for m in nested["events"][0]["markets"])
    col = nested["events"][0]["markets"][0]["mve_collection_ticker"]
    only = c.get_json("/events/multivariate", {"collection_ticker": col})["events"]
    assert [e["event_ticker"] for e in only] == [nested["events"][0]["event_ticker"]]
    r = c.get(
        "/events/multivariate", params={"collection_ticker": col, "series_ticker": "KXMVECROSSCATEGORY"}
    )
    assert r.status_code == 400  # "Cannot be used together with series_ticker"
    assert c.get_json("/events/multivariate", {"series_ticker": "KXBTC"})["events"] == []


def test_collections_page_filter_and_read_one(fresh_exchange, spec, validator_for):  # noqa: F811
    c = SimClient(fresh_exchange.base_url)
    every = walk(c, spec, validator_for, "/multivariate_event_collections", "multivariate_contracts", limit=2)
    by_status = {
        s: walk(
            c, spec, validator_for, "/multivariate_event_collections", "multivariate_contracts", {"status": s}
        )
        for s in ("unopened", "open", "closed")
    }
    assert by_status["open"] and by_status["closed"]
    assert sorted(x["collection_ticker"] for rows in by_status.values() for x in rows) == sorted(
        x["collection_ticker"] for x in every
    )
    one = every[0]
    assert one["associated_event_tickers"] == [e["ticker"] for e in one["associated_events"]]
    assoc = c.get_json(
        "/multivariate_event_collections", {"associated_event_ticker": one["associated_event_tickers"][0]}
    )["multivariate_contracts"]
    assert [x["collection_ticker"] for x in assoc] == [one["collection_ticker"]]
    body = c.get_json(f"/multivariate_event_collections/{one['collection_ticker']}")
    check(spec, validator_for, "get", COLLECTION, 200, body)
    assert body["multivariate_contract"] == one
    assert c.get("/multivariate_event_collections/KXMVENOPE-R").status_code == 404


def test_combo_markets_carry_the_recorded_combo_fields(fresh_exchange, spec, validator_for):  # noqa: F811
    c = SimClient(fresh_exchange.base_url)
    combos = walk(c, spec, validator_for, "/markets", "markets", {"mve_filter": "only"}, limit=3)
    plain = walk(c, spec, validator_for, "/markets", "markets", {"mve_filter": "exclude"})
    assert combos and not {m["ticker"] for m in combos} & {m["ticker"] for m in plain}
    recorded = json.loads((REAL / "fortuna_demo" / "markets__status_settled.json").read_text())["markets"]
    real = next(m for m in recorded if m.get("mve_selected_legs"))
    combo_keys = {"custom_strike", "mve_collection_ticker", "mve_selected_legs", "is_provisional"}
    assert combo_keys <= set(real)
    markets = {m["ticker"]: m for m in plain}
    for m in combos:
        assert combo_keys <= set(m), m["ticker"]
        assert set(real) - REMOVED["Market"] - {"settlement_ts", "settlement_value_dollars"} <= set(m)
        assert m["strike_type"] == real["strike_type"] == "custom"
        strike = m["custom_strike"]
        legs = m["mve_selected_legs"]
        assert strike["Associated Markets"].split(",") == [leg["market_ticker"] for leg in legs]
        assert strike["Associated Market Sides"].split(",") == [leg["side"] for leg in legs]
        assert strike["Multivariate Event Ticker"] == m["event_ticker"]
        for leg in legs:
            assert set(leg) <= set(spec["components"]["schemas"]["MveSelectedLeg"]["properties"])
            if leg["market_ticker"] in markets and markets[leg["market_ticker"]]["status"] == "active":
                assert "yes_settlement_value_dollars" not in leg  # "Only filled after determination"
        if m["result"]:  # a determined combo: YES exactly when every leg settled on its side
            values = [leg["yes_settlement_value_dollars"] for leg in legs]
            won = all(
                v == ("1.0000" if leg["side"] == "yes" else "0.0000")
                for v, leg in zip(values, legs, strict=True)
            )
            assert m["result"] == ("yes" if won else "no"), m["ticker"]


def test_combos_trade(fresh_exchange):
    c = SimClient(fresh_exchange.base_url)
    trades = [t for body in c.pages("/markets/trades", "trades", {"limit": 1000}) for t in body["trades"]]
    combo = [t for t in trades if t["ticker"].startswith("KXMVE")]
    assert combo and len(combo) < len(trades)
