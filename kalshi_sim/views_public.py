"""Public market-data endpoints: exchange, series, events, markets, orderbooks, trades, limits, cutoff."""

from __future__ import annotations

import bisect

from kalshi_sim import fees, fmt, render
from kalshi_sim.http import ApiError, bad, dumps, make_cursor, not_found, page, read_cursor

# query vocabulary → response vocabulary (docs: the two differ)
MARKET_STATUS = {
    "unopened": {"initialized"},
    "open": {"active"},
    "paused": {"inactive"},
    "closed": {"closed"},
    "settled": {"determined", "disputed", "amended", "finalized"},
}
TIERS = {  # tier → (read refill, read capacity, write refill, write capacity) tokens
    "basic": (200, 200, 100, 200),
    "advanced": (300, 300, 300, 600),
    "premier": (1000, 1000, 1000, 2000),
    "paragon": (2000, 2000, 2000, 4000),
    "prime": (4000, 4000, 4000, 8000),
    "unlimited": (1_000_000, 1_000_000, 1_000_000, 1_000_000),
}


def exchange_status(api, req):
    # the recorded body has just these two keys (exchange_estimated_resume_time is omitted when null)
    return dumps({"exchange_active": True, "trading_active": True})


def exchange_schedule(api, req):
    ex = api.ex
    start = fmt.ts(ex.start_us - 365 * 86_400_000_000 - ex.start_us % 86_400_000_000)
    day = [{"open_time": "00:00", "close_time": "23:59"}]
    return dumps(
        {
            "schedule": {
                "standard_hours": [
                    {
                        "start_time": start,
                        "end_time": "2099-01-01T00:00:00Z",
                        **{
                            d: day
                            for d in (
                                "monday",
                                "tuesday",
                                "wednesday",
                                "thursday",
                                "friday",
                                "saturday",
                                "sunday",
                            )
                        },
                    }
                ],
                "maintenance_windows": [],
            }
        }
    )


def user_data_timestamp(api, req):
    return dumps({"as_of_time": fmt.ts(api.ex.now_us)})


def account_limits(api, req):
    tier = api.faults.tier or "unlimited"
    rr, rc, wr, wc = TIERS[tier]
    return dumps(
        {
            "usage_tier": tier,
            "read": {"refill_rate": rr, "bucket_capacity": rc},
            "write": {"refill_rate": wr, "bucket_capacity": wc},
            "grants": [],
        }
    )


ENDPOINT_COSTS = [  # the non-default costs this exchange charges (batches bill per item on top)
    {"method": "DELETE", "path": "/trade-api/v2/portfolio/events/orders", "cost": 2},
    {"method": "DELETE", "path": "/trade-api/v2/portfolio/events/orders/{order_id}", "cost": 2},
    {"method": "GET", "path": "/trade-api/v2/portfolio/orders/{order_id}", "cost": 2},
]


def endpoint_costs(api, req):
    return dumps({"default_cost": 10, "endpoint_costs": ENDPOINT_COSTS})


# -- series -------------------------------------------------------------------------------------
def series_list(api, req):
    q, ex = req.q, api.ex
    cat = q.str("category")
    tags = set(q.all("tags"))
    include_volume = q.bool("include_volume")
    q.bool("include_product_metadata")
    min_updated = q.int("min_updated_ts")
    out = []
    for s in ex.series:
        if cat and cat != s.category:
            continue
        if tags and not tags & set(s.tags):
            continue
        if min_updated is not None and s.created_us < min_updated * 1_000_000:
            continue
        out.append(render.series_json(ex, s, include_volume))
    return dumps({"series": out})


def series_get(api, req):
    ex = api.ex
    s = ex.series_by_ticker.get(req.params["series_ticker"])
    if s is None:
        raise not_found("series")
    return dumps({"series": render.series_json(ex, s, req.q.bool("include_volume"))})


def series_fee_changes(api, req):
    """``{"series_fee_change_arr": [...]}``, no cursor; upcoming changes only unless ``show_historical``."""
    q, ex = req.q, api.ex
    series = q.str("series_ticker")
    historical = q.bool("show_historical")
    out = [
        {
            "id": c.id,
            "series_ticker": c.series_ticker,
            "fee_type": c.fee_type,
            "fee_multiplier": fees.number(c.fee_multiplier),
            "scheduled_ts": fmt.ts(c.scheduled_us),
        }
        for c in ex.fees.series_changes
        if (not series or c.series_ticker == series) and (historical or c.scheduled_us > ex.now_us)
    ]
    return dumps({"series_fee_change_arr": out})


def event_fee_changes(api, req):
    """``{"event_fee_changes": [...], "cursor"}``, newest scheduled first, past and upcoming."""
    q, ex = req.q, api.ex
    limit = q.limit(1, 1000, 100)
    event = q.str("event_ticker")
    rows = [(k, c) for k, c in enumerate(ex.fees.event_changes) if not event or c.event_ticker == event]
    rows.reverse()
    chunk, cursor = page(rows, lambda r: r[0], "event_fee_changes", q, limit)
    out = [
        {
            "id": c.id,
            "event_ticker": c.event_ticker,
            "series_ticker": c.series_ticker,
            "fee_type_override": c.fee_type_override,
            "fee_multiplier_override": fees.number(c.fee_multiplier_override),
            "scheduled_ts": fmt.ts(c.scheduled_us),
        }
        for _, c in chunk
    ]
    return dumps({"event_fee_changes": out, "cursor": cursor})


# -- events -------------------------------------------------------------------------------------
def events_list(api, req):
    q, ex = req.q, api.ex
    limit = q.limit(1, 200, 200)
    status = q.str("status", ("unopened", "open", "closed", "settled"))
    series = q.str("series_ticker")
    nested = q.bool("with_nested_markets")
    with_milestones = q.bool("with_milestones")
    tickers = set(q.all("tickers"))
    min_close = q.int("min_close_ts")
    min_updated = q.int("min_updated_ts")
    now = ex.now_us
    rows = []
    for k in range(len(ex.events) - 1, -1, -1):
        ev = ex.events[k]
        if ev.is_mve or ev.created_us > now:
            continue
        if series and ev.series_ticker != series:
            continue
        if tickers and ev.event_ticker not in tickers:
            continue
        if min_close is not None and ev.close_us < min_close * 1_000_000:
            continue
        if min_updated is not None and render.event_updated_us(ex, ev) < min_updated * 1_000_000:
            continue
        if status and render.event_status(ex, ev) != status:
            continue
        rows.append((k, ev))
    chunk, cursor = page(rows, lambda r: r[0], "events", q, limit)
    events = []
    for _, ev in chunk:
        markets = None
        if nested:
            markets = [render.market_json(ex, m) for m in ev.markets if not ex.is_historical_market(m)]
        events.append(render.event_json(ex, ev, markets))
    body = {"events": events, "cursor": cursor}
    if with_milestones:
        body["milestones"] = []
    return dumps(body)


def event_get(api, req):
    ex = api.ex
    ev = ex.events_by_ticker.get(req.params["event_ticker"])
    if ev is None or ev.created_us > ex.now_us:
        raise not_found("event")
    markets = [render.market_json(ex, m) for m in ev.markets if not ex.is_historical_market(m)]
    nested = markets if req.q.bool("with_nested_markets") else None
    return dumps({"event": render.event_json(ex, ev, nested), "markets": markets})


# -- markets ------------------------------------------------------------------------------------
def _market_rows(api, req, historical: bool):
    q, ex = req.q, api.ex
    limit = q.limit(0, 1000, 100)
    tickers = set(q.all("tickers"))
    event_ticker = q.all("event_ticker")
    series = q.str("series_ticker")
    mve = q.str("mve_filter", ("exclude",) if historical else ("only", "exclude"))
    if historical:
        status = None
        win = {}
        given = [
            n
            for n, v in (("tickers", tickers), ("event_ticker", event_ticker), ("series_ticker", series))
            if v
        ]
        if len(given) > 1:
            raise bad("filters are mutually exclusive", f"got {', '.join(given)}")
    else:
        status = q.str("status", tuple(MARKET_STATUS))
        win = {
            n: q.int(n)
            for n in (
                "min_created_ts",
                "max_created_ts",
                "min_updated_ts",
                "max_updated_ts",
                "min_close_ts",
                "max_close_ts",
                "min_settled_ts",
                "max_settled_ts",
            )
        }
        _check_compat(win, status, mve, series, tickers, event_ticker)
    wanted = MARKET_STATUS.get(status) if status else None
    rows = []
    for m in reversed(ex.visible_markets()):
        if ex.is_historical_market(m) != historical:
            continue
        if tickers and m.ticker not in tickers:
            continue
        if event_ticker and m.event_ticker not in event_ticker:
            continue
        if series and m.series_ticker != series:
            continue
        if mve == "exclude" and m.is_mve:
            continue
        if mve == "only" and not m.is_mve:
            continue
        if wanted and ex.market_status(m) not in wanted:
            continue
        if win and not _in_windows(ex, m, win):
            continue
        rows.append(m)
    chunk, cursor = page(rows, lambda m: m.idx, "hmarkets" if historical else "markets", q, limit)
    return dumps({"markets": [render.market_json(ex, m) for m in chunk], "cursor": cursor})


def _check_compat(win, status, mve, series, tickers, event_ticker):
    def used(*names):
        return [n for n in names if win.get(n) is not None]

    if used("min_created_ts", "max_created_ts") and status not in (None, "unopened", "open"):
        raise bad("created_ts filters are only compatible with status unopened, open or none")
    if used("min_close_ts", "max_close_ts") and status not in (None, "closed"):
        raise bad("close_ts filters are only compatible with status closed or none")
    if used("min_settled_ts", "max_settled_ts") and status not in (None, "settled"):
        raise bad("settled_ts filters are only compatible with status settled or none")
    if used("min_updated_ts", "max_updated_ts"):
        others = used(
            "min_created_ts",
            "max_created_ts",
            "min_close_ts",
            "max_close_ts",
            "min_settled_ts",
            "max_settled_ts",
        )
        if others or status or tickers or event_ticker:
            raise bad(
                "updated_ts filters are incompatible with other filters",
                "only mve_filter=exclude (and series_ticker with mve_filter=exclude) may be combined",
            )
        if series and mve != "exclude":
            raise bad("series_ticker with updated_ts filters requires mve_filter=exclude")


def _in_windows(ex, m, win) -> bool:
    checks = (
        ("min_created_ts", m.created_us, 1),
        ("max_created_ts", m.created_us, -1),
        ("min_close_ts", m.close_us, 1),
        ("max_close_ts", m.close_us, -1),
        ("min_updated_ts", ex.market_updated_us(m), 1),
        ("max_updated_ts", ex.market_updated_us(m), -1),
    )
    for name, value, sign in checks:
        v = win.get(name)
        if v is not None and ((sign > 0 and value < v * 1_000_000) or (sign < 0 and value > v * 1_000_000)):
            return False
    settled = ex.settled_done[m.idx] and m.settle_us <= ex.now_us
    for name, sign in (("min_settled_ts", 1), ("max_settled_ts", -1)):
        v = win.get(name)
        if v is None:
            continue
        if not settled:
            return False
        if (sign > 0 and m.settle_us < v * 1_000_000) or (sign < 0 and m.settle_us > v * 1_000_000):
            return False
    return True


def markets_list(api, req):
    return _market_rows(api, req, historical=False)


def historical_markets_list(api, req):
    return _market_rows(api, req, historical=True)


def market_or_404(ex, ticker: str, historical: bool):
    """The market ``ticker`` if it exists by now and is on the ``historical`` side of the cutoff; else 404."""
    m = ex.market_by_ticker.get(ticker)
    if m is None or m.created_us > ex.now_us or ex.is_historical_market(m) != historical:
        raise not_found("market")
    return m


def market_get(api, req):
    return dumps({"market": render.market_json(api.ex, market_or_404(api.ex, req.params["ticker"], False))})


def historical_market_get(api, req):
    return dumps({"market": render.market_json(api.ex, market_or_404(api.ex, req.params["ticker"], True))})


def _orderbook(ex, m, depth: int) -> dict:
    book = ex.books[m.idx]
    yes = book.levels("bid")
    no = [(10_000 - p, c) for p, c in reversed(book.levels("ask"))]  # NO bids, ascending NO price
    if depth > 0:
        yes, no = yes[-depth:], no[-depth:]
    return {
        "yes_dollars": [[fmt.d4(p), fmt.fp(c)] for p, c in yes],
        "no_dollars": [[fmt.d4(p), fmt.fp(c)] for p, c in no],
    }


def orderbook_get(api, req):
    depth = req.q.int("depth", 0, None, 100)  # 0 (or negative, as the notes say) = every level
    m = market_or_404(api.ex, req.params["ticker"], False)
    return dumps({"orderbook_fp": _orderbook(api.ex, m, depth if depth > 0 else 0)})


def orderbooks_batch(api, req):
    tickers = req.q.all("tickers")
    if not tickers:
        raise bad("tickers is required", "pass tickers=A&tickers=B (1 to 100 market tickers)")
    if len(tickers) > 100:
        raise bad("too many tickers", "at most 100 tickers per request")
    out = []
    for t in tickers:
        m = market_or_404(api.ex, t, False)
        out.append({"ticker": m.ticker, "orderbook_fp": _orderbook(api.ex, m, 0)})
    return dumps({"orderbooks": out})


# -- trades -------------------------------------------------------------------------------------
def _trades(api, req, historical: bool):
    q, ex = req.q, api.ex
    limit = q.limit(0, 1000, 100)
    ticker = q.str("ticker")
    min_ts, max_ts = q.int("min_ts"), q.int("max_ts")
    block = q.map.get("is_block_trade")
    if block is not None:
        q.bool("is_block_trade")
    kind = "htrades" if historical else "trades"
    tape = ex.tape
    lo_us = min_ts * 1_000_000 if min_ts is not None else -(1 << 62)
    hi_us = max_ts * 1_000_000 if max_ts is not None else (1 << 62)
    if historical:
        hi_us = min(hi_us, ex.cutoff_us - 1)
    else:
        lo_us = max(lo_us, ex.cutoff_us)
    start = read_cursor(q, kind)
    if block is not None and block.lower() in ("true", "1"):
        return b'{"cursor":"","trades":[]}'
    if ticker is not None:
        m = ex.market_by_ticker.get(ticker)
        if m is None:
            return b'{"cursor":"","trades":[]}'
        s = tape.series[m.idx]
        a = bisect.bisect_left(s.trade_ts, lo_us)
        b = bisect.bisect_right(s.trade_ts, hi_us)
        if start is not None:
            b = min(b, bisect.bisect_right(s.trade_idx, start))
        take = list(range(b - 1, max(a, b - limit) - 1, -1))
        positions = [s.trade_idx[k] for k in take]
        more = b - limit > a
        nxt = s.trade_idx[b - limit - 1] if more else None
    else:
        a = bisect.bisect_left(tape.ts, lo_us)
        b = bisect.bisect_right(tape.ts, hi_us)
        if start is not None:
            b = min(b, start + 1)
        positions = range(b - 1, max(a, b - limit) - 1, -1)
        more = b - limit > a
        nxt = b - limit - 1 if more else None
    cursor = make_cursor(kind, nxt) if nxt is not None else ""
    return b'{"cursor":"' + cursor.encode() + b'","trades":' + tape.rows_desc(positions) + b"}"


def trades_list(api, req):
    return _trades(api, req, historical=False)


def historical_trades_list(api, req):
    return _trades(api, req, historical=True)


def historical_cutoff(api, req):
    c = fmt.ts(api.ex.cutoff_us)
    return dumps(
        {
            "market_settled_ts": c,
            "trades_created_ts": c,
            "orders_updated_ts": c,
            "market_positions_last_updated_ts": c,
        }
    )


def legacy_order_write(api, req):
    raise ApiError(
        400,
        "bad_request",
        "Please switch to the V2 endpoints",
        "legacy order mutations were retired; use /portfolio/events/orders",
    )
