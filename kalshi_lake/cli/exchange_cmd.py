"""CLI commands: ``kalshi-lake exchange serve`` and ``kalshi-lake exchange keygen`` (the local exchange)."""

from __future__ import annotations

from pathlib import Path

import typer

exchange_app = typer.Typer(help="Run the local Kalshi-compatible exchange (offline, on loopback).",
                           no_args_is_help=True)


@exchange_app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (keep it on loopback)."),
    port: int = typer.Option(8765, help="TCP port; 0 picks a free port."),
    seed: int = typer.Option(7, help="World seed: the same seed gives byte-identical responses."),
    size: str = typer.Option("small", help="tiny | small | demo | large | a number of trades (e.g. 1000000)."),
    tier: str = typer.Option(None, help="Rate-limit tier: basic | advanced | premier | paragon | prime."),
    faults: str = typer.Option(None, help='Faults as JSON, e.g. \'{"error_rate": 0.05, "latency_ms": 20}\'.'),
    keys_dir: str = typer.Option(None, help="Directory of public keys made by `exchange keygen`."),
) -> None:
    """Serve the local exchange and print its base URL.  Example: kalshi-lake exchange serve --port 8765"""
    from kalshi_sim.serve import serve

    try:
        serve(host, port, seed, size, tier, faults, Path(keys_dir).expanduser() if keys_dir else None)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


@exchange_app.command("keygen")
def keygen_cmd(
    out: str = typer.Option("~/.kalshi-lake/local-exchange.pem", help="Where to write the private key."),
    keys_dir: str = typer.Option(None, help="Where the exchange reads public keys (default ~/.kalshi-lake/sim-keys)."),
) -> None:
    """Create a key pair for the local exchange and print the two environment variables to use.
    Example: kalshi-lake exchange keygen --out ./local.pem"""
    from kalshi_sim.serve import keygen

    try:
        key_id, path = keygen(Path(out).expanduser(), Path(keys_dir).expanduser() if keys_dir else None)
    except FileExistsError as e:
        raise typer.BadParameter(str(e)) from None
    typer.echo(f"export KALSHI_API_KEY_ID={key_id}")
    typer.echo(f"export KALSHI_PRIVATE_KEY_PATH={path.resolve()}")
    typer.echo("# restart `kalshi-lake exchange serve` to register the key (balance $10,000)", err=True)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(exchange_app, name="exchange")
