"""CLI trading commands: look up markets, trade, and see the account (registered by kalshi_lake.cli).

Commands: ``search``, ``market``, ``orderbook``, ``buy``, ``sell``, ``orders``, ``cancel``, ``amend``,
``decrease``, ``positions``, ``balance``, ``fills``, ``settlements``. Each prints a rich table, or JSON with
``--json``. The library does the work (``kalshi_extract.orders``); this module only parses, shows and asks.

PRICE (buy/sell/amend): a whole number is CENTS (``45`` = $0.45); a number with a decimal point is DOLLARS
(``0.45``; sub-cent ``0.455`` only on markets whose tick grid has it); ``45.5c`` = 45.5 cents; ``$0.45`` = dollars.
``45.5`` without a suffix is refused, never guessed. The price is that of the contract named (YES or NO).

Safety: every order command validates before sending (nothing is sent on a bad input); ``--dry-run`` prints the
exact request instead of sending it; with ``KALSHI_ENV=prod`` every order command shows the request, its cost and
fee estimate and asks for confirmation — without a terminal it refuses unless ``--yes`` is given (exit 4).
Errors are one line on stderr (``error: …``) with a non-zero exit: 1 failed/refused by the exchange or invalid
input, 3 outcome unknown (look the order up before retrying), 4 not confirmed.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import typer

EXIT_FAILED = 1
EXIT_UNKNOWN = 3
EXIT_NOT_CONFIRMED = 4
_ORDER_CTX = {"ignore_unknown_options": True}  # so a count like -3 reaches our validation, not click's

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (prod).")]
DryOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and print the exact request; send nothing.")
]
PRICE_HELP = (
    "PRICE: a whole number is cents (45 = $0.45); a number with a point is dollars (0.45); 45.5c = 45.5 cents. "
    "Sub-cent prices only on deci-cent markets; 45.5 without c is refused, never guessed."
)


# ------------------------------------------------------------------------------------------------ plumbing
def _fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(code)


def handle_errors(fn: Callable) -> Callable:
    """Library errors → one line on stderr and a non-zero exit (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kalshi_extract.errors import KalshiLakeError, OrderOutcomeUnknown

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except OrderOutcomeUnknown as exc:
            raise _fail(str(exc), EXIT_UNKNOWN) from None
        except KalshiLakeError as exc:
            raise _fail(str(exc)) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", 130) from None

    return wrapper


def _settings():
    from kalshi_extract.settings import Settings

    return Settings.load()


def _client(settings):
    from kalshi_extract.client import KalshiClient

    return KalshiClient(settings)


def _orders(client):
    from kalshi_extract.orders import Orders

    return Orders(client)


def _console(err: bool = False):
    from rich.console import Console

    console = Console(stderr=err, soft_wrap=False)
    if not console.is_terminal:  # piped or captured: do not fold tickers and ids into 80 columns
        console.width = max(console.width, 220)
    return console


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(_jsonable(value), indent=2, sort_keys=True))


def _table(title: str, columns: list[str], rows: list[list[Any]]):
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_header=any(columns))
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


def _require_key(settings) -> None:
    from kalshi_extract.errors import ConfigError

    if not settings.has_key:
        raise ConfigError(
            "this command needs an API key: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
            "(or KALSHI_PRIVATE_KEY with the PEM text). Nothing was sent."
        )


def confirm_gate(settings, lines: list[str], *, yes: bool, interactive: bool | None = None, ask=None) -> None:
    """On prod, show what will be sent and require ``--yes`` or an interactive yes; else do nothing.

    Without a terminal (``interactive`` False, default: ``sys.stdin.isatty()``) and without ``--yes`` it refuses:
    exit 4, nothing sent. ``ask`` (default ``typer.confirm``) is the prompt, injectable for tests.
    """
    if settings.env != "prod" or yes:
        return
    err = _console(err=True)
    err.print(f"[bold red]KALSHI_ENV=prod[/] — this will be sent to the REAL exchange ({settings.base_url}):")
    for line in lines:
        err.print(f"  {line}", markup=False)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise _fail("not confirmed: KALSHI_ENV=prod needs --yes when not run in a terminal. Nothing was sent.",
                    EXIT_NOT_CONFIRMED)  # fmt: skip
    ask = ask or (lambda q: typer.confirm(q, default=False))
    if not ask("Send it?"):
        raise _fail("not confirmed. Nothing was sent.", EXIT_NOT_CONFIRMED)


def _request_text(settings, method: str, path: str, body: Any = None, params: dict | None = None) -> str:
    from urllib.parse import urlencode

    url = settings.base_url + path + (f"?{urlencode(params)}" if params else "")
    text = f"{method} {url}"
    if body is not None:
        text += "\n" + json.dumps(body, indent=2)
    return text


def _unix(v: Any) -> Any:
    import datetime as dt

    if isinstance(v, int) and not isinstance(v, bool):
        return dt.datetime.fromtimestamp(v, dt.UTC).isoformat().replace("+00:00", "Z")
    return v


def _d(v: Any) -> str:
    return "" if v is None or v == "" else str(v)


# ------------------------------------------------------------------------------------------------ market data
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
        raise _fail("--limit and --max-markets must be at least 1")
    settings = _settings()
    q = query.strip().lower()
    found: list[dict] = []
    with _client(settings) as c:
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
            hay = " ".join(str(m.get(k) or "") for k in ("ticker", "event_ticker", "title", "subtitle",
                                                         "yes_sub_title", "no_sub_title")).lower()  # fmt: skip
            if q in hay and m.get("ticker") not in seen:
                found.append(m)
                seen.add(m.get("ticker"))
            if len(found) >= limit or n >= max_markets:
                break
    found = found[:limit]
    if as_json:
        _print_json(found)
        return
    rows = [[m.get("ticker"), m.get("title") or m.get("yes_sub_title"), m.get("status"), m.get("yes_bid_dollars"),
             m.get("yes_ask_dollars"), m.get("last_price_dollars"), m.get("volume_fp"), m.get("close_time")]
            for m in found]  # fmt: skip
    _console().print(_table(f"markets matching {query!r} ({len(rows)})",
                            ["ticker", "title", "status", "yes bid", "yes ask", "last", "volume", "closes"], rows))  # fmt: skip
    if not rows:
        typer.echo("no market matched; try --status all or a shorter query")


def market(
    ticker: Annotated[str, typer.Argument(help="Market ticker.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one market: prices, sizes, volume, status, tick grid.  Example: kalshi-lake market KXHIGHNY-26NOV24-T55"""
    from kalshi_extract.errors import NotFoundError

    settings = _settings()
    with _client(settings) as c:
        try:
            m = c.get_market(ticker.strip())
        except NotFoundError:
            raise _fail(f"unknown ticker {ticker!r} (try `kalshi-lake search`)") from None
    if as_json:
        _print_json(m)
        return
    keys = ["ticker", "event_ticker", "title", "yes_sub_title", "no_sub_title", "status", "market_type",
            "yes_bid_dollars", "yes_bid_size_fp", "yes_ask_dollars", "yes_ask_size_fp", "no_bid_dollars",
            "no_ask_dollars", "last_price_dollars", "volume_fp", "volume_24h_fp", "open_interest_fp",
            "open_time", "close_time", "result", "settlement_value_dollars", "price_level_structure",
            "price_ranges"]  # fmt: skip
    rows = [[k, json.dumps(m[k]) if isinstance(m.get(k), (list, dict)) else m.get(k)] for k in keys if k in m]
    _console().print(_table(m.get("ticker", ticker), ["field", "value"], rows))


def orderbook(
    ticker: Annotated[str, typer.Argument(help="Market ticker.")],
    depth: Annotated[int, typer.Option(help="Levels per side (0 = all).")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Show the YES and NO books (bids) with the implied asks.  Example: kalshi-lake orderbook KXHIGHNY-26NOV24-T55"""
    from kalshi_extract.errors import NotFoundError

    if depth < 0:
        raise _fail("--depth must be 0 (all) or more")
    settings = _settings()
    with _client(settings) as c:
        try:
            body = c.get_orderbook(ticker.strip(), depth=depth)
        except NotFoundError:
            raise _fail(f"unknown ticker {ticker!r} (try `kalshi-lake search`)") from None
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
        _print_json({**summary, "yes_bids": [[p, q] for p, q in yes], "no_bids": [[p, q] for p, q in no]})
        return
    con = _console()
    n = max(len(yes), len(no))
    rows = []
    for i in range(n):
        y = yes[i] if i < len(yes) else (None, None)
        o = no[i] if i < len(no) else (None, None)
        rows.append(
            [
                y[0],
                y[1],
                None if y[0] is None else one - y[0],
                o[0],
                o[1],
                None if o[0] is None else one - o[0],
            ]
        )
    con.print(_table(f"{ticker} order book (bids; implied ask on the other side = 1 − bid)",
                     ["YES bid", "size", "= NO ask", "NO bid", "size", "= YES ask"], rows))  # fmt: skip
    con.print(
        f"YES: bid {_d(summary['best_yes_bid'])} / ask {_d(summary['best_yes_ask'])}   "
        f"NO: bid {_d(summary['best_no_bid'])} / ask {_d(summary['best_no_ask'])}"
    )


# ------------------------------------------------------------------------------------------------ orders
def _place(action: str, ticker, outcome, count, price, tif, expires, post_only, reduce_only, stp, client_order_id,
           dry_run, yes, as_json) -> None:  # fmt: skip
    from kalshi_extract.orders_translate import parse_price_text
    from kalshi_extract.orders_validate import build_v2_request

    # local checks first: a bad input costs no request at all
    settings = _settings()
    prepared = build_v2_request(
        ticker, action, outcome, count, parse_price_text(price), time_in_force=tif, expiration_time=expires,
        post_only=post_only, reduce_only=reduce_only, self_trade_prevention_type=stp, client_order_id=client_order_id,
    )  # fmt: skip
    if settings.max_order_count is not None and prepared.count > settings.max_order_count:
        raise _fail(
            f"count {prepared.count} exceeds KALSHI_MAX_ORDER_COUNT={settings.max_order_count}. Nothing was sent."
        )
    if not dry_run:
        _require_key(settings)
    with _client(settings) as c:
        orders = _orders(c) if not dry_run else None
        if orders is None:
            from kalshi_extract.orders_validate import OrderChecker

            checker = OrderChecker(c)
        else:
            checker = orders.checker
        prepared = checker.check(prepared, account_checks=settings.has_key)
        lines = [
            prepared.summary(),
            _request_text(settings, "POST", "/portfolio/events/orders", prepared.request),
        ]
        if prepared.balance is not None:
            lines.append(f"balance ${prepared.balance}; position {prepared.position} (YES-equivalent)")
        lines += [f"note: {n}" for n in prepared.notes]
        if dry_run:
            if as_json:
                _print_json({"dry_run": True, "method": "POST", "url": settings.base_url + "/portfolio/events/orders",
                             "request": prepared.request, "cost": prepared.cost, "fee_estimate": prepared.fee_estimate,
                             "notes": prepared.notes})  # fmt: skip
            else:
                typer.echo("dry run — nothing sent. The request would be:")
                for line in lines:
                    typer.echo(line)
            return
        confirm_gate(settings, lines, yes=yes)
        result = orders.submit(prepared)
    if as_json:
        _print_json({"request": prepared.request, "result": result})
        return
    rows = [["order_id", result.order_id], ["client_order_id", result.client_order_id], ["status", result.status],
            ["filled", result.fill_count], ["remaining", result.remaining_count],
            ["average fill price (YES)", result.average_fill_price], ["average fee / contract", result.average_fee_paid],
            ["outcome", f"{result.outcome} after {result.attempts} attempt(s)"]]  # fmt: skip
    _console().print(_table(prepared.summary(), ["", ""], rows))


def _order_command(action: str):
    def command(
        ticker: Annotated[str, typer.Argument(help="Market ticker.")],
        outcome: Annotated[str, typer.Argument(help="yes or no: which contract.")],
        count: Annotated[str, typer.Argument(help="Contracts (> 0, up to 2 decimals).")],
        price: Annotated[str, typer.Argument(help=PRICE_HELP)],
        tif: Annotated[str, typer.Option("--tif", help="Time in force: gtc, ioc or fok.")] = "gtc",
        expires: Annotated[int | None, typer.Option(help="Expiry (Unix seconds; gtc only).")] = None,
        post_only: Annotated[
            bool, typer.Option("--post-only", help="Only rest on the book; never take.")
        ] = False,
        reduce_only: Annotated[
            bool, typer.Option("--reduce-only", help="Only reduce a position (ioc only).")
        ] = False,
        stp: Annotated[
            str, typer.Option("--stp", help="Self-trade prevention: taker_at_cross or maker.")
        ] = "taker_at_cross",
        client_order_id: Annotated[
            str | None, typer.Option(help="Your id for this order (default: a new uuid4).")
        ] = None,
        dry_run: DryOpt = False,
        yes: YesOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        _place(action, ticker, outcome, count, price, tif, expires, post_only, reduce_only, stp, client_order_id,
               dry_run, yes, as_json)  # fmt: skip

    command.__name__ = action
    example = "kalshi-lake buy KXHIGHNY-26NOV24-T55 yes 10 45" if action == "buy" else \
        "kalshi-lake sell KXHIGHNY-26NOV24-T55 no 5 0.58 --tif ioc"  # fmt: skip
    command.__doc__ = (
        f"{action.capitalize()} YES or NO contracts with a limit order.  Example: {example}\n\n"
        f"{PRICE_HELP} The price is that of the contract named (a NO price for no). "
        "Prints the exact request with --dry-run; on KALSHI_ENV=prod asks for confirmation unless --yes."
    )
    return command


buy = _order_command("buy")
sell = _order_command("sell")


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
        raise _fail(f"--status must be resting, canceled or executed, not {status!r}")
    if limit < 1:
        raise _fail("--limit must be at least 1")
    settings = _settings()
    _require_key(settings)
    with _client(settings) as c:
        rows_raw = _orders_reader(c).list_orders(status=status, ticker=ticker, limit=limit)
    if as_json:
        _print_json(rows_raw)
        return
    rows = []
    for o in rows_raw:
        side, p = o.get("book_side"), o.get("yes_price_dollars")
        what = describe_v2(side, Decimal(p)) if side in ("bid", "ask") and p else _d(o.get("side"))
        rows.append([o.get("order_id"), o.get("ticker"), what, o.get("fill_count_fp"), o.get("remaining_count_fp"),
                     o.get("status"), o.get("created_time")])  # fmt: skip
    _console().print(_table(f"orders ({len(rows)})", ["order_id", "ticker", "order", "filled", "remaining",
                                                     "status", "created"], rows))  # fmt: skip


def _resolve_pending(as_json: bool) -> None:
    settings = _settings()
    _require_key(settings)
    with _client(settings) as c:
        resolved = _orders(c).resolve_pending()
    if as_json:
        _print_json([{"client_order_id": coid, "order": order} for coid, order in resolved])
        return
    rows = [
        [coid, (o or {}).get("order_id") or "never placed", (o or {}).get("status")] for coid, o in resolved
    ]
    _console().print(_table(f"journaled orders with no recorded outcome ({len(rows)}), now resolved",
                            ["client_order_id", "order_id", "status"], rows))  # fmt: skip


def _orders_reader(client):
    """Orders for reads only: no journal needed (nothing is written)."""
    from kalshi_extract.orders import Orders
    from kalshi_extract.orders_journal import MemoryJournal

    return Orders(client, journal=MemoryJournal())


def _write_command(settings, pw, describe: str, dry_run: bool, yes: bool, as_json: bool, run) -> None:
    text = _request_text(settings, pw.method, pw.path, pw.body, pw.params)
    if dry_run:
        if as_json:
            _print_json({"dry_run": True, "method": pw.method, "url": settings.base_url + pw.path,
                         "params": pw.params, "request": pw.body})  # fmt: skip
        else:
            typer.echo(f"dry run — nothing sent. {describe}. The request would be:\n{text}")
        return
    confirm_gate(settings, [describe, text], yes=yes)
    result = run()
    if as_json:
        _print_json(result)
        return
    typer.echo(f"{describe}: {result.outcome} after {result.attempts} attempt(s)")


def cancel(
    order_id: Annotated[str | None, typer.Argument(help="The order to cancel.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Cancel every resting order.")] = False,
    dry_run: DryOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Cancel one resting order, or all with --all.  Example: kalshi-lake cancel 3b23c1c7-f4ef-4f0d-8b9a-9e53c61f1a0d"""
    if (order_id is None) == (not all_):
        raise _fail("give an ORDER_ID or --all (not both)")
    settings = _settings()
    _require_key(settings)
    with _client(settings) as c:
        if all_:
            from kalshi_extract.orders import PreparedWrite

            pw = PreparedWrite("cancel_all", "DELETE", "/portfolio/events/orders", None, None)
            resting = _orders_reader(c).list_orders(status="resting", limit=1000)
            describe = f"cancel all resting orders ({len(resting)} now resting)"
            _write_command(settings, pw, describe, dry_run, yes, as_json, lambda: _orders(c).cancel_all())
            return
        pw = _orders_reader(c).prepare_cancel(order_id)
        o = pw.order or {}
        describe = f"cancel {order_id} ({o.get('ticker')}, {o.get('remaining_count_fp')} resting)"
        _write_command(settings, pw, describe, dry_run, yes, as_json, lambda: _orders(c).cancel(order_id))


def amend(
    order_id: Annotated[str, typer.Argument(help="The resting order to change.")],
    price: Annotated[
        str | None, typer.Option(help="New price (YES price unless --outcome no). " + PRICE_HELP)
    ] = None,
    count: Annotated[
        str | None, typer.Option(help="New TOTAL count: already filled + wanted resting.")
    ] = None,
    outcome: Annotated[str, typer.Option(help="Which contract --price is quoted in: yes or no.")] = "yes",
    dry_run: DryOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a resting order's price and/or total count.  Example: kalshi-lake amend 3b23c1c7-… --price 46 --count 10"""
    from kalshi_extract.orders_translate import parse_price_text

    new_price = parse_price_text(price) if price is not None else None
    settings = _settings()
    _require_key(settings)
    with _client(settings) as c:
        pw = _orders_reader(c).prepare_amend(order_id, price=new_price, count=count, outcome=outcome)
        describe = (f"amend {order_id} ({pw.order.get('ticker')}): {pw.body['side']} at YES ${pw.body['price']}, "
                    f"total count {pw.body['count']}")  # fmt: skip
        _write_command(settings, pw, describe, dry_run, yes, as_json,
                       lambda: _orders(c).exec.amend(order_id, pw.body))  # fmt: skip


def decrease(
    order_id: Annotated[str, typer.Argument(help="The resting order to reduce.")],
    by: Annotated[str | None, typer.Option("--by", help="Contracts to remove.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Contracts to leave resting.")] = None,
    dry_run: DryOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Reduce a resting order by N or to N contracts (keeps queue place).  Example: kalshi-lake decrease 3b23c1c7-… --by 2"""
    settings = _settings()
    if (by is None) == (to is None):
        raise _fail("give exactly one of --by or --to")
    _require_key(settings)
    with _client(settings) as c:
        pw = _orders_reader(c).prepare_decrease(order_id, reduce_by=by, reduce_to=to)
        describe = f"decrease {order_id} ({pw.order.get('ticker')}) to {pw.target} resting"
        _write_command(settings, pw, describe, dry_run, yes, as_json,
                       lambda: _orders(c).exec.decrease(order_id, pw.order["ticker"], pw.body, pw.target))  # fmt: skip


# ------------------------------------------------------------------------------------------------ account
def positions(
    ticker: Annotated[str | None, typer.Option(help="Only this market.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed-out (zero) positions.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show your market positions (YES > 0, NO < 0).  Example: kalshi-lake positions"""
    settings = _settings()
    _require_key(settings)
    params: dict[str, Any] = {"limit": 1000}
    if ticker:
        params["ticker"] = ticker
    if not all_:
        params["count_filter"] = "position"
    with _client(settings) as c:
        rows_raw = list(c.get_positions(**params))
    if not all_:
        rows_raw = [p for p in rows_raw if Decimal(str(p.get("position_fp") or "0")) != 0]
    if as_json:
        _print_json(rows_raw)
        return
    rows = [[p.get("ticker"), p.get("position_fp"), p.get("market_exposure_dollars"), p.get("realized_pnl_dollars"),
             p.get("fees_paid_dollars"), p.get("total_traded_dollars"), p.get("last_updated_ts")] for p in rows_raw]  # fmt: skip
    _console().print(_table(f"positions ({len(rows)})", ["ticker", "position", "exposure $", "realized P&L $",
                                                        "fees $", "traded $", "updated"], rows))  # fmt: skip


def balance(as_json: JsonOpt = False) -> None:
    """Show your cash balance and portfolio value.  Example: kalshi-lake balance"""
    settings = _settings()
    _require_key(settings)
    with _client(settings) as c:
        body = c.get_balance()
    if as_json:
        _print_json(body)
        return
    cash = body.get("balance_dollars") or str(Decimal(int(body.get("balance", 0))).scaleb(-2))
    pv = body.get("portfolio_value")
    rows = [["balance $", cash], ["portfolio value $", None if pv is None else Decimal(int(pv)).scaleb(-2)],
            ["updated", _unix(body.get("updated_ts"))]]  # fmt: skip
    _console().print(_table("balance", ["", ""], rows))


def fills(
    ticker: Annotated[str | None, typer.Option(help="Only this market.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show your fills, newest first.  Example: kalshi-lake fills --ticker KXHIGHNY-26NOV24-T55"""
    rows_raw = _private_list("get_fills", ticker=ticker, limit=limit)
    if as_json:
        _print_json(rows_raw)
        return
    rows = [[f.get("created_time"), f.get("ticker"), f.get("book_side"), f.get("outcome_side"), f.get("count_fp"),
             f.get("yes_price_dollars"), f.get("no_price_dollars"), "taker" if f.get("is_taker") else "maker",
             f.get("fee_cost"), f.get("order_id")] for f in rows_raw]  # fmt: skip
    _console().print(_table(f"fills ({len(rows)})", ["time", "ticker", "book side", "outcome side", "count",
                                                    "YES $", "NO $", "role", "fee $", "order_id"], rows))  # fmt: skip


def settlements(
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show your settled markets and payouts.  Example: kalshi-lake settlements"""
    rows_raw = _private_list("get_settlements", limit=limit)
    if as_json:
        _print_json(rows_raw)
        return
    rows = [[s.get("settled_time"), s.get("ticker"), s.get("market_result"), s.get("yes_count_fp"),
             s.get("no_count_fp"), None if s.get("revenue") is None else Decimal(int(s["revenue"])).scaleb(-2),
             s.get("fee_cost")] for s in rows_raw]  # fmt: skip
    _console().print(_table(f"settlements ({len(rows)})", ["settled", "ticker", "result", "YES count", "NO count",
                                                          "payout $", "fee $"], rows))  # fmt: skip


def _private_list(method: str, *, limit: int, **params: Any) -> list[dict]:
    if limit < 1:
        raise _fail("--limit must be at least 1")
    settings = _settings()
    _require_key(settings)
    query = {k: v for k, v in params.items() if v is not None}
    query["limit"] = min(limit, 1000)
    out: list[dict] = []
    with _client(settings) as c:
        for item in getattr(c, method)(**query):
            out.append(item)
            if len(out) >= limit:
                break
    return out


COMMANDS = [search, market, orderbook, buy, sell, orders, cancel, amend, decrease, positions, balance, fills,
            settlements]  # fmt: skip


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    for command in COMMANDS:
        ctx = _ORDER_CTX if command in (buy, sell) else None
        app.command(name=command.__name__, context_settings=ctx)(handle_errors(command))
