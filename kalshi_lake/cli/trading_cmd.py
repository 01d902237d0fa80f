"""CLI trading commands: look up markets, trade, and see the account (registered by kalshi_lake.cli).

Commands: ``search``, ``market``, ``orderbook`` (``trading_market``); ``buy``, ``sell``, ``cancel``, ``amend``,
``decrease`` (``trading_entry``); ``order-groups …`` (``trading_groups``); ``orders``, ``positions``, ``balance``, ``fills``, ``settlements``
(``trading_account``). Shared pieces: ``trading_common`` (options, PRICE rule, key check, prod gate),
``render`` (tables) and ``kalshi_lake.cli.common`` (one-line errors, JSON). Each command prints a rich
table, or JSON with ``--json``. The library does the work (``kalshi_extract.orders.front``); these modules only parse,
show and ask.

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

import typer

from kalshi_lake.cli.common import EXIT_FAILED, EXIT_NOT_CONFIRMED, EXIT_UNKNOWN, handle_errors
from kalshi_lake.cli.trading_account import balance, fills, orders, positions, settlements
from kalshi_lake.cli.trading_common import confirm_gate
from kalshi_lake.cli.trading_entry import amend, buy, cancel, decrease, sell
from kalshi_lake.cli.trading_market import market, orderbook, search

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_NOT_CONFIRMED", "EXIT_UNKNOWN", "confirm_gate", "register"]

_ORDER_CTX = {"ignore_unknown_options": True}  # so a count like -3 reaches our validation, not click's

COMMANDS = [
    search,
    market,
    orderbook,
    buy,
    sell,
    orders,
    cancel,
    amend,
    decrease,
    positions,
    balance,
    fills,
    settlements,
]


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    for command in COMMANDS:
        ctx = _ORDER_CTX if command in (buy, sell) else None
        app.command(name=command.__name__, context_settings=ctx)(handle_errors(command))
    from kalshi_lake.cli.trading_groups import app as groups_app

    app.add_typer(groups_app, name="order-groups")
