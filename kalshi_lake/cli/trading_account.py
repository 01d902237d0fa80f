"""Trading CLI, the account (needs a key; read-only): ``orders``, ``positions``, ``balance``, ``fills``,
``settlements``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from kalshi_lake.cli.common import console, fail, load_settings, print_json
from kalshi_lake.cli.trading_common import (
    JsonOpt,
    make_client,
    make_orders,
    market_ticker,
    orders_reader,
    require_key,
)
from kalshi_lake.cli.trading_render import table, text, unix


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
    from kalshi_extract.orders_validate import describe_v2

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
    rows = []
    for o in rows_raw:
        side, p = o.get("book_side"), o.get("yes_price_dollars")
        what = describe_v2(side, Decimal(p)) if side in ("bid", "ask") and p else text(o.get("side"))
        rows.append([o.get("order_id"), o.get("ticker"), what, o.get("fill_count_fp"), o.get("remaining_count_fp"),
                     o.get("status"), o.get("created_time")])  # fmt: skip
    console().print(table(f"orders ({len(rows)})", ["order_id", "ticker", "order", "filled", "remaining",
                                                     "status", "created"], rows))  # fmt: skip


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
    console().print(table(f"journaled orders with no recorded outcome ({len(rows)}), now resolved",
                            ["client_order_id", "order_id", "status"], rows))  # fmt: skip


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
    rows = [[p.get("ticker"), p.get("position_fp"), p.get("market_exposure_dollars"), p.get("realized_pnl_dollars"),
             p.get("fees_paid_dollars"), p.get("total_traded_dollars"), p.get("last_updated_ts")] for p in rows_raw]  # fmt: skip
    console().print(table(f"positions ({len(rows)})", ["ticker", "position", "exposure $", "realized P&L $",
                                                        "fees $", "traded $", "updated"], rows))  # fmt: skip


def balance(as_json: JsonOpt = False) -> None:
    """Show your cash balance and portfolio value.  Example: kalshi-lake balance"""
    settings = load_settings()
    require_key(settings)
    with make_client(settings) as c:
        body = c.get_balance()
    if as_json:
        print_json(body)
        return
    cash = body.get("balance_dollars") or str(Decimal(int(body.get("balance", 0))).scaleb(-2))
    pv = body.get("portfolio_value")
    rows = [["balance $", cash], ["portfolio value $", None if pv is None else Decimal(int(pv)).scaleb(-2)],
            ["updated", unix(body.get("updated_ts"))]]  # fmt: skip
    console().print(table("balance", ["", ""], rows))


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
    rows = [[f.get("created_time"), f.get("ticker"), f.get("book_side"), f.get("outcome_side"), f.get("count_fp"),
             f.get("yes_price_dollars"), f.get("no_price_dollars"), "taker" if f.get("is_taker") else "maker",
             f.get("fee_cost"), f.get("order_id")] for f in rows_raw]  # fmt: skip
    console().print(table(f"fills ({len(rows)})", ["time", "ticker", "book side", "outcome side", "count",
                                                    "YES $", "NO $", "role", "fee $", "order_id"], rows))  # fmt: skip


def settlements(
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show your settled markets and payouts.  Example: kalshi-lake settlements"""
    rows_raw = _private_list("get_settlements", limit=limit)
    if as_json:
        print_json(rows_raw)
        return
    rows = [[s.get("settled_time"), s.get("ticker"), s.get("market_result"), s.get("yes_count_fp"),
             s.get("no_count_fp"), None if s.get("revenue") is None else Decimal(int(s["revenue"])).scaleb(-2),
             s.get("fee_cost")] for s in rows_raw]  # fmt: skip
    console().print(table(f"settlements ({len(rows)})", ["settled", "ticker", "result", "YES count", "NO count",
                                                          "payout $", "fee $"], rows))  # fmt: skip


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


