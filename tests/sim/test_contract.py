"""Contract test: every endpoint, all pages, all filters, validated against the official OpenAPI spec and
compared (keys, value formats) with the genuine recordings in ../shared/real-data.

The stored spec is v3.21; the API moved on (v3.31, see ../shared/kalshi-api.md). Where they differ the
newer version wins, so the spec's ``required`` lists lose the fields removed in 2026 (REMOVED below) and
the test asserts we never send them.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from tests.shared_paths import SHARED as SHARED_DIR

jsonschema = pytest.importorskip("jsonschema")
yaml = pytest.importorskip("yaml")

SHARED = SHARED_DIR
SPEC = SHARED / "kalshi-openapi" / "openapi-v3.21.0.yaml"
REAL = SHARED / "real-data"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="the OpenAPI spec folder is absent")

REMOVED = {
    "Market": {
        "liquidity_dollars",
        "fractional_trading_enabled",
        "response_price_units",
        "liquidity",
        "yes_bid",
        "yes_ask",
        "no_bid",
        "no_ask",
        "last_price",
        "volume",
        "volume_24h",
        "open_interest",
        "notional_value",
        "tick_size",
        "category",
    },
    "MarketPosition": {
        "resting_orders_count",
        "position",
        "market_exposure",
        "realized_pnl",
        "fees_paid",
        "total_traded",
    },
    "EventData": {"available_on_brokers"},
    "Trade": {"count", "yes_price", "no_price"},
    "Fill": {"count", "yes_price", "no_price", "client_order_id"},
    "Order": {"yes_price", "no_price", "fill_count", "remaining_count", "initial_count"},
}
# removed anywhere in responses (V2 order responses legitimately use fill_count/remaining_count, historical
# candlesticks volume/open_interest, events category)
LEGACY_CENT_KEYS = set().union(*REMOVED.values()) - {
    "category",
    "fill_count",
    "remaining_count",
    "client_order_id",
    "volume",
    "open_interest",
}

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,5}[1-9])?Z$")
D4 = re.compile(r"^-?\d+\.\d{4}$")
D6 = re.compile(r"^-?\d+\.\d{6}$")
D2 = re.compile(r"^-?\d+\.\d{2}$")


# ---------------------------------------------------------------------------------------------------
# OpenAPI 3.0 → JSON Schema 2020-12
# ---------------------------------------------------------------------------------------------------
def _convert(node):
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.startswith("x-") or k in (
            "example",
            "examples",
            "discriminator",
            "xml",
            "externalDocs",
            "deprecated",
            "readOnly",
            "writeOnly",
            "format",
        ):
            continue
        if k == "properties":
            out[k] = {name: _convert(sub) for name, sub in v.items()}
        else:
            out[k] = _convert(v)
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str) and "$ref" not in out and "allOf" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC.read_text())


@pytest.fixture(scope="module")
def validator_for(spec):
    schemas = copy.deepcopy(spec["components"]["schemas"])
    for name, fields in REMOVED.items():
        req = schemas[name].get("required")
        if req:
            schemas[name]["required"] = [f for f in req if f not in fields]
    defs = {k: _convert(v) for k, v in schemas.items()}
    cache = {}

    def get(schema_name):
        if schema_name not in cache:
            s = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": defs,
                "$ref": f"#/$defs/{schema_name}",
            }
            cache[schema_name] = jsonschema.Draft202012Validator(s)
        return cache[schema_name]

    return get


EXTRA_PATHS = {("get", "/historical/positions", 200): "GetPositionsResponse"}


def schema_name(spec, method, template, status):
    if (method, template, status) in EXTRA_PATHS:
        return EXTRA_PATHS[(method, template, status)]
    op = spec["paths"][template][method]
    resp = op["responses"].get(str(status))
    assert resp is not None, f"{method.upper()} {template} has no {status} response in the spec"
    if "$ref" in resp:
        resp = spec["components"]["responses"][resp["$ref"].split("/")[-1]]
    ref = resp["content"]["application/json"]["schema"]["$ref"]
    return ref.split("/")[-1]


def check(spec, validator_for, method, template, status, body):
    name = schema_name(spec, method, template, status)
    errors = sorted(validator_for(name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {template} → {name}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
    _no_legacy(body, f"{method} {template}")
    _formats(body, template)


def _no_legacy(node, where):
    if isinstance(node, dict):
        bad = {k for k in LEGACY_CENT_KEYS & set(node) if not isinstance(node[k], dict)}  # candle objects ok
        assert not bad, f"{where}: removed legacy fields {bad}"
        for v in node.values():
            _no_legacy(v, where)
    elif isinstance(node, list):
        for v in node:
            _no_legacy(v, where)


SIX_DP = {
    "fee_cost",
    "taker_fill_cost_dollars",
    "maker_fill_cost_dollars",
    "taker_fees_dollars",
    "maker_fees_dollars",
    "total_traded_dollars",
    "market_exposure_dollars",
    "realized_pnl_dollars",
    "fees_paid_dollars",
    "total_cost_dollars",
    "event_exposure_dollars",
    "yes_total_cost_dollars",
    "no_total_cost_dollars",
}
COUNTS = {"fill_count", "remaining_count", "reduced_by", "volume", "open_interest"}
TIME_KEYS = re.compile(r"(_time|_ts|^strike_date|^as_of_time|_datetime)$")


def _formats(node, where, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            _formats(v, where, k)
    elif isinstance(node, list):
        if key in ("yes_dollars", "no_dollars"):
            for level in node:
                assert D4.match(level[0]) and D2.match(level[1]), (where, level)
        else:
            for v in node:
                _formats(v, where, key)
    elif isinstance(node, str) and key:
        if key in SIX_DP:
            assert D6.match(node), (where, key, node)
        elif key in ("average_fill_price", "average_fee_paid"):
            assert D4.match(node) or D6.match(node), (where, key, node)
        elif key.endswith("_dollars") or key in ("open", "low", "high", "close", "mean", "previous"):
            assert D4.match(node), (where, key, node)
        elif key.endswith("_fp") or key in COUNTS:
            assert D2.match(node), (where, key, node)
        elif where == "/exchange/schedule" and key in ("open_time", "close_time"):
            assert re.match(r"^\d{2}:\d{2}$", node), (where, key, node)
        elif TIME_KEYS.search(key):
            assert RFC3339.match(node), (where, key, node)


# ---------------------------------------------------------------------------------------------------
# the walk
# ---------------------------------------------------------------------------------------------------
def walk(c, spec, validator_for, template, key, params=None, limit=None, path=None):
    pages = c.pages(path or template, key, params, limit)
    for body in pages:
        check(spec, validator_for, "get", template, 200, body)
    return [row for body in pages for row in body[key]]


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_write_responses_match_the_spec(scenario, spec, validator_for):
    assert scenario.responses
    for method, template, status, body in scenario.responses:
        if status == 204:
            assert body is None
            continue
        check(spec, validator_for, method, template, status, body)


def test_public_endpoints_match_the_spec(scenario, spec, validator_for):
    c = scenario.anon
    for tpl in (
        "/exchange/status",
        "/exchange/schedule",
        "/historical/cutoff",
        "/account/limits",
        "/account/endpoint_costs",
    ):
        check(spec, validator_for, "get", tpl, 200, c.get_json(tpl))
    series = c.get_json("/series", {"include_volume": "true"})
    check(spec, validator_for, "get", "/series", 200, series)
    for s in series["series"]:
        check(
            spec, validator_for, "get", "/series/{series_ticker}", 200, c.get_json(f"/series/{s['ticker']}")
        )
    for f in ({}, {"category": "Crypto"}, {"tags": "Weather"}):
        check(spec, validator_for, "get", "/series", 200, c.get_json("/series", f))
    events = walk(c, spec, validator_for, "/events", "events", {"with_nested_markets": "true"}, limit=7)
    assert len({e["event_ticker"] for e in events}) == len(events)
    for f in (
        {"status": "open"},
        {"status": "settled"},
        {"status": "unopened"},
        {"status": "closed"},
        {"series_ticker": "KXINXD"},
        {"min_close_ts": 1_795_000_000},
        {"with_milestones": "true"},
    ):
        walk(c, spec, validator_for, "/events", "events", f, limit=50)
    for e in events[:5]:
        check(
            spec,
            validator_for,
            "get",
            "/events/{event_ticker}",
            200,
            c.get_json(f"/events/{e['event_ticker']}", {"with_nested_markets": "true"}),
        )
    markets = walk(c, spec, validator_for, "/markets", "markets", limit=37)
    assert len({m["ticker"] for m in markets}) == len(markets)
    statuses = {m["status"] for m in markets}
    assert {"active", "initialized", "finalized"} <= statuses
    now = int(scenario.ex.now.timestamp())
    vocab = {
        "unopened": {"initialized"},
        "open": {"active"},
        "paused": {"inactive"},
        "closed": {"closed"},
        "settled": {"determined", "disputed", "amended", "finalized"},
    }
    for q, allowed in vocab.items():
        got = walk(c, spec, validator_for, "/markets", "markets", {"status": q}, limit=100)
        assert {m["status"] for m in got} <= allowed, q
    for f in (
        {"series_ticker": "KXFEDDECISION"},
        {"event_ticker": markets[0]["event_ticker"]},
        {"tickers": ",".join(m["ticker"] for m in markets[:3])},
        {"mve_filter": "only"},
        {"mve_filter": "exclude"},
        {"min_close_ts": now - 86_400, "max_close_ts": now + 86_400},
        {"min_created_ts": now - 86_400, "status": "open"},
        {"min_settled_ts": now - 5 * 86_400, "status": "settled"},
        {"min_updated_ts": now - 86_400, "mve_filter": "exclude"},
    ):
        walk(c, spec, validator_for, "/markets", "markets", f, limit=100)
    for m in markets[:40]:
        check(spec, validator_for, "get", "/markets/{ticker}", 200, c.get_json(f"/markets/{m['ticker']}"))
        check(
            spec,
            validator_for,
            "get",
            "/markets/{ticker}/orderbook",
            200,
            c.get_json(f"/markets/{m['ticker']}/orderbook", {"depth": 3}),
        )
    tickers = [m["ticker"] for m in markets if m["status"] == "active"][:5]
    check(
        spec,
        validator_for,
        "get",
        "/markets/orderbooks",
        200,
        c.get_json("/markets/orderbooks", [("tickers", t) for t in tickers]),
    )
    walk(c, spec, validator_for, "/markets/trades", "trades", limit=1000)
    for f in (
        {"ticker": tickers[0]},
        {"min_ts": now - 86_400, "max_ts": now - 3600},
        {"is_block_trade": "false"},
    ):
        got = walk(c, spec, validator_for, "/markets/trades", "trades", f, limit=250)
        if "ticker" in f:
            assert {t["ticker"] for t in got} <= {f["ticker"]}
        if "min_ts" in f:
            assert got and all(f["min_ts"] <= _epoch(t["created_time"]) <= f["max_ts"] for t in got)


def test_candlesticks_match_the_spec(scenario, spec, validator_for):
    c = scenario.anon
    markets = c.get_json("/markets", {"status": "open", "limit": 5})["markets"]
    markets += c.get_json("/markets", {"status": "settled", "limit": 5})["markets"]
    now = int(scenario.ex.now.timestamp())
    for m in markets:
        series = m["event_ticker"].split("-")[0]
        for period in (1, 60, 1440):
            span = {1: 6 * 3600, 60: 5 * 86_400, 1440: 20 * 86_400}[period]
            body = c.get_json(
                f"/series/{series}/markets/{m['ticker']}/candlesticks",
                {"start_ts": now - span, "end_ts": now, "period_interval": period},
            )
            check(
                spec, validator_for, "get", "/series/{series_ticker}/markets/{ticker}/candlesticks", 200, body
            )
    ev = markets[0]["event_ticker"]
    body = c.get_json(
        f"/series/{ev.split('-')[0]}/events/{ev}/candlesticks",
        {"start_ts": now - 2 * 86_400, "end_ts": now, "period_interval": 60},
    )
    check(spec, validator_for, "get", "/series/{series_ticker}/events/{ticker}/candlesticks", 200, body)
    assert body["market_tickers"] and len(body["market_candlesticks"]) == len(body["market_tickers"])
    body = c.get_json(
        "/markets/candlesticks",
        {
            "market_tickers": ",".join(m["ticker"] for m in markets),
            "start_ts": now - 86_400,
            "end_ts": now,
            "period_interval": 60,
        },
    )
    check(spec, validator_for, "get", "/markets/candlesticks", 200, body)
    hist = walk(c, spec, validator_for, "/historical/markets", "markets", limit=50)
    assert hist, "the scenario moved the cutoff past settled markets"
    for m in hist[:5]:
        check(
            spec,
            validator_for,
            "get",
            "/historical/markets/{ticker}",
            200,
            c.get_json(f"/historical/markets/{m['ticker']}"),
        )
        body = c.get_json(
            f"/historical/markets/{m['ticker']}/candlesticks",
            {"start_ts": now - 30 * 86_400, "end_ts": now, "period_interval": 60},
        )
        check(spec, validator_for, "get", "/historical/markets/{ticker}/candlesticks", 200, body)
    walk(c, spec, validator_for, "/historical/trades", "trades", limit=1000)
    for f in (
        {"ticker": hist[0]["ticker"]},
        {"event_ticker": hist[0]["event_ticker"]},
        {"mve_filter": "exclude"},
    ):
        walk(c, spec, validator_for, "/historical/markets", "markets", f, limit=10)


def test_portfolio_endpoints_match_the_spec(scenario, spec, validator_for):
    for c in (scenario.a, scenario.b):
        check(spec, validator_for, "get", "/portfolio/balance", 200, c.get_json("/portfolio/balance"))
        for tpl, key in (
            ("/portfolio/fills", "fills"),
            ("/portfolio/orders", "orders"),
            ("/portfolio/settlements", "settlements"),
            ("/historical/fills", "fills"),
            ("/historical/orders", "orders"),
        ):
            rows = walk(c, spec, validator_for, tpl, key, limit=3)
            if rows:
                got = walk(c, spec, validator_for, tpl, key, {"ticker": rows[0]["ticker"]}, limit=2)
                assert got and {r["ticker"] for r in got} == {rows[0]["ticker"]}
                walk(
                    c,
                    spec,
                    validator_for,
                    tpl,
                    key,
                    {"min_ts": 1_700_000_000, "max_ts": 1_900_000_000},
                    limit=50,
                )
            if rows and key == "fills":
                got = walk(c, spec, validator_for, tpl, key, {"order_id": rows[0]["order_id"]}, limit=2)
                assert got and {f["order_id"] for f in got} == {rows[0]["order_id"]}
            if rows and key == "settlements":
                walk(c, spec, validator_for, tpl, key, {"event_ticker": rows[0]["event_ticker"]}, limit=2)
        for tpl in ("/portfolio/positions", "/historical/positions"):
            for f in (
                {},
                {"count_filter": "position"},
                {"count_filter": "total_traded"},
                {"event_ticker": scenario.tickers[0].rsplit("-", 1)[0]},
            ):
                for body in c.pages(tpl, "market_positions", f, 2):
                    check(spec, validator_for, "get", tpl, 200, body)
        orders = (
            c.get_json("/historical/orders", {"limit": 1})["orders"]
            or c.get_json("/portfolio/orders")["orders"]
        )
        for o in orders[:3]:
            r = c.get(f"/portfolio/orders/{o['order_id']}")
            check(spec, validator_for, "get", "/portfolio/orders/{order_id}", 200, r.json())
        check(
            spec,
            validator_for,
            "get",
            "/portfolio/orders/queue_positions",
            200,
            c.get_json("/portfolio/orders/queue_positions"),
        )
        for st in ("resting", "canceled", "executed"):
            walk(c, spec, validator_for, "/portfolio/orders", "orders", {"status": st}, limit=5)


def test_errors_use_kalshi_body(scenario, spec, validator_for):
    c = scenario.a
    cases = [
        (c.get("/markets", {"limit": 5000}), 400),
        (c.get("/markets", {"status": "active"}), 400),
        (c.get("/markets/NOPE"), 404),
        (c.get("/portfolio/fills", {"limit": 0}), 400),
        (scenario.anon.get("/portfolio/balance"), 401),
        (c.get("/markets", {"min_updated_ts": 1, "status": "open"}), 400),
        (c.get("/markets", {"min_close_ts": 1, "status": "open"}), 400),
        (c.post("/portfolio/events/orders", {"ticker": scenario.tickers[0], "side": "bid"}), 400),
    ]
    for r, status in cases:
        assert r.status_code == status, r.text
        body = r.json()
        assert set(body) == {"code", "message", "details"}, body
        jsonschema.Draft202012Validator(_convert(spec["components"]["schemas"]["ErrorResponse"])).validate(
            body
        )


# ---------------------------------------------------------------------------------------------------
# comparison with genuine recordings
# ---------------------------------------------------------------------------------------------------
FREE_TEXT = {
    "expiration_value",
    "title",
    "subtitle",
    "yes_sub_title",
    "no_sub_title",
    "rules_primary",
    "rules_secondary",
    "early_close_condition",
}


def _shape(v, key=None):
    if key in FREE_TEXT:
        return "str"
    if isinstance(v, bool):
        return "bool"
    if v is None:
        return "null"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "num"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "dict"
    for name, rx in (("d4", D4), ("d6", D6), ("d2", D2), ("ts", RFC3339)):
        if rx.match(v):
            return name
    return "str"


def _load(rel, key):
    data = json.loads((REAL / rel).read_text())
    v = data[key]
    return v if isinstance(v, list) else [v]


def _compare(recorded: list[dict], ours: list[dict], removed: set[str], what: str):
    assert recorded and ours, what
    always = set.intersection(*(set(r) for r in recorded)) - removed
    seen = set.union(*(set(r) for r in recorded))
    for o in ours:
        missing = always - set(o)
        assert not missing, f"{what}: keys every recording has are missing: {sorted(missing)}"
        assert not (set(o) & removed), f"{what}: removed keys present: {sorted(set(o) & removed)}"
    rec_shapes: dict[str, set] = {}
    for r in recorded:
        for k, v in r.items():
            rec_shapes.setdefault(k, set()).add(_shape(v, k))
    for o in ours:
        for k, v in o.items():
            if k in rec_shapes and v is not None:
                num = {"int", "num"}
                sh = _shape(v, k)
                ok = sh in rec_shapes[k] or (sh in num and rec_shapes[k] & num)
                assert ok, f"{what}.{k}: {v!r} has format {sh}, recordings use {rec_shapes[k]}"
    return seen


def test_markets_look_like_the_recordings(scenario):
    c = scenario.anon
    rec = []
    for f in ("markets__page1.json", "markets__status_settled.json", "markets__high_temp.json"):
        rec += _load(f"fortuna_demo/{f}", "markets")
    rec += _load("fortuna_demo/markets__single.json", "market")
    ours = c.get_json("/markets", {"limit": 1000})["markets"]
    _compare(rec, ours, REMOVED["Market"], "market")
    settled_rec = [m for m in rec if m["status"] == "finalized"]
    settled = [m for m in ours if m["status"] == "finalized"]
    _compare(settled_rec, settled, REMOVED["Market"], "settled market")
    for m in ours:
        for pr in m["price_ranges"]:
            assert all(D4.match(pr[k]) for k in ("start", "end", "step"))


def test_trades_fills_orders_positions_look_like_the_recordings(scenario):
    a = scenario.a
    trades = scenario.anon.get_json("/markets/trades", {"limit": 200})["trades"]
    rec_trades = _load("manta_prod/trades_window.json", "trades") + _load(
        "fortuna_demo/trades__public_recorded.json", "trades"
    )
    seen = _compare(rec_trades, trades, REMOVED["Trade"], "trade")
    assert all(set(t) <= seen for t in trades), "trades carry keys the recordings never show"
    fills = a.get_json("/historical/fills", {"limit": 100})["fills"] + a.get_json("/portfolio/fills")["fills"]
    _compare(_load("fortuna_demo/fills__after_taker.json", "fills"), fills, REMOVED["Fill"], "fill")
    orders = (
        a.get_json("/historical/orders", {"limit": 100})["orders"] + a.get_json("/portfolio/orders")["orders"]
    )
    _compare(_load("fortuna_demo/portfolio__orders_list.json", "orders"), orders, REMOVED["Order"], "order")
    asks = [o for o in orders if o["book_side"] == "ask"]
    assert asks and all(
        o["side"] == "yes" and o["action"] == "sell" and o["outcome_side"] == "no" for o in asks
    )
    body = json.loads((REAL / "fortuna_demo/portfolio__positions.json").read_text())
    pos = scenario.b.get_json("/portfolio/positions", {"limit": 1000})
    hist = scenario.b.get_json("/historical/positions", {"limit": 1000})
    mp = pos["market_positions"] + hist["market_positions"]
    ep = pos["event_positions"] + hist["event_positions"]
    _compare(body["market_positions"], mp, REMOVED["MarketPosition"], "market position")
    _compare(body["event_positions"], ep, set(), "event position")


def test_orderbook_candles_status_look_like_the_recordings(scenario):
    c = scenario.anon
    m = c.get_json("/markets", {"status": "open", "limit": 1})["markets"][0]
    rec_book = json.loads((REAL / "fortuna_demo/orderbook__base.json").read_text())
    book = c.get_json(f"/markets/{m['ticker']}/orderbook")
    assert set(book) == set(rec_book) and set(book["orderbook_fp"]) == set(rec_book["orderbook_fp"])
    rec_status = json.loads((REAL / "fortuna_demo/exchange__status.json").read_text())
    assert set(c.get_json("/exchange/status")) == set(rec_status)
    rec = json.loads((REAL / "manta_prod/candlesticks.json").read_text())
    series = m["event_ticker"].split("-")[0]
    open_ts = int(
        __import__("datetime").datetime.fromisoformat(m["open_time"].replace("Z", "+00:00")).timestamp()
    )
    ours = c.get_json(
        f"/series/{series}/markets/{m['ticker']}/candlesticks",
        {"start_ts": open_ts, "end_ts": open_ts + 20 * 3600, "period_interval": 60},
    )
    assert set(ours) == set(rec)
    _compare(rec["candlesticks"], ours["candlesticks"], set(), "candlestick")
    rec_price_keys = {frozenset(x["price"]) for x in rec["candlesticks"]}
    for cs in ours["candlesticks"]:
        assert frozenset(cs["price"]) in rec_price_keys, cs["price"]
        for side in ("yes_bid", "yes_ask"):
            assert set(cs[side]) == set(rec["candlesticks"][0][side])
