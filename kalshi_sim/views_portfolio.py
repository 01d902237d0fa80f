"""Authenticated endpoints: balance, positions, fills, settlements, orders and their historical twins.

Partition by the historical cutoff (one instant for all four cutoff fields): fills older than the cutoff,
orders canceled/executed before it and settled positions last updated before it are served only by
``/historical/*``. Settlements are not partitioned (the docs do not say they are). Lists are newest first.
Event positions: each event once, on the page holding its first market in list order, summed over all of its
market positions that match the filters (the docs do not say how Kalshi pages them).
Subaccounts (spec v3.21): balance, positions and queue positions read one subaccount, ``subaccount`` "defaults to
0"; fills, orders and settlements "default to all subaccounts" and ``subaccount`` narrows them. Fills and orders
carry ``subaccount_number``; settlements and positions do not (the spec's objects lack it), so a caller tells
their subaccounts apart only by asking per subaccount.
"""

from __future__ import annotations

from kalshi_sim import fmt, render
from kalshi_sim.http import bad, dumps, not_found, page


def _sub_one(req) -> int:
    """``subaccount`` of an endpoint that "defaults to 0" (balance, positions): the subaccount to read."""
    n = req.q.int("subaccount", 0, 0, 63)
    if n and n not in req.account.subaccounts:
        raise bad("invalid subaccount", f"subaccount {n} does not exist")
    return n


def _sub_filter(req) -> int | None:
    """``subaccount`` of an endpoint that "defaults to all subaccounts" (fills, orders, settlements): None = all."""
    n = req.q.int("subaccount", None, 0, 63)
    if n and n not in req.account.subaccounts:
        raise bad("invalid subaccount", f"subaccount {n} does not exist")
    return n


def _window(q):
    return q.int("min_ts"), q.int("max_ts")


def _in(t_us: int, lo, hi) -> bool:
    return (lo is None or t_us >= lo * 1_000_000) and (hi is None or t_us <= hi * 1_000_000)


def balance(api, req):
    ex, acct = api.ex, req.account.ledger(_sub_one(req))
    value = 0
    for i, pos in acct.positions.items():
        if pos.settled or not pos.lots:
            continue
        last = ex.tape.series[i].last_price
        value += sum(c * last if c > 0 else -c * (10_000 - last) for c, _ in pos.lots)
    return dumps(
        {
            "balance": acct.balance // 10_000,
            "balance_dollars": fmt.d4_from_micros(acct.balance),
            "portfolio_value": value // 10_000,
            "updated_ts": max(acct.updated_us, acct.created_us) // 1_000_000,
            "balance_breakdown": [{"exchange_index": 0, "balance": fmt.d4_from_micros(acct.balance)}],
        }
    )


def _positions(api, req, historical: bool):
    q, ex, acct = req.q, api.ex, req.account.ledger(_sub_one(req))
    limit = q.limit(1, 1000, 100)
    ticker = q.str("ticker")
    event_ticker = set(q.all("event_ticker"))
    count_filter = q.all("count_filter")
    for f in count_filter:
        if f not in ("position", "total_traded"):
            raise bad("invalid count_filter", "count_filter is a comma list of position,total_traded")
    rows = []
    for i in sorted(acct.positions, reverse=True):
        pos = acct.positions[i]
        m = ex.markets[i]
        is_hist = pos.settled and pos.last_updated_us < ex.cutoff_us
        if is_hist != historical:
            continue
        if ticker and m.ticker != ticker:
            continue
        if event_ticker and m.event_ticker not in event_ticker:
            continue
        if "position" in count_filter and pos.net == 0:
            continue
        if "total_traded" in count_filter and pos.traded == 0:
            continue
        rows.append((i, pos))
    chunk, cursor = page(rows, lambda r: r[0], "hpositions" if historical else "positions", q, limit)
    by_event: dict[str, list] = {}
    for i, pos in rows:
        by_event.setdefault(ex.markets[i].event_ticker, []).append((i, pos))
    # an event is listed once, on the page of its first market in list order, summed over all its markets
    first = {}
    for i, _ in rows:
        first.setdefault(ex.markets[i].event_ticker, i)
    on_page = [
        e
        for e in dict.fromkeys(ex.markets[i].event_ticker for i, _ in chunk)
        if first[e] in {i for i, _ in chunk}
    ]
    return dumps(
        {
            "market_positions": [render.position_json(ex, i, p) for i, p in chunk],
            "event_positions": [render.event_position_json(ex, e, by_event[e]) for e in on_page],
            "cursor": cursor,
        }
    )


def positions(api, req):
    return _positions(api, req, False)


def historical_positions(api, req):
    return _positions(api, req, True)


def _fills(api, req, historical: bool):
    q, ex, acct = req.q, api.ex, req.account
    limit = q.limit(1, 1000, 100)
    ticker = q.str("ticker")
    order_id = q.str("order_id")
    sub = None if historical else _sub_filter(req)  # /historical/fills has no subaccount parameter
    lo, hi = _window(q)
    rows = []
    for k in range(len(acct.fills) - 1, -1, -1):
        f = acct.fills[k]
        if (f["t"] < ex.cutoff_us) != historical:
            continue
        if ticker and ex.markets[f["market"]].ticker != ticker:
            continue
        if order_id and f["order_id"] != order_id:
            continue
        if sub is not None and f.get("sub", 0) != sub:
            continue
        if not _in(f["t"], lo, hi):
            continue
        rows.append((k, f))
    chunk, cursor = page(rows, lambda r: r[0], "hfills" if historical else "fills", q, limit)
    return dumps({"fills": [render.fill_json(ex, f) for _, f in chunk], "cursor": cursor})


def fills(api, req):
    return _fills(api, req, False)


def historical_fills(api, req):
    return _fills(api, req, True)


def settlements(api, req):
    q, ex, acct = req.q, api.ex, req.account
    limit = q.limit(1, 1000, 100)
    ticker = q.str("ticker")
    event_ticker = set(q.all("event_ticker"))
    sub = _sub_filter(req)
    lo, hi = _window(q)
    rows = []
    for k in range(len(acct.settlements) - 1, -1, -1):
        s = acct.settlements[k]
        if sub is not None and s.get("sub", 0) != sub:
            continue
        m = ex.markets[s["market"]]
        if ticker and m.ticker != ticker:
            continue
        if event_ticker and m.event_ticker not in event_ticker:
            continue
        if not _in(s["t"], lo, hi):
            continue
        rows.append((k, s))
    chunk, cursor = page(rows, lambda r: r[0], "settlements", q, limit)
    return dumps({"settlements": [render.settlement_json(ex, s) for _, s in chunk], "cursor": cursor})


def _order_is_historical(ex, o) -> bool:
    return o.status != "resting" and o.closed_us is not None and o.closed_us < ex.cutoff_us


def _orders(api, req, historical: bool):
    q, ex, acct = req.q, api.ex, req.account
    limit = q.limit(1, 1000, 100)
    ticker = q.str("ticker")
    event_ticker = set(q.all("event_ticker"))
    if len(event_ticker) > 10:
        raise bad("too many event tickers", "event_ticker accepts at most 10 comma-separated tickers")
    status = None if historical else q.str("status", ("resting", "canceled", "executed"))
    sub = None if historical else _sub_filter(req)  # /historical/orders has no subaccount parameter
    lo, hi = _window(q)
    rows = []
    for k in range(len(acct.orders) - 1, -1, -1):
        o = acct.orders[k]
        if _order_is_historical(ex, o) != historical:
            continue
        m = ex.markets[o.market]
        if ticker and m.ticker != ticker:
            continue
        if event_ticker and m.event_ticker not in event_ticker:
            continue
        if status and o.status != status:
            continue
        if sub is not None and (o.subaccount or 0) != sub:
            continue
        if not _in(o.created_us, lo, hi):
            continue
        rows.append((k, o))
    chunk, cursor = page(rows, lambda r: r[0], "horders" if historical else "orders", q, limit)
    return dumps({"orders": [render.order_json(ex, o) for _, o in chunk], "cursor": cursor})


def orders(api, req):
    return _orders(api, req, False)


def historical_orders(api, req):
    return _orders(api, req, True)


def order_get(api, req):
    ex, acct = api.ex, req.account
    o = ex.orders.get(req.params["order_id"])
    if o is None or o.owner != acct.key_id:
        raise not_found("order")
    return dumps({"order": render.order_json(ex, o)})


def _queue_position(ex, o) -> int:
    """Contracts ahead of a resting order at its price level (price-time priority)."""
    book = ex.books[o.market]
    level = (book.bids if o.side == "bid" else book.asks).get(o.price, ())
    ahead = 0
    for other in level:
        if other is o:
            return ahead
        ahead += other.remaining
    return ahead


def queue_position(api, req):
    ex, acct = api.ex, req.account
    o = ex.orders.get(req.params["order_id"])
    if o is None or o.owner != acct.key_id:
        raise not_found("order")
    if o.status != "resting":
        raise bad("order is not resting", f"order {o.order_id} is {o.status}")
    return dumps({"queue_position_fp": fmt.fp(_queue_position(ex, o))})


def queue_positions(api, req):
    ex, acct = api.ex, req.account
    tickers = set(req.q.all("market_tickers"))
    event_ticker = req.q.str("event_ticker")
    sub = _sub_one(req)
    out = []
    for o in acct.orders:
        if o.status != "resting" or (o.subaccount or 0) != sub:
            continue
        m = ex.markets[o.market]
        if tickers and m.ticker not in tickers:
            continue
        if event_ticker and m.event_ticker != event_ticker:
            continue
        out.append(
            {
                "order_id": o.order_id,
                "market_ticker": m.ticker,
                "queue_position_fp": fmt.fp(_queue_position(ex, o)),
            }
        )
    return dumps({"queue_positions": out})
