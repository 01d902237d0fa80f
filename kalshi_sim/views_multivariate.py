"""Multivariate (combo) endpoints: ``GET /events/multivariate`` and ``GET /multivariate_event_collections[/{ticker}]``.

The world has one collection per day (``KXMVECROSSCATEGORY-R<date>``, series KXMVECROSSCATEGORY): its associated
events are that day's crypto and weather events, and its multivariate event (``KXMVECROSSCATEGORY-S<date>``)
holds the combos made from it (``world.events_for_day``). Choices where the spec is silent:

- a collection is listed from the time its multivariate event is created; ``status`` is ``unopened`` before its
  ``open_date``, ``open`` until its ``close_date``, ``closed`` after (the query vocabulary of the spec);
- ``/events/multivariate`` lists newest first, keyset-paginated like ``/events``; ``series_ticker`` together with
  ``collection_ticker`` is a 400 ("Cannot be used together"); nested markets leave out markets past the
  historical cutoff, as ``/events`` does;
- the collections list has no documented default ``limit``: 100 here, at most 200.
"""

from __future__ import annotations

from kalshi_sim import fmt, render
from kalshi_sim.http import bad, dumps, not_found, page

COLLECTION_STATUS = ("unopened", "open", "closed")


def _mve_events(ex) -> list[tuple[int, object]]:
    """(index, event) of the multivariate events that exist by now, newest first."""
    now = ex.now_us
    return [
        (k, ex.events[k])
        for k in range(len(ex.events) - 1, -1, -1)
        if ex.events[k].is_mve and ex.events[k].created_us <= now
    ]


def events_multivariate(api, req):
    q, ex = req.q, api.ex
    limit = q.limit(1, 200, 100)
    series = q.str("series_ticker")
    collection = q.str("collection_ticker")
    nested = q.bool("with_nested_markets")
    if series and collection:
        raise bad("invalid filters", "collection_ticker cannot be used together with series_ticker")
    rows = [
        (k, ev)
        for k, ev in _mve_events(ex)
        if (not series or ev.series_ticker == series)
        and (not collection or ev.collection["collection_ticker"] == collection)
    ]
    chunk, cursor = page(rows, lambda r: r[0], "mve_events", q, limit)
    events = []
    for _, ev in chunk:
        markets = None
        if nested:
            markets = [render.market_json(ex, m) for m in ev.markets if not ex.is_historical_market(m)]
        events.append(render.event_json(ex, ev, markets))
    return dumps({"events": events, "cursor": cursor})


def collection_status(ex, c: dict) -> str:
    if ex.now_us < c["open_us"]:
        return "unopened"
    return "open" if ex.now_us < c["close_us"] else "closed"


def collection_json(ex, ev) -> dict:
    c = ev.collection
    return {
        "collection_ticker": c["collection_ticker"],
        "series_ticker": ev.series_ticker,
        "title": f"Cross-category combos for {fmt.ts(ev.strike_us)[:10]}",
        "description": "Combine one market from each of the day's crypto and weather events.",
        "open_date": fmt.ts(c["open_us"]),
        "close_date": fmt.ts(c["close_us"]),
        "associated_events": [
            {"ticker": t, "is_yes_only": False, "size_max": 1, "size_min": None, "active_quoters": []}
            for t in c["event_tickers"]
        ],
        "associated_event_tickers": list(c["event_tickers"]),
        "is_ordered": False,
        "is_single_market_per_event": True,
        "is_all_yes": False,
        "size_min": 2,
        "size_max": 2,
        "functional_description": "YES if every selected market resolves to its selected side.",
    }


def collections_list(api, req):
    q, ex = req.q, api.ex
    status = q.str("status", COLLECTION_STATUS)
    associated = q.str("associated_event_ticker")
    series = q.str("series_ticker")
    limit = q.limit(1, 200, 100)
    rows = [
        (k, ev)
        for k, ev in _mve_events(ex)
        if (not status or collection_status(ex, ev.collection) == status)
        and (not associated or associated in ev.collection["event_tickers"])
        and (not series or ev.series_ticker == series)
    ]
    chunk, cursor = page(rows, lambda r: r[0], "mve_collections", q, limit)
    return dumps({"multivariate_contracts": [collection_json(ex, ev) for _, ev in chunk], "cursor": cursor})


def collection_get(api, req):
    ex = api.ex
    ticker = req.params["collection_ticker"]
    for _, ev in _mve_events(ex):
        if ev.collection["collection_ticker"] == ticker:
            return dumps({"multivariate_contract": collection_json(ex, ev)})
    raise not_found("multivariate event collection")
