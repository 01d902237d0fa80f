"""Genuine-shaped responses (recordings × systematic variations) through the real path:
loopback HTTP → KalshiClient.paginate → pull/convert → Parquet → read back, every value compared exactly
(the expected values come from :mod:`tests.faithfulness.oracle`, plain Python, no project code).

Variations (see :mod:`tests.faithfulness.variants`), per stream where they apply:

- time spellings: 9 fraction digits, none, 0–9 mixed with ``Z`` and ``+00:00`` in one page, Go's zero time;
  Unix-second ints (``Fill.ts``, ``end_period_ts``, ``updated_ts``); the cutoff and market times too;
- fields a newer API adds (kept exactly in ``_extra``) or removed in 2026 (``taker_side``, ``resting_orders_count``,
  ``liquidity_dollars``, ``side``/``action``…), ``exchange_index``, optional fields missing, nulls where nullable;
- eras: integer cents / integer counts only (``yes_price: 45``, ``count: 10``, candles ``{"open": 45}``), both side
  by side, fills named by ``trade_id``/``market_ticker`` only, ``yes_price_fixed``; historical candle names,
  ``price: {}`` and ``price: null`` on no-trade candles;
- values: deci-cent prices ``"0.0010"``, fractional and negative counts, 6-dp ``fee_cost``, scalar and tapered
  markets, JSON-number strikes and fee multipliers kept exact;
- paging: last page with ``cursor`` ``""``, ``null`` or missing, empty pages mid-list, ``/series`` without a
  cursor, opaque base64 cursors, 429 with Kalshi's body between pages, gzip + chunked bodies, milestones and
  ``event_positions`` side keys, null/missing/empty order-book sides;
- every request a pull makes is checked against the spec's query parameters (names, enums, limit bounds).
"""

from __future__ import annotations

import pytest

from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.ingest.streams import STREAMS
from kalshi_extract.lake.schemas import STREAM_COLUMNS
from tests.faithfulness import variants as V
from tests.faithfulness.conftest import OLD_CUTOFF as OLD_CUTOFF_KEYS
from tests.faithfulness.oracle import check_rows, parse_time

pytestmark = pytest.mark.skipif(not V.REAL.exists(), reason="recorded responses not available")

# subaccount_number of a per-subaccount stream is set by the pull (the request's subaccount), not sent by the API:
# tests/sim/test_subaccounts.py checks it
COLS = {
    name: {
        c.name: c.kind
        for c in cols
        if not (c.name == "subaccount_number" and name in STREAMS and STREAMS[name].per_subaccount)
    }
    for name, cols in STREAM_COLUMNS.items()
}

# 9 digits everywhere (nanosecond clocks), none, and 0–9 digits with Z and +00:00 mixed within one page
TIME_STYLES = [V.time_spelling(s) for s in ("nanos", "no_fraction", "mixed")]


def _ids(fns):
    return [getattr(f, "__name__", str(f)) for f in fns]


def split_pages(items: list[dict], key: str, sizes=(3, 0, 5)) -> list[dict]:
    """Pages of a list response: a few short pages, an empty page in the middle (the API sends those), the rest."""
    pages, i = [], 0
    for n in sizes:
        pages.append({key: items[i : i + n]})
        i += n
    pages.append({key: items[i:]})
    return pages


def land(api, client, lake, stream: str, sel: Selection | None = None):
    """Pull one stream; it must succeed, and every request it made must be one the real API accepts."""
    result = pull(client, lake, [stream], sel or Selection())
    res = result.streams[0]
    assert res.ok, res.error
    for path, query, _ in api.requests:
        problems = V.spec_query_problems(path, query)
        assert not problems, problems
    return res, lake.read(stream).to_pylist()


# ---------------------------------------------------------------------------------------------------------------
# trades
# ---------------------------------------------------------------------------------------------------------------
T_PROD = V.recorded(V.PROD / "trades_window.json", "trades")
TRADES = T_PROD + V.recorded(V.DEMO / "trades__public_recorded.json", "trades")
TRADE_VARIANTS = [
    *TIME_STYLES,
    V.with_new_fields,
    V.cent_era,
    V.both_eras,
    V.subcent_and_fractional,
    V.dropped("taker_side"),  # v3.31: taker_side removed
]


ENDS = ("empty", "null", "missing")  # the last page's cursor: "", null, or no cursor key at all


@pytest.mark.parametrize("i,variant", list(enumerate(TRADE_VARIANTS)), ids=_ids(TRADE_VARIANTS))
def test_trades(api, client, lake, i, variant):
    items = V.vary(TRADES, variant)
    api.pages("/markets/trades", split_pages(items, "trades"), end=ENDS[i % 3])
    res, rows = land(api, client, lake, "trades")
    check_rows(COLS["trades"], items, rows, lambda r: r["trade_id"], "trades")
    assert res.rows == len(items)


# ---------------------------------------------------------------------------------------------------------------
# markets (state stream; numbers such as floor_strike parsed exactly)
# ---------------------------------------------------------------------------------------------------------------
MARKETS = (
    V.recorded(V.DEMO / "markets__page1.json", "markets")
    + V.recorded(V.DEMO / "markets__status_settled.json", "markets")
    + V.recorded(V.DEMO / "markets__high_temp.json", "markets")
    + V.recorded(V.DEMO / "markets__single.json", "market")
    + V.recorded(V.DOCS / "docsample_markets_response_page1.json", "markets")
)
_SETTLED = V.recorded(V.DEMO / "markets__status_settled.json", "markets")[0]
MARKETS += [
    {  # another market type: a settled scalar market with a floor-bounded settlement
        **{
            k: v
            for k, v in _SETTLED.items()
            if k not in ("custom_strike", "mve_selected_legs", "mve_collection_ticker")
        },
        "ticker": "KXPAYROLLS-26JUN05-S",
        "event_ticker": "KXPAYROLLS-26JUN05",
        "market_type": "scalar",
        "strike_type": "between",
        "floor_strike": V.Decimal("0.0"),
        "cap_strike": V.Decimal("300.0"),
        "result": "scalar",
        "settlement_value_dollars": "0.4150",
        "expiration_value": "124.5",
        "settlement_bounds_type": "floor",
        "settlement_floor_dollars": "0.0100",
    },
    {  # another price grid: tapered deci-cent with sub-cent quotes at the tails
        **V.recorded(V.DEMO / "markets__single.json", "market")[0],
        "ticker": "KXBTCD-26JUN1117-T104999.99",
        "event_ticker": "KXBTCD-26JUN1117",
        "strike_type": "greater",
        "floor_strike": V.Decimal("104999.99"),
        "custom_strike": None,
        "price_level_structure": "tapered_deci_cent",
        "price_ranges": [
            {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
            {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
            {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
        ],
        "yes_bid_dollars": "0.0030",
        "yes_ask_dollars": "0.0040",
        "no_bid_dollars": "0.9960",
        "no_ask_dollars": "0.9970",
        "yes_bid_size_fp": "1250.50",
    },
]
MARKET_VARIANTS = [
    *TIME_STYLES,
    V.with_new_fields,
    V.without_optional("Market"),
    V.nulls_where_nullable("Market"),
    V.cent_era,
    V.both_eras,
    # v3.31: removed legacy fields, added exchange_index
    V.dropped("response_price_units", "liquidity_dollars", "fractional_trading_enabled", "title", "subtitle"),
    V.added(
        exchange_index=0, fee_waiver_expiration_time="2026-12-31T23:59:59Z", settlement_floor_dollars="0.2500"
    ),
    V.added(floor_strike=V.Decimal("104999.99"), cap_strike=V.Decimal("0.000125"), functional_strike="x^2"),
]


@pytest.mark.parametrize("i,variant", list(enumerate(MARKET_VARIANTS)), ids=_ids(MARKET_VARIANTS))
def test_markets(api, client, lake, i, variant):
    items = V.vary(MARKETS, variant)
    # markets settled before the cutoff are only on /historical/markets (same Market shape)
    archived = [m for m in items if m.get("status") == "finalized"]
    live = [m for m in items if m not in archived]
    assert archived and live
    api.pages("/markets", split_pages(live, "markets", sizes=(4, 0, 10)), end=ENDS[i % 3])
    api.pages(
        "/historical/markets", [{"markets": archived[:2]}, {"markets": archived[2:]}], end=ENDS[(i + 1) % 3]
    )
    res, rows = land(api, client, lake, "markets")
    check_rows(COLS["markets"], items, rows, lambda r: r["ticker"], "markets")
    for q in api.calls("/markets") + api.calls("/historical/markets"):
        assert q.get("mve_filter") == ["exclude"]  # the normal market universe (combo legs excluded)


# ---------------------------------------------------------------------------------------------------------------
# fills, orders, settlements, positions (private streams)
# ---------------------------------------------------------------------------------------------------------------
FILLS = V.recorded(V.DEMO / "fills__after_taker.json", "fills") + V.recorded(
    V.DOCS / "docsample_fills_response.json", "fills"
)
FILL_VARIANTS = [
    *TIME_STYLES,
    V.with_new_fields,
    V.without_optional("Fill"),  # created_time, subaccount_number and ts are optional
    V.nulls_where_nullable("Fill"),
    V.cent_era,  # yes_price: 52, count: 1, side/action, fee_cost still a string
    V.both_eras,
    V.subcent_and_fractional,
    V.dropped("side", "action", "trade_id", "market_ticker", "ts"),
    V.added(exchange_index=1),
    V.dropped("fill_id", "ticker"),  # the oldest fills: trade_id and market_ticker are the original names
    V.renamed(yes_price_dollars="yes_price_fixed", no_price_dollars="no_price_fixed"),  # the *_fixed spelling
]


@pytest.mark.parametrize("i,variant", list(enumerate(FILL_VARIANTS)), ids=_ids(FILL_VARIANTS))
def test_fills(api, client, lake, i, variant):
    items = V.vary(FILLS, variant)
    api.pages("/portfolio/fills", split_pages(items, "fills", sizes=(1, 0, 2)), end=ENDS[i % 3])
    res, rows = land(api, client, lake, "fills")
    check_rows(COLS["fills"], items, rows, lambda r: r["fill_id"], "fills")
    assert {r["_account"] for r in rows} == {"default"}


def test_fills_of_the_oldest_shape_top_up(api, client, lake):
    """Fills that only have ``trade_id`` (the original name of the fill id): a second run lands the new fill."""
    old = V.vary(FILLS[:3], V.cent_era, V.dropped("fill_id"))
    api.pages("/portfolio/fills", [{"fills": old[1:]}])
    land(api, client, lake, "fills")
    api.pages("/portfolio/fills", [{"fills": old}])
    res, rows = land(api, client, lake, "fills")
    check_rows(COLS["fills"], old, rows, lambda r: r["fill_id"], "fills")
    assert res.rows == 1


ORDERS = V.recorded(V.DEMO / "portfolio__orders_list.json", "orders")


def _go_zero_and_nanos(order: dict) -> dict:
    """Go's zero time (an unset time.Time) next to nanosecond times within one column."""
    zero = sum(map(ord, order["order_id"])) % 2 == 0
    return {**order, "expiration_time": "0001-01-01T00:00:00Z" if zero else "2026-06-12T06:29:30.123456789Z"}


ORDER_VARIANTS = [
    *TIME_STYLES,
    _go_zero_and_nanos,
    V.with_new_fields,
    V.without_optional("Order"),
    V.nulls_where_nullable("Order", keep=("created_time",)),
    V.cent_era,
    V.both_eras,
    V.subcent_and_fractional,
    V.dropped("side", "action", "type"),
    V.added(exchange_index=0, order_group_id="6b7f0c3e-9b1f-4a57-9d0e-1c1d2e3f4a5b"),
]


def _status_filter(query: dict, item: dict) -> bool:
    return "status" not in query or item.get("status") == query["status"]


@pytest.mark.parametrize("i,variant", list(enumerate(ORDER_VARIANTS)), ids=_ids(ORDER_VARIANTS))
def test_orders(api, client, lake, i, variant):
    items = V.vary(ORDERS, variant)
    api.pages("/portfolio/orders", split_pages(items, "orders", sizes=(2, 0, 3)), ENDS[i % 3], _status_filter)
    res, rows = land(api, client, lake, "orders")
    check_rows(COLS["orders"], items, rows, lambda r: r["order_id"], "orders")


def _settlement(**over) -> dict:
    base = V.recorded(V.DOCS / "docsample_settlements_response.json", "settlements")[0]
    return {**base, **over}


SETTLEMENTS = [
    _settlement(),
    _settlement(ticker="KXA-1", market_result="no", revenue=0, value=0, fee_cost="0.017500"),
    _settlement(  # a scalar market settling at 41.5¢: no whole-cent `value` (nullable), revenue 10 × 41.5¢
        ticker="KXPAYROLLS-26JUN05-S",
        event_ticker="KXPAYROLLS-26JUN05",
        market_result="scalar",
        revenue=415,
        value=None,
        settled_time="2026-06-11T05:38:35.804719Z",
    ),
    _settlement(ticker="KXA-3", no_count_fp="2.50", no_total_cost_dollars="1.2250", yes_count_fp="0.00"),
]
SETTLEMENT_VARIANTS = [
    *TIME_STYLES,
    V.with_new_fields,
    V.nulls_where_nullable("Settlement"),
    V.cent_era,  # yes_count: 10, yes_total_cost: 560 (cents)
    V.added(exchange_index=0),
]


@pytest.mark.parametrize("i,variant", list(enumerate(SETTLEMENT_VARIANTS)), ids=_ids(SETTLEMENT_VARIANTS))
def test_settlements(api, client, lake, i, variant):
    items = V.vary(SETTLEMENTS, variant)
    api.pages("/portfolio/settlements", split_pages(items, "settlements", sizes=(1, 0, 1)), end=ENDS[i % 3])
    res, rows = land(api, client, lake, "settlements")
    check_rows(COLS["settlements"], items, rows, lambda r: (r["ticker"], r["settled_time"]), "settlements")


def test_settlements_empty_list(api, client, lake):
    api.routes["/portfolio/settlements"] = lambda q: V.load(V.DEMO / "settlements__page.json")
    res, rows = land(api, client, lake, "settlements")
    assert rows == [] and res.rows == 0


POSITIONS = V.recorded(V.DEMO / "portfolio__positions.json", "market_positions") + V.recorded(
    V.DOCS / "docsample_positions_response.json", "market_positions"
)
POSITION_VARIANTS = [
    *TIME_STYLES,
    V.with_new_fields,
    V.dropped("resting_orders_count"),  # removed 2026-07-09
    V.added(exchange_index=0),
    V.cent_era,  # position: 3, total_traded: 250 …
    lambda p: {**p, "position_fp": "-" + p["position_fp"].lstrip("-")},  # NO positions are negative
]


@pytest.mark.parametrize("i,variant", list(enumerate(POSITION_VARIANTS)), ids=_ids(POSITION_VARIANTS))
def test_positions(api, client, lake, i, variant):
    items = V.vary(POSITIONS, variant)
    events = V.recorded(V.DEMO / "portfolio__positions.json", "event_positions")
    pages = [
        {"market_positions": items[:1], "event_positions": events},
        {"market_positions": items[1:], "event_positions": []},
    ]
    api.pages("/portfolio/positions", pages, end=ENDS[i % 3])
    res, rows = land(api, client, lake, "positions")
    cols = {k: v for k, v in COLS["positions"].items() if k != "snapshot_ts"}
    check_rows(cols, items, rows, lambda r: r["ticker"], "positions")
    assert len({r["snapshot_ts"] for r in rows}) == 1 and rows[0]["snapshot_ts"] is not None


# ---------------------------------------------------------------------------------------------------------------
# series (no cursor at all) and events (nested markets, milestones)
# ---------------------------------------------------------------------------------------------------------------
def _series(**over) -> dict:
    return {**V.recorded(V.DOCS / "docsample_series_response.json", "series")[0], **over}


SERIES = [
    _series(),
    _series(
        ticker="KXBTCD",
        fee_type="quadratic_with_maker_fees",
        fee_multiplier=V.Decimal("0.5"),
        tags=None,
        settlement_sources=None,
        categories=["Crypto"],
        additional_prohibitions=["x"],
    ),
    _series(
        ticker="KXINX",
        fee_type="flat",
        fee_multiplier=V.Decimal("0.035"),
        product_metadata={"a": {"b": 1}},
        volume_fp="123456.50",
        last_updated_ts="2026-06-11T05:38:35.821369Z",
        exchange_index=0,
    ),
]
SERIES_VARIANTS = [*TIME_STYLES, V.with_new_fields, V.nulls_where_nullable("Series"), V.dropped("category")]


@pytest.mark.parametrize("variant", SERIES_VARIANTS, ids=_ids(SERIES_VARIANTS))
def test_series_list_without_cursor(api, client, lake, variant):
    items = V.vary(SERIES, variant)
    api.routes["/series"] = lambda q: {"series": items}  # GET /series has no cursor key
    res, rows = land(api, client, lake, "series")
    check_rows(COLS["series"], items, rows, lambda r: r["ticker"], "series")
    assert len(api.calls("/series")) == 1


def _event(**over) -> dict:
    return {**V.recorded(V.DOCS / "docsample_event_response.json", "event")[0], **over}


EVENTS = [
    _event(),
    _event(
        event_ticker="KXHIGHNY-26JUN15",
        collateral_return_type="MECNET",
        strike_date="2026-06-15T14:00:00Z",
        strike_period="",
        fee_type_override="quadratic",
        fee_multiplier_override=V.Decimal("0.75"),
        last_updated_ts="2026-06-14T10:40:10.170277Z",
        product_metadata={"k": "v"},
        settlement_sources=[{"name": "NWS", "url": "https://www.weather.gov"}],
    ),
    _event(
        event_ticker="KXHIGHNY-26JUN16",
        collateral_return_type="",
        mutually_exclusive=False,
        markets=V.recorded(V.DEMO / "markets__high_temp.json", "markets")[:2],
    ),  # with_nested_markets
]
EVENT_VARIANTS = [
    *TIME_STYLES,
    V.with_new_fields,
    V.nulls_where_nullable("EventData"),
    V.dropped("available_on_brokers", "category"),  # removed 2026-09-10 / deprecated
    V.added(exchange_index=0),
]
MILESTONE = {
    "id": "m-1",
    "category": "sports",
    "type": "football_game",
    "start_date": "2026-06-15T17:00:00Z",
    "end_date": None,
    "related_event_tickers": ["KXHIGHNY-26JUN15"],
    "title": "t",
    "notification_message": "",
    "source_id": None,
    "source_ids": {},
    "details": {},
    "primary_event_tickers": [],
    "last_updated_ts": "2026-06-14T10:40:10Z",
}


@pytest.mark.parametrize("i,variant", list(enumerate(EVENT_VARIANTS)), ids=_ids(EVENT_VARIANTS))
def test_events(api, client, lake, i, variant):
    items = V.vary(EVENTS, variant)
    pages = [
        {"events": items[:1], "milestones": [MILESTONE]},
        {"events": []},
        {"events": items[1:], "milestones": []},
    ]
    api.pages("/events", pages, end=ENDS[i % 3])
    res, rows = land(api, client, lake, "events")
    check_rows(COLS["events"], items, rows, lambda r: r["event_ticker"], "events")
    for q in api.calls("/events"):
        assert 1 <= int(q["limit"][-1]) <= 200  # /events takes 1–200, not 1000


# ---------------------------------------------------------------------------------------------------------------
# candlesticks: live shape, historical shape, price {} on no-trade candles, integer-cent era
# ---------------------------------------------------------------------------------------------------------------
CANDLE_TICKER = "KXATPSETWINNER-26AUG24DRORIN-1-DRO"
CANDLES = V.recorded(V.PROD / "candlesticks.json", "candlesticks")


def _historical_shape(c: dict) -> dict:
    """MarketCandlestickHistorical: the same values under the short names (open, volume …)."""
    out = {
        "end_period_ts": c["end_period_ts"],
        "volume": c["volume_fp"],
        "open_interest": c["open_interest_fp"],
    }
    for group in ("yes_bid", "yes_ask", "price"):
        out[group] = {k.removesuffix("_dollars"): v for k, v in c[group].items()}
    if not c["price"]:
        out["price"] = {k: None for k in ("open", "low", "high", "close", "mean", "previous")}
    return out


def _cent_era_candle(c: dict) -> dict:
    """2024-era candle: integer cents in the OHLC groups, integer volume / open_interest."""
    out = {"end_period_ts": c["end_period_ts"]}
    out["volume"] = int(V.Decimal(c["volume_fp"]))
    out["open_interest"] = int(V.Decimal(c["open_interest_fp"]))
    for group in ("yes_bid", "yes_ask", "price"):
        out[group] = {
            k.removesuffix("_dollars"): int(V.Decimal(v) * 100) for k, v in c[group].items() if v is not None
        }
    return out


def _flat_expected(c: dict, cents: bool = False) -> dict:
    row = {
        "ticker": CANDLE_TICKER,
        "series_ticker": "KXATPSETWINNER",
        "period_interval": 60,
        "end_period_ts": c["end_period_ts"],
    }
    for group in ("yes_bid", "yes_ask", "price"):
        for k, v in (c.get(group) or {}).items():
            name = k if k.endswith("_dollars") else k + "_dollars"
            row[f"{group}_{name}"] = (V.Decimal(v) / 100) if cents and v is not None else v
    for live, hist in (("volume_fp", "volume"), ("open_interest_fp", "open_interest")):
        row[live] = c.get(live, c.get(hist))
    return row


def _serve_candles(api, candles: list[dict], historical: bool) -> None:
    market = {
        "ticker": CANDLE_TICKER,
        "event_ticker": "KXATPSETWINNER-26AUG24DRORIN-1",
        "status": "finalized",
        "open_time": "2026-08-24T00:00:00Z",
        "close_time": "2026-08-28T00:00:00Z",
    }
    live, hist = ([], [market]) if historical else ([market], [])
    api.pages("/markets", [{"markets": live}])
    api.pages("/historical/markets", [{"markets": hist}])
    path = (
        f"/historical/markets/{CANDLE_TICKER}/candlesticks"
        if historical
        else f"/series/KXATPSETWINNER/markets/{CANDLE_TICKER}/candlesticks"
    )
    api.routes[path] = lambda q: {"ticker": CANDLE_TICKER, "candlesticks": candles}


@pytest.mark.parametrize("shape", ["live", "live_price_null", "historical", "cent_era", "both_eras"])
def test_candlesticks(api, client, lake, shape):
    source = CANDLES
    cents = False
    if shape == "live_price_null":
        source = [{**c, "price": None} if not c["price"] else c for c in CANDLES]
    elif shape == "historical":
        source = [_historical_shape(c) for c in CANDLES]
    elif shape == "cent_era":
        source, cents = [_cent_era_candle(c) for c in CANDLES], True
    elif shape == "both_eras":  # transition: cents and dollars side by side (dollars win, cents kept)
        source = [
            {
                **_cent_era_candle(c),
                **c,
                **{g: {**_cent_era_candle(c)[g], **c[g]} for g in ("yes_bid", "yes_ask", "price")},
            }
            for c in CANDLES
        ]
    _serve_candles(api, source, historical=shape == "historical")
    res, rows = land(
        api, client, lake, "candlesticks", Selection(tickers=[CANDLE_TICKER], candle_interval=60)
    )
    want = [_flat_expected(c if shape != "both_eras" else CANDLES[i], cents) for i, c in enumerate(source)]
    cols = dict(COLS["candlesticks"])
    by_end = {r["end_period_ts"]: r for r in rows}
    assert len(by_end) == len(want) == len(rows)
    from tests.faithfulness.oracle import expected

    for w in want:
        row = by_end[expected("ts", w["end_period_ts"])]
        for name, kind in cols.items():
            assert row[name] == expected(kind, w.get(name)), (
                shape,
                w["end_period_ts"],
                name,
                row[name],
                w.get(name),
            )
    no_trade = [r for r in rows if r["price_close_dollars"] is None]
    assert len(no_trade) == sum(1 for c in CANDLES if "close_dollars" not in c["price"])


# ---------------------------------------------------------------------------------------------------------------
# order books, balance, exchange status (snapshot streams)
# ---------------------------------------------------------------------------------------------------------------
BOOK_TICKER = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-LEP"
BOOKS = {
    "recorded_demo": V.load(V.DEMO / "orderbook__base.json")["orderbook_fp"],
    "docs_sample": V.load(V.DOCS / "docsample_orderbook_response.json")["orderbook_fp"],
    "best_first": {
        "yes_dollars": [["0.4700", "2.00"], ["0.0100", "5.50"]],
        "no_dollars": [["0.9990", "0.50"]],
    },
    "null_sides": {"yes_dollars": None, "no_dollars": None},  # Go's nil slice on an empty book
    "missing_side": {"yes_dollars": [["0.0010", "1000.00"]]},
    "empty_lists": {"yes_dollars": [], "no_dollars": []},
}


@pytest.mark.parametrize("name", list(BOOKS))
def test_orderbook_snapshots(api, client, lake, name):
    book = BOOKS[name]
    api.routes["/markets/orderbooks"] = lambda q: {
        "orderbooks": [{"ticker": BOOK_TICKER, "orderbook_fp": book}]
    }
    res, rows = land(api, client, lake, "orderbook_snapshots", Selection(tickers=[BOOK_TICKER]))
    for side in ("yes", "no"):
        levels = book.get(f"{side}_dollars") or []
        got = [r for r in rows if r["side"] == side]
        want = sorted(((V.Decimal(p), V.Decimal(c)) for p, c in levels), reverse=True)  # level 0 = best bid
        if not want:
            assert [(r["price_dollars"], r["count_fp"], r["level"]) for r in got] == [(None, None, None)]
            continue
        assert sorted((r["level"], r["price_dollars"], r["count_fp"]) for r in got) == [
            (i, p, c) for i, (p, c) in enumerate(want)
        ]
    assert {r["ticker"] for r in rows} == {BOOK_TICKER} and len({r["snapshot_ts"] for r in rows}) == 1
    assert api.calls("/markets/orderbooks")[0]["tickers"] == [BOOK_TICKER]


BALANCES = {
    "v3.21": {
        "balance": 123456,
        "balance_dollars": "1234.5600",
        "portfolio_value": 6789,
        "updated_ts": 1781159370,
    },
    "v3.31": {
        "balance": 123456,
        "balance_dollars": "1234.5600",
        "portfolio_value": 6789,
        "updated_ts": 1781159370,
        "balance_breakdown": [{"exchange_index": 0, "balance": "1234.5600"}],
    },
    "old_cents_only": {"balance": 50, "portfolio_value": 0, "updated_ts": 1704110400},
    "new_field": {
        "balance": 1,
        "balance_dollars": "0.0100",
        "portfolio_value": 2,
        "updated_ts": 1,
        "zz_new": True,
    },
}


@pytest.mark.parametrize("name", list(BALANCES))
def test_balance(api, client, lake, name):
    body = BALANCES[name]
    api.routes["/portfolio/balance"] = lambda q: body
    res, rows = land(api, client, lake, "balance")
    cols = {k: v for k, v in COLS["balance"].items() if k != "snapshot_ts"}
    check_rows(cols, [body], rows, lambda r: r["balance"], "balance")
    assert rows[0]["balance"] == body["balance"] and isinstance(rows[0]["balance"], int)


STATUSES = {
    "recorded_demo": V.load(V.DEMO / "exchange__status.json"),
    "v3.31_paused": {
        "exchange_active": True,
        "trading_active": False,
        "intra_exchange_transfers_active": True,
        "exchange_estimated_resume_time": "2026-11-24T17:00:00.000000Z",
        "exchange_index_statuses": [
            {
                "exchange_index": 0,
                "description": "event contracts",
                "exchange_active": True,
                "trading_active": False,
            }
        ],
    },
    "resume_null": {
        "exchange_active": False,
        "trading_active": False,
        "exchange_estimated_resume_time": None,
    },
}


@pytest.mark.parametrize("name", list(STATUSES))
def test_exchange_status(api, client, lake, name):
    body = STATUSES[name]
    api.routes["/exchange/status"] = lambda q: body
    res, rows = land(api, client, lake, "exchange_status")
    cols = {k: v for k, v in COLS["exchange_status"].items() if k != "snapshot_ts"}
    check_rows(cols, [body], rows, lambda r: r["exchange_active"], "exchange_status")


# ---------------------------------------------------------------------------------------------------------------
# incremental runs over genuine timestamps (fraction lengths vary: compare instants, never text)
# ---------------------------------------------------------------------------------------------------------------
def test_trades_second_run_lands_only_new_rows(api, client, lake):
    newest_first = list(TRADES)  # as recorded: newest first
    older = newest_first[40:]  # run 1 sees the older part only (the tape before the newest trades happened)
    api.pages("/markets/trades", split_pages(older, "trades"))
    land(api, client, lake, "trades")
    # run 2: the API now also has the newest 40; it answers every trade again (min_ts overlap), newest first
    api.pages("/markets/trades", split_pages(newest_first, "trades", sizes=(7, 0, 33)))
    res, rows = land(api, client, lake, "trades")
    check_rows(COLS["trades"], TRADES, rows, lambda r: r["trade_id"], "trades")
    assert res.rows == 40
    q = api.calls("/markets/trades")[-1]
    assert "min_ts" in q  # the second run asks from its watermark (minus the overlap), not from the start


def test_orders_state_changes_land_as_new_rows(api, client, lake):
    resting = {**ORDERS[0], "status": "resting", "fill_count_fp": "0.00", "remaining_count_fp": "1.00"}
    api.pages("/portfolio/orders", [{"orders": [resting]}], select=_status_filter)
    land(api, client, lake, "orders")
    executed = {
        **resting,
        "status": "executed",
        "fill_count_fp": "1.00",
        "remaining_count_fp": "0.00",
        "last_update_time": "2026-06-11T06:31:00.5Z",
    }
    # the order left the live list (moved to /historical/orders after the cutoff): only the single GET finds it
    api.pages("/portfolio/orders", [{"orders": []}], select=_status_filter)
    api.routes[f"/portfolio/orders/{resting['order_id']}"] = lambda q: {"order": executed}
    res, rows = land(api, client, lake, "orders")
    states = sorted((r["status"], r["fill_count_fp"]) for r in rows)
    assert states == [("executed", V.Decimal("1.00")), ("resting", V.Decimal("0.00"))]


def test_the_request_checker_rejects_what_the_real_api_rejects():
    assert (
        V.spec_query_problems("/markets", {"limit": ["1000"], "mve_filter": ["exclude"], "status": ["open"]})
        == []
    )
    assert V.spec_query_problems("/markets", {"limit": ["1001"]})
    assert V.spec_query_problems(
        "/markets", {"status": ["active"]}
    )  # response vocabulary, not a filter value
    assert V.spec_query_problems("/events", {"limit": ["1000"]})
    assert V.spec_query_problems("/portfolio/fills", {"limit": ["0"]})
    assert V.spec_query_problems("/series", {"cursor": ["x"]})
    assert V.spec_query_problems("/markets/trades", {"min_ts": ["2026-01-01"]})
    assert V.spec_query_problems("/markets/orderbooks", {"tickers": [f"T{i}" for i in range(101)]})


# ---------------------------------------------------------------------------------------------------------------
# narrowed pulls: markets resolved from genuine market objects, per-ticker trade and fill requests
# ---------------------------------------------------------------------------------------------------------------
def _by_query(query: dict, item: dict) -> bool:
    for param, field in (
        ("ticker", "ticker"),
        ("series_ticker", "event_ticker"),
        ("event_ticker", "event_ticker"),
    ):
        if param in query:
            value = item.get(field) or ""
            if param == "series_ticker" and not value.startswith(query[param] + "-"):
                return False
            if param != "series_ticker" and value != query[param]:
                return False
    if "tickers" in query and item.get("ticker") not in query["tickers"].split(","):
        return False
    return True


def test_narrowed_trades_and_fills_per_ticker(api, client, lake):
    tickers = sorted({t["ticker"] for t in TRADES})[:3] + [FILLS[0]["ticker"]]
    markets = [
        {**MARKETS[0], "ticker": t, "event_ticker": t.rsplit("-", 1)[0], "status": "active"} for t in tickers
    ]
    api.pages("/markets", [{"markets": markets}], select=_by_query)
    api.pages("/historical/markets", [{"markets": []}], select=_by_query)
    api.pages("/markets/trades", split_pages(TRADES, "trades"), select=_by_query)
    api.pages("/portfolio/fills", [{"fills": FILLS}], select=_by_query)
    res, rows = land(api, client, lake, "trades", Selection(tickers=tickers))
    want = [t for t in TRADES if t["ticker"] in tickers]
    check_rows(COLS["trades"], want, rows, lambda r: r["trade_id"], "trades")
    asked = {q["ticker"][-1] for q in api.calls("/markets/trades")}
    assert asked == set(tickers)
    res, rows = land(api, client, lake, "fills", Selection(tickers=tickers))
    check_rows(
        COLS["fills"], [f for f in FILLS if f["ticker"] in tickers], rows, lambda r: r["fill_id"], "fills"
    )


def test_markets_of_one_series(api, client, lake):
    series = "KXHIGHNY"
    api.pages("/markets", split_pages(MARKETS, "markets", sizes=(5, 0, 5)), select=_by_query)
    api.pages("/historical/markets", [{"markets": []}], select=_by_query)
    res, rows = land(api, client, lake, "markets", Selection(series=[series]))
    want = [m for m in MARKETS if m["event_ticker"].startswith(series + "-")]
    assert want
    check_rows(COLS["markets"], want, rows, lambda r: r["ticker"], "markets")


def test_gzip_chunked_pages_like_a_cdn(api, client, lake):
    """The real API sits behind a CDN: with ``Accept-Encoding: gzip`` the pages come compressed and chunked."""
    api.gzip_chunked = True
    api.pages("/markets/trades", split_pages(TRADES, "trades", sizes=(50, 0, 10)), end="null")
    res, rows = land(api, client, lake, "trades")
    check_rows(COLS["trades"], TRADES, rows, lambda r: r["trade_id"], "trades")
    assert all("gzip" in h.get("Accept-Encoding", "") for _, _, h in api.requests)


# ---------------------------------------------------------------------------------------------------------------
# times the pull itself reads: /historical/cutoff and the markets' open/close times (any RFC3339 spelling)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["nanos", "mixed"])
def test_cutoff_and_market_times_in_any_spelling(api, client, lake, style):
    respell = V.time_spelling(style)
    cut = {
        "market_settled_ts": "2026-08-30T13:59:58.123456789Z",
        "trades_created_ts": "2026-08-30T13:59:58.5+00:00",
        "orders_updated_ts": "2026-08-30T13:59:58.1234567Z",
        "market_positions_last_updated_ts": "2026-08-30T13:59:58Z",
    }
    api.routes["/historical/cutoff"] = lambda q: respell(cut)
    trades = V.vary(T_PROD, respell)
    boundary = parse_time(respell(cut)["trades_created_ts"])  # older trades are only on /historical/trades
    older = [t for t in trades if parse_time(t["created_time"]) < boundary]
    newer = [t for t in trades if t not in older]
    api.pages("/markets/trades", [{"trades": newer}])
    api.pages("/historical/trades", [{"trades": older}])
    res, rows = land(api, client, lake, "trades")
    assert older and newer
    check_rows(COLS["trades"], trades, rows, lambda r: r["trade_id"], "trades")

    market = respell(
        {
            "ticker": CANDLE_TICKER,
            "event_ticker": "KXATPSETWINNER-26AUG24DRORIN-1",
            "status": "finalized",
            "open_time": "2026-08-24T00:00:00.000000001Z",
            "close_time": "2026-08-28T00:00:00.5Z",
        }
    )
    api.pages("/markets", [{"markets": [market]}])
    api.pages("/historical/markets", [{"markets": []}])
    api.routes[f"/series/KXATPSETWINNER/markets/{CANDLE_TICKER}/candlesticks"] = lambda q: {
        "ticker": CANDLE_TICKER,
        "candlesticks": CANDLES,
    }
    res, rows = land(api, client, lake, "candlesticks", Selection(tickers=[CANDLE_TICKER]))
    assert len(rows) == len(CANDLES)


def test_throttled_mid_pagination_resumes_the_same_page(api, client, lake):
    """A 429 (``{"error": "too many requests"}``, no Retry-After) between pages: the pull backs off, asks the same
    cursor again and lands every row once."""
    pages = split_pages(TRADES, "trades", sizes=(30, 0, 30))
    api.pages("/markets/trades", pages)
    api.throttle["/markets/trades"] = {3}  # the request for the third page
    res, rows = land(api, client, lake, "trades")
    check_rows(COLS["trades"], TRADES, rows, lambda r: r["trade_id"], "trades")
    assert res.throttled == 1 and res.retries == 1
    cursors = [q.get("cursor", [""])[-1] for q in api.calls("/markets/trades")]
    assert (
        len(cursors) == len(pages) + 1 and cursors[2] == cursors[3] != ""
    )  # the throttled cursor asked again


def test_orders_are_archived_by_last_update_not_creation(api, client, lake):
    """``orders_updated_ts`` splits orders by their last update: an order created before the cutoff and executed
    after it is on /portfolio/orders only, one executed before it on /historical/orders only. Both land."""
    api.routes["/historical/cutoff"] = lambda q: {
        **OLD_CUTOFF_KEYS,
        "orders_updated_ts": "2026-06-11T06:27:00Z",
    }
    live_old = {
        **ORDERS[0],
        "created_time": "2026-06-11T06:20:00.5Z",
        "last_update_time": "2026-06-11T06:29:30Z",
    }
    archived = {
        **ORDERS[1],
        "created_time": "2026-06-11T06:10:00Z",
        "last_update_time": "2026-06-11T06:12:00Z",
    }
    live_new = {
        **ORDERS[2],
        "created_time": "2026-06-11T06:28:00Z",
        "last_update_time": "2026-06-11T06:28:00Z",
    }
    api.pages("/portfolio/orders", [{"orders": [live_new, live_old]}], select=_status_filter)
    api.pages("/historical/orders", [{"orders": [archived]}])
    res, rows = land(api, client, lake, "orders")
    check_rows(COLS["orders"], [live_new, live_old, archived], rows, lambda r: r["order_id"], "orders")
