"""What the trading command modules share: option types, the PRICE rule, the key check and the prod gate.

PRICE (buy/sell/amend): a whole number is CENTS (``45`` = $0.45); a number with a decimal point is DOLLARS
(``0.45``; sub-cent ``0.455`` only on markets whose tick grid has it); ``45.5c`` = 45.5 cents; ``$0.45`` = dollars.
``45.5`` without a suffix is refused, never guessed. The price is that of the contract named (YES or NO).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from kalshi_lake.cli.common import EXIT_NOT_CONFIRMED, console, fail

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (prod).")]
DryOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and print the exact request; send nothing.")
]
PRICE_HELP = (
    "PRICE: a whole number is cents (45 = $0.45); a number with a point is dollars (0.45); 45.5c = 45.5 cents. "
    "Sub-cent prices only on deci-cent markets; 45.5 without c is refused, never guessed."
)


def make_client(settings):
    """A KalshiClient for these settings (context manager)."""
    from kalshi_extract.api.client import KalshiClient

    return KalshiClient(settings)


def make_orders(client):
    """The order module with its journal in the lake (writes go through here)."""
    from kalshi_extract.orders.front import Orders

    return Orders(client)


def orders_reader(client):
    """Orders for reads and dry runs only: no journal needed (nothing is written)."""
    from kalshi_extract.orders.front import Orders
    from kalshi_extract.orders.journal import MemoryJournal

    return Orders(client, journal=MemoryJournal())


def market_ticker(value: str, what: str = "ticker") -> str:
    """A ticker as the user typed it → the exchange's spelling (tickers are upper case); empty is refused."""
    ticker = (value or "").strip().upper()
    if not ticker:
        raise fail(f"{what} is empty: give a market ticker such as KXHIGHNY-26NOV24-T55. Nothing was sent.")
    return ticker


def require_key(settings) -> None:
    """Refuse (ConfigError, nothing sent) when no API key is configured."""
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
    err = console(err=True)
    err.print(f"[bold red]KALSHI_ENV=prod[/] — this will be sent to the REAL exchange ({settings.base_url}):")
    for line in lines:
        for part in str(line).splitlines():  # a request body is several lines: indent them all
            err.print(f"  {part}", markup=False)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise fail(
            "not confirmed: KALSHI_ENV=prod needs --yes when not run in a terminal. Nothing was sent.",
            EXIT_NOT_CONFIRMED,
        )
    ask = ask or (lambda q: typer.confirm(q, default=False))
    if not ask("Send it?"):
        raise fail("not confirmed. Nothing was sent.", EXIT_NOT_CONFIRMED)


def request_text(settings, method: str, path: str, body: Any = None, params: dict | None = None) -> str:
    """The request as a human reads it: ``METHOD URL`` and the indented JSON body."""
    from urllib.parse import urlencode

    url = settings.base_url + path + (f"?{urlencode(params)}" if params else "")
    text = f"{method} {url}"
    if body is not None:
        text += "\n" + json.dumps(body, indent=2)
    return text
