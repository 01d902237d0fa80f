"""Trading CLI, the account (needs a key; read-only): ``orders``, ``positions``, ``balance``, ``fills``,
``settlements``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from kalshi_lake.cli.common import fail, load_settings, print_json
from kalshi_lake.cli.render import (
    Col,
    cents,
    columns,
    count,
    dollars,
    print_table,
    short_id,
    text,
    when,
)
from kalshi_lake.cli.trading_common import (
    JsonOpt,
    make_client,
    make_orders,
    market_ticker,
    orders_reader,
    require_key,
)


def orders(
    status: Annotated[str | None, typer.Option(help="resting, canceled or executed.")] = None,
    ticker: Annotated[str | None, typer.Option(help="Only this market.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    pending: Annotated[
        bool, typer.Option("--pending", help="Resolve journaled orders whose outcome was never recorded.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List your orders, newest first.  Example: kalshi-lake orders --status resting"""
    if pending:
        _resolve_pending(as_json)
        return

    if status is not None and status not in ("resting", "canceled", "executed"):
        raise fail(f"--status must be resting, canceled or executed, not {status!r}")
    if limit < 1:
        raise fail("--limit must be at least 1")
    if ticker is not None:
        ticker = market_ticker(ticker, "--ticker")
    settings = load_settings()
    require_key(settings)
    with make_client(settings) as c:
        rows_raw = orders_reader(c).list_orders(status=status, ticker=ticker, limit=limit)
    if as_json:
        print_json(rows_raw)
        return
    rows = [
        [
            short_id(o.get("order_id")),
            o.get("ticker"),
            _what(o),
            _filled(o),
            o.get("status"),
            when(o.get("created_time"), seconds=False),
        ]
        for o in rows_raw
    ]
    print_table(
        f"orders ({len(rows)}; YES terms: buy NO @ q = sell YES @ 1 − q; ids shortened, --json in full)",
        [
            Col("order"),
            Col("ticker"),
            Col("what"),
            Col("filled", "num"),
            Col("status"),
            Col("created (UTC)", drop=1),
        ],
        rows,
        empty=f"no orders{f' with status {status}' if status else ''}{f' in {ticker}' if ticker else ''}",
    )


def _what(o: dict) -> str:
    """``buy YES @ 0.04`` / ``sell YES @ 0.03``: an order or fill in YES terms, from its V2 ``book_side``.

    A V2 order is a bid or an ask on the YES book: buying NO at q IS an ask at 1 − q, and ``outcome_side`` is
    "no" for both buy-NO and sell-YES, so the YES form is the only one that is always true. ``action``/``side``
    (deprecated) are the fallback when ``book_side`` is missing."""
    side, p = o.get("book_side"), o.get("yes_price_dollars")
    if side not in ("bid", "ask") and o.get("side") == "yes" and o.get("action") in ("buy", "sell"):
        side = "bid" if o["action"] == "buy" else "ask"
    if side in ("bid", "ask") and p:
        return f"{'buy' if side == 'bid' else 'sell'} YES @ {dollars(p)}"
    return text(o.get("side"))


def _filled(o: dict) -> str:
    """``2/5``: filled of the order's count (filled + remaining when the initial count is not given)."""
    filled = Decimal(o.get("fill_count_fp") or "0")
    total = o.get("initial_count_fp")
    total = Decimal(total) if total else filled + Decimal(o.get("remaining_count_fp") or "0")
    return f"{count(filled)}/{count(total)}"


def _resolve_pending(as_json: bool) -> None:
    settings = load_settings()
    require_key(settings)
    with make_client(settings) as c:
        resolved = make_orders(c).resolve_pending()
    if as_json:
        print_json([{"client_order_id": coid, "order": order} for coid, order in resolved])
        return
    rows = [
        [coid, (o or {}).get("order_id") or "never placed", (o or {}).get("status")] for coid, o in resolved
    ]
    print_table(
        f"journaled orders with no recorded outcome ({len(rows)}), now resolved",
        [Col("client_order_id"), Col("order_id"), Col("status")],
        rows,
        empty="no journaled order is missing its outcome: nothing to resolve",
    )


def positions(
    ticker: Annotated[str | None, typer.Option(help="Only this market.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed-out (zero) positions.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show your market positions (YES > 0, NO < 0).  Example: kalshi-lake positions"""
    settings = load_settings()
    require_key(settings)
    params: dict[str, Any] = {"limit": 1000}
    if ticker is not None:
        params["ticker"] = market_ticker(ticker, "--ticker")
    if not all_:
        params["count_filter"] = "position"
    with make_client(settings) as c:
        rows_raw = list(c.get_positions(**params))
    if not all_:
        rows_raw = [p for p in rows_raw if Decimal(str(p.get("position_fp") or "0")) != 0]
    if as_json:
        print_json(rows_raw)
        return
    rows = columns(
        [
            [
                p.get("ticker"),
                _holding(p.get("position_fp")),
                p.get("market_exposure_dollars"),
                p.get("realized_pnl_dollars"),
                p.get("fees_paid_dollars"),
                p.get("total_traded_dollars"),
                when(p.get("last_updated_ts"), seconds=False),
            ]
            for p in rows_raw
        ],
        money=[2, 3, 4, 5],
    )
    print_table(
        f"positions ({len(rows)})",
        [
            Col("ticker"),
            Col("position", "num"),
            Col("exposure $", "num"),
            Col("realized P&L $", "num"),
            Col("fees $", "num"),
            Col("traded $", "num", drop=1),
            Col("updated (UTC)", drop=2),
        ],
        rows,
        empty="no positions" + ("" if all_ else " open (--all includes closed-out ones)"),
    )


def _holding(position_fp: Any) -> str:
    """A signed YES-equivalent position as the contracts held: ``6 YES``, ``3 NO`` (negative), ``0``."""
    if position_fp is None or position_fp == "":
        return ""
    pos = Decimal(str(position_fp))
    return "0" if pos == 0 else f"{count(abs(pos))} {'YES' if pos > 0 else 'NO'}"


def balance(as_json: JsonOpt = False) -> None:
    """Show your cash balance and portfolio value.  Example: kalshi-lake balance"""
    settings = load_settings()
    require_key(settings)
    with make_client(settings) as c:
        body = c.get_balance()
    if as_json:
        print_json(body)
        return
    cash = dollars(body["balance_dollars"]) if body.get("balance_dollars") else cents(body.get("balance"))
    rows = [
        ["balance $", cash],
        ["portfolio value $", cents(body.get("portfolio_value"))],
        ["updated (UTC)", when(body.get("updated_ts"))],
    ]
    print_table("balance", [Col(""), Col("", "num")], rows)


def fills(
    ticker: Annotated[str | None, typer.Option(help="Only this market.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show your fills, newest first.  Example: kalshi-lake fills --ticker KXHIGHNY-26NOV24-T55"""
    if ticker is not None:
        ticker = market_ticker(ticker, "--ticker")
    rows_raw = _private_list("get_fills", ticker=ticker, limit=limit)
    if as_json:
        print_json(rows_raw)
        return
    rows = columns(
        [
            [
                when(f.get("created_time"), seconds=False),
                f.get("ticker"),
                _what(f),
                count(f.get("count_fp")),
                f.get("fee_cost"),
                "taker" if f.get("is_taker") else "maker",
                short_id(f.get("order_id")),
            ]
            for f in rows_raw
        ],
        money=[4],
    )
    print_table(
        f"fills ({len(rows)}; YES terms: buy NO @ q = sell YES @ 1 − q)",
        [
            Col("time (UTC)", drop=1),
            Col("ticker"),
            Col("fill"),
            Col("count", "num"),
            Col("fee $", "num"),
            Col("role", drop=2),
            Col("order", drop=3),
        ],
        rows,
        empty="no fills" + (f" in {ticker}" if ticker else ""),
    )


def settlements(
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show your settled markets and payouts.  Example: kalshi-lake settlements"""
    rows_raw = _private_list("get_settlements", limit=limit)
    if as_json:
        print_json(rows_raw)
        return
    rows = columns(
        [
            [
                when(s.get("settled_time"), seconds=False),
                s.get("ticker"),
                s.get("market_result"),
                _held(s),
                cents(s.get("revenue")),
                s.get("fee_cost"),
            ]
            for s in rows_raw
        ],
        money=[5],
    )
    print_table(
        f"settlements ({len(rows)})",
        [
            Col("settled (UTC)", drop=1),
            Col("ticker"),
            Col("result"),
            Col("held"),
            Col("payout $", "num"),
            Col("fee $", "num", drop=2),
        ],
        rows,
        empty="no settlements yet",
    )


def _held(s: dict) -> str:
    """``6 YES``, ``3 NO`` or ``6 YES + 3 NO``: the contracts settled."""
    parts = [
        f"{count(s.get(f'{o}_count_fp'))} {o.upper()}"
        for o in ("yes", "no")
        if s.get(f"{o}_count_fp") and Decimal(s[f"{o}_count_fp"]) != 0
    ]
    return " + ".join(parts) or "0"


def _private_list(method: str, *, limit: int, **params: Any) -> list[dict]:
    if limit < 1:
        raise fail("--limit must be at least 1")
    settings = load_settings()
    require_key(settings)
    query = {k: v for k, v in params.items() if v is not None}
    query["limit"] = min(limit, 1000)
    out: list[dict] = []
    with make_client(settings) as c:
        for item in getattr(c, method)(**query):
            out.append(item)
            if len(out) >= limit:
                break
    return out
