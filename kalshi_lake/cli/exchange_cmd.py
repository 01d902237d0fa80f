"""CLI commands: ``kalshi-lake exchange serve`` and ``kalshi-lake exchange keygen`` (the local exchange)."""

from __future__ import annotations

from pathlib import Path

import typer

from kalshi_lake.cli.common import fail

exchange_app = typer.Typer(
    help="Run the local Kalshi-compatible exchange (offline, on loopback).", no_args_is_help=True
)


@exchange_app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (keep it on loopback)."),
    port: int = typer.Option(8765, help="TCP port; 0 picks a free port."),
    seed: int = typer.Option(7, help="World seed: the same seed gives byte-identical responses."),
    size: str = typer.Option(
        "small", help="tiny | small | demo | large | a number of trades (e.g. 1000000)."
    ),
    tier: str = typer.Option(None, help="Rate-limit tier: basic | advanced | premier | paragon | prime."),
    faults: str = typer.Option(None, help='Faults as JSON, e.g. \'{"error_rate": 0.05, "latency_ms": 20}\'.'),
    keys_dir: str = typer.Option(None, help="Directory of public keys made by `exchange keygen`."),
) -> None:
    """Serve the local exchange and print its base URL (stdout) and the variables to use it (stderr).
    Example: kalshi-lake exchange serve --port 8765"""
    import orjson

    from kalshi_sim.serve import serve

    try:
        serve(
            host,
            port,
            seed,
            size,
            tier,
            faults,
            Path(keys_dir).expanduser() if keys_dir else None,
            out=_Announce(),
        )
    except orjson.JSONDecodeError as e:
        raise fail(f"--faults is not valid JSON ({e}); e.g. '{{\"error_rate\": 0.05}}'") from None
    except ValueError as e:
        raise fail(e) from None
    except OSError as e:  # the port is taken, or the address is not ours
        raise fail(
            f"cannot listen on {host}:{port}: {e.strerror or e} (another exchange running there? "
            "--port 0 picks a free port)"
        ) from None


class _Announce:
    """stdout for ``serve``: the base URL goes to stdout unchanged (scripts read that line); stderr gets the
    two variables that point kalshi-lake at it, and how to stop."""

    def write(self, text: str) -> int:
        import sys

        sys.stdout.write(text)
        url = text.strip()
        if url.startswith("http"):
            typer.echo(f"# point kalshi-lake here: export KALSHI_ENV=local KALSHI_API_URL={url}", err=True)
            typer.echo(
                "# keys from `kalshi-lake exchange keygen` are registered at start; Ctrl-C stops", err=True
            )
        return len(text)

    def flush(self) -> None:
        import sys

        sys.stdout.flush()


@exchange_app.command("keygen")
def keygen_cmd(
    out: str = typer.Option("~/.kalshi-lake/local-exchange.pem", help="Where to write the private key."),
    keys_dir: str = typer.Option(
        None, help="Where the exchange reads public keys (default ~/.kalshi-lake/sim-keys)."
    ),
    port: int = typer.Option(
        8765, help="The port `exchange serve` listens on (for the printed KALSHI_API_URL)."
    ),
) -> None:
    """Create a key pair for the local exchange and print the environment variables to use.
    Example: kalshi-lake exchange keygen --out ./local.pem

    Prints KALSHI_ENV=local and KALSHI_API_URL too: with only the key set, commands would go to the
    default environment (prod), where this key means nothing."""
    from kalshi_sim.serve import keygen

    try:
        key_id, path = keygen(Path(out).expanduser(), Path(keys_dir).expanduser() if keys_dir else None)
    except FileExistsError as e:
        raise fail(e) from None
    typer.echo("export KALSHI_ENV=local")
    typer.echo(f"export KALSHI_API_URL=http://127.0.0.1:{port}/trade-api/v2")
    typer.echo(f"export KALSHI_API_KEY_ID={key_id}")
    typer.echo(f"export KALSHI_PRIVATE_KEY_PATH={path.resolve()}")
    typer.echo("# restart `kalshi-lake exchange serve` to register the key (balance $10,000)", err=True)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``90`` / ``90s`` / ``30m`` / ``6h`` / ``2d`` → whole seconds (> 0); anything else is a one-line error."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    if not number.isdigit() or int(number) <= 0:
        raise fail(
            f"duration {text!r} is not a positive whole number with an optional unit s, m, h or d (e.g. 6h)"
        )
    return int(number) * _UNITS[unit]


@exchange_app.command("advance", context_settings={"ignore_unknown_options": True})  # -1h reaches our check
def advance_cmd(
    duration: str = typer.Argument(..., help="How much simulated time passes: 90s, 30m, 6h, 2d."),
    url: str = typer.Option(None, help="The exchange's base URL (default: KALSHI_API_URL)."),
) -> None:
    """Let time pass on a running local exchange: trading, closes, settlements, the historical cutoff.
    Example: kalshi-lake exchange advance 6h"""
    import requests

    from kalshi_lake.cli.common import load_settings

    seconds = parse_duration(duration)
    base = (url or load_settings().api_url or "").rstrip("/")
    if not base:
        raise fail(
            "no local exchange to advance: give --url or set KALSHI_API_URL (what `exchange serve` printed)"
        )
    root = base.removesuffix("/trade-api/v2")
    try:
        resp = requests.post(f"{root}/_sim/advance", json={"seconds": seconds}, timeout=120)
    except requests.RequestException as e:
        raise fail(f"cannot reach the local exchange at {root}: {type(e).__name__}") from None
    if resp.status_code == 404:
        raise fail(
            f"{root} is not a local exchange (no /_sim control API): time only moves on `exchange serve`"
        )
    if resp.status_code != 200:
        raise fail(f"the exchange refused to advance: HTTP {resp.status_code} {resp.text[:200]}")
    state = resp.json()
    typer.echo(
        f"exchange time is now {state.get('now')} (historical cutoff {state.get('cutoff')}); "
        f"{state.get('trades'):,} trades so far"
    )


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(exchange_app, name="exchange")
