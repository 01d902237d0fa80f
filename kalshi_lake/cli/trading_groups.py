"""CLI order groups: ``kalshi-lake order-groups list|show|create|limit|reset|trigger|delete``.

An order group caps the contracts its orders may match over a rolling 15 seconds; at the cap the exchange cancels
the group's orders and refuses new ones until ``reset``. Place orders in a group with ``buy``/``sell``
``--order-group ID``, or ``Orders.buy(..., order_group_id=ID)``. The library does the work
(``kalshi_extract.orders.groups``); writes go through the prod confirmation gate like every order command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kalshi_lake.cli.common import handle_errors, load_settings, print_json
from kalshi_lake.cli.render import Col, print_table
from kalshi_lake.cli.trading_common import JsonOpt, YesOpt, confirm_gate, make_client, require_key

app = typer.Typer(
    help="Order groups: exchange-side caps on contracts matched per 15 s.", no_args_is_help=True
)

GroupArg = Annotated[str, typer.Argument(help="The order group's id.")]
LimitArg = Annotated[str, typer.Argument(help="Whole contracts matched per rolling 15 s, at least 1.")]
SubOpt = Annotated[
    int | None,
    typer.Option(
        "--subaccount",
        min=0,
        max=63,
        help="The group's subaccount (0 primary, 1-63). list/show: default all; create/reset/trigger/delete: 0.",
    ),
]


def _groups(c):
    from kalshi_extract.orders.groups import OrderGroups

    return OrderGroups(c)


def _write(what: str, yes: bool, send) -> None:
    settings = load_settings()
    require_key(settings)
    confirm_gate(settings, [what], yes=yes)
    with make_client(settings) as c:
        out = send(_groups(c))
    typer.echo(out if out is not None else f"done: {what}")


def list_groups(as_json: JsonOpt = False, subaccount: SubOpt = None) -> None:
    """List the account's order groups (every subaccount's unless --subaccount).
    Example: kalshi-lake order-groups list --subaccount 1"""
    settings = load_settings()
    require_key(settings)
    with make_client(settings) as c:
        rows = _groups(c).list(subaccount)
    if as_json:
        print_json(rows)
        return
    table = [[g.get("id"), g.get("contracts_limit_fp"), g.get("is_auto_cancel_enabled")] for g in rows]
    cols = [Col("id"), Col("limit", "num"), Col("auto cancel")]
    print_table("order groups", cols, table, empty="no order groups")


def show(group_id: GroupArg, as_json: JsonOpt = False, subaccount: SubOpt = None) -> None:
    """Show one order group: its limit and its orders.
    Example: kalshi-lake order-groups show 3b23c1c7-…"""
    settings = load_settings()
    require_key(settings)
    with make_client(settings) as c:
        print_json(_groups(c).get(group_id, subaccount))


def _in(subaccount: int | None) -> str:
    return "" if subaccount is None else f" in subaccount {subaccount}"


def create(limit: LimitArg, yes: YesOpt = False, subaccount: SubOpt = None) -> None:
    """Create an order group capped at LIMIT contracts per 15 s; prints its id.
    Example: kalshi-lake order-groups create 10 --subaccount 1"""
    from kalshi_extract.orders.groups import contracts_limit

    n = contracts_limit(limit)
    what = f"create an order group capped at {n} contracts per 15 s{_in(subaccount)}"
    _write(what, yes, lambda g: g.create(n, subaccount))


def limit(group_id: GroupArg, new_limit: LimitArg, yes: YesOpt = False) -> None:
    """Change a group's cap (a cap already reached triggers the group).
    Example: kalshi-lake order-groups limit 3b23c1c7-… 20"""
    from kalshi_extract.orders.groups import contracts_limit

    n = contracts_limit(new_limit)
    _write(
        f"set order group {group_id} to {n} contracts per 15 s", yes, lambda g: g.update_limit(group_id, n)
    )


def reset(group_id: GroupArg, yes: YesOpt = False, subaccount: SubOpt = None) -> None:
    """Reset a group's matched counter so orders may be placed in it again.
    Example: kalshi-lake order-groups reset 3b23c1c7-…"""
    what = f"reset order group {group_id}{_in(subaccount)}"
    _write(what, yes, lambda g: g.reset(group_id, subaccount))


def trigger(group_id: GroupArg, yes: YesOpt = False, subaccount: SubOpt = None) -> None:
    """Trigger a group: cancel its orders and refuse new ones until reset.
    Example: kalshi-lake order-groups trigger 3b23c1c7-…"""
    what = f"trigger order group {group_id}{_in(subaccount)} (cancels its orders)"
    _write(what, yes, lambda g: g.trigger(group_id, subaccount))


def delete(group_id: GroupArg, yes: YesOpt = False, subaccount: SubOpt = None) -> None:
    """Delete a group and cancel its orders.
    Example: kalshi-lake order-groups delete 3b23c1c7-…"""
    what = f"delete order group {group_id}{_in(subaccount)} (cancels its orders)"
    _write(what, yes, lambda g: g.delete(group_id, subaccount))


COMMANDS = {"list": list_groups, "show": show, "create": create, "limit": limit, "reset": reset}
COMMANDS |= {"trigger": trigger, "delete": delete}
for _name, _command in COMMANDS.items():
    app.command(name=_name)(handle_errors(_command))
