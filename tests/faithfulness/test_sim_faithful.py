"""The local exchange answers like the real API on the points the recordings and the spec pin down and that the
sim's own tests do not already cover: newest-first order across pages (trades, fills, orders, live and
historical), the markets ``status`` query vocabulary vs the response vocabulary, limit bounds per endpoint
family, ``/series`` without a cursor, and the lake's pull of the local exchange matching the exchange's own rows."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.orders.front import Orders
from kalshi_extract.settings import Settings
from kalshi_sim import LocalExchange
from tests.faithfulness import variants as V


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def world():
    """A small exchange where one account traded in several markets at different times (fills + orders)."""
    with LocalExchange(seed=5, size="small") as ex:
        acct = ex.create_account(balance_cents=1_000_000)
        settings = Settings.load(environ={**acct.env, "KALSHI_TIER": "unlimited"}, config_path=None)
        client = KalshiClient(settings)
        orders = Orders(client)
        for round_ in range(6):
            markets = [
                m
                for m in client.get_markets(status="open")
                if m["yes_ask_dollars"] not in ("0.0000", "1.0000")
                and m["price_level_structure"] == "linear_cent"
            ][:3]
            for m in markets:
                orders.buy(m["ticker"], "yes", "1.00", m["yes_ask_dollars"], time_in_force="ioc")
                orders.buy(m["ticker"], "yes", "1.00", "0.0100")  # rests
            # after round 3 the historical cutoff moves past the first rounds: /historical/* has rows too
            ex.advance(4 * 86_400 if round_ == 2 else 3 * 3600)
        yield ex, client
        client.close()


def _walk(client, path, key, limit, **params):
    items, pages = [], 0
    for page in client.paginate(path, {"limit": limit, **params}, data_key=key):
        items += page.items
        pages += 1
    return items, pages


@pytest.mark.parametrize(
    "path,key,limit",
    [
        ("/markets/trades", "trades", 37),
        ("/historical/trades", "trades", 37),
        ("/portfolio/fills", "fills", 2),
        ("/portfolio/orders", "orders", 3),
        ("/historical/fills", "fills", 2),
        ("/historical/orders", "orders", 3),
    ],
)
def test_lists_are_newest_first_across_pages(world, path, key, limit):
    ex, client = world
    items, pages = _walk(client, path, key, limit)
    assert pages >= 3, f"{path}: the world should give several pages"
    times = [_t(i["created_time"]) for i in items]
    assert times == sorted(times, reverse=True), f"{path}: not newest first across {pages} pages"
    ids = [i.get("trade_id") or i.get("fill_id") or i.get("order_id") for i in items]
    assert len(ids) == len(set(ids)), f"{path}: a row appears on two pages"


def test_live_and_historical_meet_at_the_cutoff(world):
    ex, client = world
    cut = _t(client.get_historical_cutoff()["trades_created_ts"])
    live, _ = _walk(client, "/markets/trades", "trades", 1000)
    hist, _ = _walk(client, "/historical/trades", "trades", 1000)
    assert live and hist
    assert min(_t(t["created_time"]) for t in live) >= cut > max(_t(t["created_time"]) for t in hist)


QUERY_TO_RESPONSE = {  # the /markets status filter vocabulary vs Market.status (notes §4.1)
    "unopened": {"initialized"},
    "open": {"active"},
    "paused": {"inactive"},
    "closed": {"closed"},
    "settled": {"determined", "disputed", "amended", "finalized"},
}


def test_market_status_query_vocabulary_differs_from_response(world):
    ex, client = world
    spec_enum = set(V.spec_schemas()["Market"]["properties"]["status"]["enum"])
    seen = set()
    for query, allowed in QUERY_TO_RESPONSE.items():
        statuses = {m["status"] for m in client.get_markets(status=query)}
        assert statuses <= allowed, (query, statuses)
        seen |= statuses
    assert {"active", "finalized"} <= seen and seen <= spec_enum
    for response_word in ("active", "finalized", "initialized"):
        r = requests.get(ex.base_url + "/markets", params={"status": response_word}, timeout=10)
        assert r.status_code == 400 and set(r.json()) == {"code", "message", "details"}


LIMITS = [  # (path, lowest accepted, highest accepted) — MarketLimitQuery 0–1000, LimitQuery 1–1000, events 1–200
    ("/markets", 0, 1000),
    ("/markets/trades", 0, 1000),
    ("/historical/markets", 0, 1000),
    ("/historical/trades", 0, 1000),
    ("/events", 1, 200),
    ("/portfolio/fills", 1, 1000),
    ("/portfolio/orders", 1, 1000),
    ("/portfolio/settlements", 1, 1000),
    ("/portfolio/positions", 1, 1000),
    ("/historical/fills", 1, 1000),
    ("/historical/orders", 1, 1000),
]


@pytest.mark.parametrize("path,lo,hi", LIMITS)
def test_limit_bounds_per_endpoint(world, path, lo, hi):
    ex, client = world
    for limit, ok in ((lo, True), (hi, True), (lo - 1, False), (hi + 1, False)):
        try:
            client.get(path, {"limit": limit})
            status = 200
        except Exception as exc:  # noqa: BLE001 - the typed API error carries the status
            status = getattr(exc, "status", None)
            assert getattr(exc, "code", None), f"{path} limit={limit}: error without a Kalshi code"
        assert (status == 200) == ok, (path, limit, status)


def test_series_has_no_cursor_events_and_markets_do(world):
    ex, client = world
    body = client.get("/series")
    assert set(body) == {"series"} and body["series"]
    assert "cursor" in client.get("/events", {"limit": 1})
    assert "cursor" in client.get("/markets", {"limit": 1})
    last = client.get("/markets", {"tickers": body["series"][0]["ticker"] + "-NONE"})
    assert last == {"markets": [], "cursor": ""}


def test_series_events_settlements_balance_keys_cover_the_samples(world):
    """Key sets of the objects only documented by samples (constructed from the spec) and the spec's examples:
    everything the sample shows is there, minus what v3.31 removed (events' available_on_brokers)."""
    ex, client = world
    docs = {
        "series": (
            V.load(V.DOCS / "docsample_series_response.json")["series"],
            client.get("/series")["series"],
        ),
        "event": (
            V.load(V.DOCS / "docsample_event_response.json")["event"],
            client.get("/events", {"limit": 5})["events"],
        ),
        "settlement": (
            V.recorded(V.DOCS / "docsample_settlements_response.json", "settlements")[0],
            list(client.get_settlements()),
        ),
    }
    removed = {"event": {"available_on_brokers"}}
    for what, (sample, ours) in docs.items():
        assert ours, f"the world has no {what}"
        want = set(sample) - removed.get(what, set())
        for obj in ours:
            assert want <= set(obj), f"{what}: missing {sorted(want - set(obj))}"
    balance = client.get_balance()
    assert {"balance", "balance_dollars", "portfolio_value", "updated_ts"} <= set(balance)
    assert isinstance(balance["balance"], int) and isinstance(balance["updated_ts"], int)
    # balances are kept at $0.0001 (docs fee_rounding): the integer cents are the same amount to within a cent
    assert abs(V.Decimal(balance["balance_dollars"]) * 100 - balance["balance"]) < 1


def _exact(client, path: str, key: str, **params) -> list[dict]:
    """Every item of a list endpoint with JSON numbers kept exact (strikes are JSON numbers)."""
    import json
    from decimal import Decimal

    out = []
    for page in client.paginate(path, {"limit": 1000, **params}, data_key=key):
        out += json.loads(page.body, parse_float=Decimal)[key]
    return out


def test_the_lake_of_the_local_exchange_holds_exactly_what_it_served(world, tmp_path):
    """Pull every stream from the local exchange: the exchange sends no field the lake's schemas do not know
    (each one would be a field the real API does not have, or one the lake misses), and the landed rows equal the
    exchange's own answers value for value."""
    from kalshi_extract.ingest.pull import STREAM_NAMES, Selection, pull
    from kalshi_extract.ingest.streams import STREAMS
    from kalshi_extract.lake.schemas import STREAM_COLUMNS
    from kalshi_extract.lake.store import Lake
    from tests.faithfulness.oracle import check_rows

    ex, client = world
    lake = Lake(str(tmp_path / "lake"))
    streams = [s for s in STREAM_NAMES if s != "candlesticks"]
    result = pull(client, lake, streams, Selection())
    assert result.ok, [(s.stream, s.error) for s in result.streams if not s.ok]
    unknown = {s.stream: s.unknown_fields for s in result.streams if s.unknown_fields}
    assert not unknown, f"the local exchange sent fields the lake does not know: {unknown}"

    # subaccount_number of a per-subaccount stream comes from the request, not the response (test_subaccounts.py)
    cols = {
        name: {
            c.name: c.kind
            for c in spec
            if not (c.name == "subaccount_number" and name in STREAMS and STREAMS[name].per_subaccount)
        }
        for name, spec in STREAM_COLUMNS.items()
    }
    served = {
        "trades": list(client.get_trades()) + list(client.get_historical_trades()),
        "fills": list(client.get_fills()) + list(client.get_historical_fills()),
        "settlements": list(client.get_settlements()),
        "orders": list(client.get_orders()) + list(client.get_historical_orders()),
        "markets": _exact(client, "/markets", "markets", mve_filter="exclude")
        + _exact(client, "/historical/markets", "markets", mve_filter="exclude"),
    }
    keys = {
        "trades": lambda r: r["trade_id"],
        "fills": lambda r: r["fill_id"],
        "settlements": lambda r: (r["ticker"], r["settled_time"]),
        "orders": lambda r: r["order_id"],
        "markets": lambda r: r["ticker"],
    }
    for stream, items in served.items():
        assert items, stream
        check_rows(cols[stream], items, lake.read(stream).to_pylist(), keys[stream], stream)
    positions = {k: v for k, v in cols["positions"].items() if k != "snapshot_ts"}
    rows = lake.read("positions").to_pylist()
    check_rows(positions, list(client.get_positions()), rows, lambda r: r["ticker"], "positions")
