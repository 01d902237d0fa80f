"""Trading CLI, order entry: ``buy``, ``sell``, ``cancel``, ``amend``, ``decrease``.

Every command validates before sending (nothing is sent on a bad input); ``--dry-run`` prints the exact request
instead of sending it; on ``KALSHI_ENV=prod`` the request, its cost and fee estimate are shown and confirmed first
(``trading_common.confirm_gate``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from kalshi_lake.cli.common import fail, load_settings, print_json
from kalshi_lake.cli.render import Col, dollars, print_table
from kalshi_lake.cli.render import count as show_count
from kalshi_lake.cli.trading_common import (
    PRICE_HELP,
    DryOpt,
    JsonOpt,
    YesOpt,
    confirm_gate,
    make_client,
    make_orders,
    market_ticker,
    orders_reader,
    request_text,
)

FULL_ID = 36  # Kalshi order ids are UUIDs


# ------------------------------------------------------------------------------------------------ place
def _place(
    action: str,
    ticker,
    outcome,
    count,
    price,
    tif,
    expires,
    post_only,
    reduce_only,
    stp,
    client_order_id,
    dry_run,
    yes,
    as_json,
    order_group=None,
) -> None:
    from kalshi_extract.orders.translate import parse_price_text, show_dollars

    # the CLI's own syntax first (ticker spelling, the PRICE rule); every order check is Orders.prepare's
    ticker = market_ticker(ticker)
    price = parse_price_text(price)
    settings = load_settings()
    with make_client(settings) as c:
        orders = orders_reader(c) if dry_run else make_orders(c)
        prepared = orders.prepare(
            action,
            ticker,
            outcome,
            count,
            price,
            account_checks=settings.has_key or not dry_run,
            time_in_force=tif,
            expiration_time=expires,
            post_only=post_only,
            reduce_only=reduce_only,
            self_trade_prevention_type=stp,
            client_order_id=client_order_id,
            order_group_id=order_group,
        )
        lines = [prepared.summary(), request_text(settings, prepared.method, prepared.path, prepared.request)]
        if prepared.balance is not None:
            lines.append(
                f"balance {show_dollars(prepared.balance)}; position {show_count(prepared.position)} "
                "(YES-equivalent)"
            )
        lines += [f"note: {n}" for n in prepared.notes]
        if dry_run:
            if as_json:
                print_json(
                    {
                        "dry_run": True,
                        "method": prepared.method,
                        "url": settings.base_url + prepared.path,
                        "request": prepared.request,
                        "cost": prepared.cost,
                        "fee_estimate": prepared.fee_estimate,
                        "notes": prepared.notes,
                    }
                )
            else:
                typer.echo("dry run — nothing sent. The request would be:")
                for line in lines:
                    typer.echo(line)
            return
        confirm_gate(settings, lines, yes=yes)
        result = orders.submit(prepared)
    if as_json:
        print_json({"request": prepared.request, "result": result})
        return
    avg = result.average_fill_price  # a YES price: shown in the terms of the contract named
    if avg is not None and prepared.outcome == "no":
        avg = 1 - Decimal(str(avg))
    rows = [
        ["order_id", result.order_id],
        ["client_order_id", result.client_order_id],
        ["status", result.status],
        ["filled", f"{show_count(result.fill_count)} of {show_count(prepared.count)}"],
        ["resting", show_count(result.remaining_count)],
        [f"average fill price ({prepared.outcome.upper()})", dollars(avg)],
        ["average fee / contract", dollars(result.average_fee_paid)],
        ["outcome", f"{result.outcome} after {result.attempts} attempt(s)"],
    ]
    print_table(prepared.summary(), [Col(""), Col("")], rows)
    for note in prepared.notes:
        typer.echo(f"note: {note}")


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
        order_group: Annotated[
            str | None, typer.Option("--order-group", help="Place the order in this order group (its id).")
        ] = None,
        dry_run: DryOpt = False,
        yes: YesOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        _place(
            action,
            ticker,
            outcome,
            count,
            price,
            tif,
            expires,
            post_only,
            reduce_only,
            stp,
            client_order_id,
            dry_run,
            yes,
            as_json,
            order_group,
        )

    command.__name__ = action
    example = (
        "kalshi-lake buy KXHIGHNY-26NOV24-T55 yes 10 45"
        if action == "buy"
        else "kalshi-lake sell KXHIGHNY-26NOV24-T55 no 5 0.58 --tif ioc"
    )
    command.__doc__ = (
        f"{action.capitalize()} YES or NO contracts with a limit order.  Example: {example}\n\n"
        f"{PRICE_HELP} The price is that of the contract named (a NO price for no). "
        "Prints the exact request with --dry-run; on KALSHI_ENV=prod asks for confirmation unless --yes."
    )
    return command


buy = _order_command("buy")
sell = _order_command("sell")


def resolve_order_id(client, given: str) -> str:
    """A full order id as given, or the one resting order whose id starts with ``given`` (tables show
    8-character ids, as git shows commits). None or several matching is a one-line error; nothing is sent."""
    oid = (given or "").strip()
    if not oid or len(oid) >= FULL_ID:
        return oid  # a full id (or empty: the library names the problem)
    resting = orders_reader(client).list_orders(status="resting", limit=1000)
    matches = sorted({o["order_id"] for o in resting if str(o.get("order_id", "")).startswith(oid)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise fail(
            f"no resting order id starts with {oid!r} (see `kalshi-lake orders --status resting`). "
            "Nothing was sent."
        )
    raise fail(
        f"{oid!r} is the start of {len(matches)} resting orders' ids ({', '.join(matches[:3])}"
        f"{', …' if len(matches) > 3 else ''}): give more of it. Nothing was sent."
    )


def _write_command(settings, orders, pw, describe: str, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Show a prepared change (dry run: only show it), pass the prod gate, send exactly it."""
    text = request_text(settings, pw.method, pw.path, pw.body, pw.params)
    if dry_run:
        if as_json:
            print_json(
                {
                    "dry_run": True,
                    "method": pw.method,
                    "url": settings.base_url + pw.path,
                    "params": pw.params,
                    "request": pw.body,
                }
            )
        else:
            typer.echo(f"dry run — nothing sent. {describe}. The request would be:\n{text}")
        return
    confirm_gate(settings, [describe, text], yes=yes)
    result = orders.submit_change(pw)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{describe}: {result.outcome} after {result.attempts} attempt(s)")


def cancel(
    order_id: Annotated[
        str | None, typer.Argument(help="The order to cancel: its id, or the start of it (8 characters).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Cancel every resting order.")] = False,
    dry_run: DryOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Cancel one resting order (its id or the id's start, as `orders` shows it), or all with --all.
    Example: kalshi-lake cancel 3b23c1c7"""
    if (order_id is None) == (not all_):
        raise fail("give an ORDER_ID or --all" + (", not both" if all_ else ""))
    settings = load_settings()
    with make_client(settings) as c:
        orders = orders_reader(c) if dry_run else make_orders(c)
        if all_:
            pw = orders.prepare_cancel_all()
            describe = f"cancel all resting orders ({len(pw.resting)} now resting)"
        else:
            pw = orders.prepare_cancel(resolve_order_id(c, order_id))
            o = pw.order or {}
            describe = (
                f"cancel {pw.order_id} ({o.get('ticker')}, {show_count(o.get('remaining_count_fp'))} resting)"
            )
        _write_command(settings, orders, pw, describe, dry_run, yes, as_json)


def amend(
    order_id: Annotated[str, typer.Argument(help="The resting order to change (id or the start of it).")],
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
    """Change a resting order's price and/or total count.  Example: kalshi-lake amend 3b23c1c7 --price 46 --count 10"""
    from kalshi_extract.orders.translate import from_v2, parse_price_text, show_dollars

    new_price = parse_price_text(price) if price is not None else None
    settings = load_settings()
    with make_client(settings) as c:
        orders = orders_reader(c) if dry_run else make_orders(c)
        pw = orders.prepare_amend(
            resolve_order_id(c, order_id), price=new_price, count=count, outcome=outcome
        )
        action, named, shown = from_v2(pw.body["side"], Decimal(pw.body["price"]), outcome.strip().lower())
        describe = (
            f"amend {pw.order_id} ({pw.order.get('ticker')}): {action} {named.upper()} @ "
            f"{show_dollars(shown)}, total count {show_count(pw.body['count'])}"
        )
        _write_command(settings, orders, pw, describe, dry_run, yes, as_json)


def decrease(
    order_id: Annotated[str, typer.Argument(help="The resting order to reduce (id or the start of it).")],
    by: Annotated[str | None, typer.Option("--by", help="Contracts to remove.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Contracts to leave resting.")] = None,
    dry_run: DryOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Reduce a resting order by N or to N contracts (keeps queue place).  Example: kalshi-lake decrease 3b23c1c7 --by 2"""
    settings = load_settings()
    if (by is None) == (to is None):
        raise fail("give exactly one of --by or --to")
    with make_client(settings) as c:
        orders = orders_reader(c) if dry_run else make_orders(c)
        pw = orders.prepare_decrease(resolve_order_id(c, order_id), reduce_by=by, reduce_to=to)
        describe = f"decrease {pw.order_id} ({pw.order.get('ticker')}) to {show_count(pw.target)} resting"
        _write_command(settings, orders, pw, describe, dry_run, yes, as_json)
