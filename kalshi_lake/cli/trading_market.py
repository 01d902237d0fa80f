"""Trading CLI, market data: ``search``, ``market``, ``orderbook`` (public; no key needed)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer

from kalshi_lake.cli.common import console, fail, load_settings, print_json
from kalshi_lake.cli.render import Col, count, dollars, print_table, table, text, when
from kalshi_lake.cli.trading_common import JsonOpt, make_client, market_ticker

SEARCH_STATUSES = (
    "open",
    "closed",
    "settled",
    "unopened",
    "paused",
    "all",
)  # the API's query vocabulary + all


def search(
    query: Annotated[str, typer.Argument(help="Text in the ticker, title or series (case-insensitive).")],
    status: Annotated[
        str, typer.Option(help="Market status filter: open, closed, settled, unopened, paused, all.")
    ] = "open",
    series: Annotated[str | None, typer.Option(help="Only this series ticker.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many markets.")] = 20,
    max_markets: Annotated[int, typer.Option(help="Scan at most this many markets.")] = 20000,
    as_json: JsonOpt = False,
) -> None:
    """Find markets by ticker, title or series.  Example: kalshi-lake search "high temp" --status open"""
    from kalshi_extract.errors import NotFoundError

    if limit < 1 or max_markets < 1:
        raise fail("--limit and --max-markets must be at least 1")
    status = status.strip().lower()
    if status not in SEARCH_STATUSES:
        raise fail(f"--status must be one of {', '.join(SEARCH_STATUSES)}, not {status!r}. Nothing was sent.")
    settings = load_settings()
    q = query.strip().lower()
    found: list[dict] = []
    with make_client(settings) as c:
        try:  # an exact ticker first (cheap)
            found.append(c.get_market(query.strip().upper()))
        except (NotFoundError, ValueError):
            pass
        params: dict[str, Any] = {"limit": 1000}
        if status != "all":
            params["status"] = status
        if series:
            params["series_ticker"] = series.upper()
        seen = {m.get("ticker") for m in found}
        for n, m in enumerate(c.get_markets(**params), start=1):
            hay = " ".join(
                str(m.get(k) or "")
                for k in ("ticker", "event_ticker", "title", "subtitle", "yes_sub_title", "no_sub_title")
            ).lower()
            if q in hay and m.get("ticker") not in seen:
                found.append(m)
                seen.add(m.get("ticker"))
            if len(found) >= limit or n >= max_markets:
                break
    found = found[:limit]
    if as_json:
        print_json(found)
        return
    show_status = status != "open"  # open markets are all "active": the column would only take room
    rows = [
        [m.get("ticker"), m.get("title") or m.get("yes_sub_title")]
        + ([m.get("status")] if show_status else [])
        + [
            dollars(m.get("yes_bid_dollars")),
            dollars(m.get("yes_ask_dollars")),
            count(m.get("volume_fp")),
            when(m.get("close_time"), seconds=False),
        ]
        for m in found
    ]
    if rows:
        cols = (
            [Col("ticker"), Col("title", "text", drop=2)]
            + ([Col("status")] if show_status else [])
            + [
                Col("yes bid", "num"),
                Col("yes ask", "num"),
                Col("volume", "num", drop=1),
                Col("closes (UTC)", drop=3),
            ]
        )
        print_table(f"markets matching {query!r} ({len(rows)})", cols, rows)
    if not rows:
        typer.echo("no market matched; try --status all or a shorter query")


def market(
    ticker: Annotated[str, typer.Argument(help="Market ticker.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one market: prices, sizes, volume, status, tick grid.  Example: kalshi-lake market KXHIGHNY-26NOV24-T55"""
    from kalshi_extract.errors import NotFoundError

    ticker = market_ticker(ticker)
    settings = load_settings()
    with make_client(settings) as c:
        try:
            m = c.get_market(ticker)
        except NotFoundError:
            raise fail(f"unknown ticker {ticker!r} (try `kalshi-lake search`)") from None
    if as_json:
        print_json(m)
        return
    keys = [
        "ticker",
        "event_ticker",
        "title",
        "yes_sub_title",
        "no_sub_title",
        "status",
        "market_type",
        "yes_bid_dollars",
        "yes_bid_size_fp",
        "yes_ask_dollars",
        "yes_ask_size_fp",
        "no_bid_dollars",
        "no_ask_dollars",
        "last_price_dollars",
        "volume_fp",
        "volume_24h_fp",
        "open_interest_fp",
        "open_time",
        "close_time",
        "result",
        "settlement_value_dollars",
        "price_level_structure",
        "price_ranges",
    ]
    rows = [[k, _field(k, m[k])] for k in keys if k in m]
    console().print(table(m.get("ticker", ticker), [Col("field"), Col("value", "text")], rows))


def _field(key: str, value: Any) -> str:
    if key == "price_ranges" and isinstance(value, list) and all(isinstance(r, dict) for r in value):
        # the tick grid as a person reads it: "0.00–0.10 by 0.001; 0.10–0.90 by 0.01; 0.90–1.00 by 0.001"
        return "; ".join(
            f"{dollars(r.get('start'))}–{dollars(r.get('end'))} by {dollars(r.get('step'))}" for r in value
        )
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if key.endswith("_dollars"):
        return dollars(value)
    if key.endswith("_fp"):
        return count(value)
    if key.endswith("_time"):
        return f"{when(value)} UTC" if value else ""
    return text(value)


def orderbook(
    ticker: Annotated[str, typer.Argument(help="Market ticker.")],
    depth: Annotated[int, typer.Option(help="Levels per side (0 = all).")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Show the YES and NO books (bids) with the implied asks.  Example: kalshi-lake orderbook KXHIGHNY-26NOV24-T55"""
    from kalshi_extract.errors import NotFoundError

    if depth < 0:
        raise fail("--depth must be 0 (all) or more")
    ticker = market_ticker(ticker)
    settings = load_settings()
    with make_client(settings) as c:
        try:
            body = c.get_orderbook(ticker, depth=depth)
        except NotFoundError:
            raise fail(f"unknown ticker {ticker!r} (try `kalshi-lake search`)") from None
    book = body.get("orderbook_fp") or {}
    yes = sorted(((Decimal(p), Decimal(q)) for p, q in book.get("yes_dollars") or []), reverse=True)
    no = sorted(((Decimal(p), Decimal(q)) for p, q in book.get("no_dollars") or []), reverse=True)
    one = Decimal(1)
    summary = {
        "ticker": ticker,
        "best_yes_bid": yes[0][0] if yes else None,
        "best_yes_ask": one - no[0][0] if no else None,  # a NO bid at q is a YES ask at 1 - q
        "best_no_bid": no[0][0] if no else None,
        "best_no_ask": one - yes[0][0] if yes else None,
    }
    if as_json:
        print_json({**summary, "yes_bids": [[p, q] for p, q in yes], "no_bids": [[p, q] for p, q in no]})
        return
    con = console()
    if not yes and not no:
        con.print(f"{ticker}: the order book is empty (no resting bids on either side)")
        return
    n = max(len(yes), len(no))
    rows = []
    for i in range(n):
        y = yes[i] if i < len(yes) else (None, None)
        o = no[i] if i < len(no) else (None, None)
        rows.append(
            [
                dollars(y[0]),
                count(y[1]),
                dollars(None if y[0] is None else one - y[0]),
                dollars(o[0]),
                count(o[1]),
                dollars(None if o[0] is None else one - o[0]),
            ]
        )
    con.print(
        table(
            f"{ticker} order book (bids; implied ask on the other side = 1 − bid)",
            [Col(h, "num") for h in ("YES bid", "size", "= NO ask", "NO bid", "size", "= YES ask")],
            rows,
        )
    )
    con.print(
        f"YES: bid {dollars(summary['best_yes_bid'])} / ask {dollars(summary['best_yes_ask'])}   "
        f"NO: bid {dollars(summary['best_no_bid'])} / ask {dollars(summary['best_no_ask'])}"
    )
