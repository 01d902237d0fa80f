"""The `kalshi-lake` command line: a thin layer over the library.

Each command group lives in its own module and registers itself (``register(app)``). `main` imports only the
module of the command it runs (``COMMAND_MODULES``) and builds only that module's commands: typer reads every
command's signature when it builds the app, which costs more than the command modules' imports. `kalshi-lake
--help`, an unknown command and ``kalshi_lake.cli.app`` (what tests drive) get every module. Command modules import
heavy libraries (DuckDB, pyarrow, the local exchange) inside the command functions; Prefect (`pipelines`) is
imported only by `--prefect` and `serve`. Typer's pydantic-based conversion is built only for a parameter that is
given a value (`lazy_coercion`), so `status` and `--help` import no pydantic. `status` runs with numpy made
unimportable (``NUMPY_FREE``), so pyarrow does not import it.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

from kalshi_lake.cli import lazy_coercion

if TYPE_CHECKING:
    import typer

# Every command module, in the order their commands appear in `kalshi-lake --help`.
MODULES = ("data_cmd", "record_cmd", "exchange_cmd", "trading_cmd", "backtest_cmd", "run_cmd")

# The module registering each top-level command or group (tests/architecture/test_cli_imports.py checks it
# against what the modules register). A command missing here still works: `main` then builds every module.
COMMAND_MODULES = {
    **dict.fromkeys(("pull", "build", "sql", "status", "serve", "compact", "demo"), "data_cmd"),
    "record": "record_cmd",
    "exchange": "exchange_cmd",
    **dict.fromkeys(
        (
            "search",
            "market",
            "orderbook",
            "buy",
            "sell",
            "orders",
            "cancel",
            "amend",
            "decrease",
            "positions",
            "balance",
            "fills",
            "settlements",
            "order-groups",
        ),
        "trading_cmd",
    ),
    "backtest": "backtest_cmd",
    "run": "run_cmd",
}


def version() -> None:
    """Print the installed kalshi-lake version.  Example: kalshi-lake version"""
    from importlib.metadata import version as _version

    import typer

    typer.echo(_version("kalshi-lake"))


def build_app(modules: tuple[str, ...] = MODULES) -> typer.Typer:
    """The root app with `version` and the commands of ``modules`` (names in ``MODULES``)."""
    import typer

    lazy_coercion.install()
    app = typer.Typer(
        name="kalshi-lake",
        help="Kalshi market and portfolio data in a Parquet lake, modelled in DuckDB.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
    )
    app.command()(version)
    for name in modules:
        importlib.import_module(f"kalshi_lake.cli.{name}").register(app)
    return app


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs ``args``: only the invoked command's module when the first argument names a command,
    else every module (`--help`, `version`, a misspelled command and its suggestion). `version` is always
    registered, so even a one-command module makes a group and the command is reached by its name."""
    module = COMMAND_MODULES.get(args[0]) if args else None
    return build_app((module,)) if module else build_app()


def __getattr__(name: str):  # `from kalshi_lake.cli import app`: the whole app, built on first use
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Commands that run without numpy. pyarrow imports numpy whenever it is installed (≈0.12 s of CPU, a quarter of
# `kalshi-lake status`) but works without it (numpy is optional to pyarrow ≥ 16); `status` reads footers, the run
# log and a few columns through pyarrow alone (kalshi_extract/ingest/status.py uses no numpy).
NUMPY_FREE = frozenset({"status"})


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if args and args[0] in NUMPY_FREE and "numpy" not in sys.modules:
        sys.modules["numpy"] = None  # `import numpy` raises ImportError in this process: pyarrow goes without
    if args in (["status"], ["status", "--json"]):  # without typer; the typer command when it cannot
        from kalshi_lake.cli import status_view

        code = status_view.run(as_json=len(args) == 2)
        if code is not None:
            sys.exit(code)
    app_for(args)()
