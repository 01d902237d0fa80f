"""The `kalshi-lake` command line: a thin layer over the library.

Each command group lives in its own module and registers itself here. Command modules import heavy
libraries (DuckDB, pyarrow, the local exchange) inside the command functions, so `kalshi-lake --help`
stays fast; Prefect (`pipelines`) is imported only by `--prefect` and `serve`.
"""

from __future__ import annotations

import typer

from kalshi_lake.cli import backtest_cmd, data_cmd, exchange_cmd, record_cmd, run_cmd, trading_cmd

app = typer.Typer(
    name="kalshi-lake",
    help="Kalshi market and portfolio data in a Parquet lake, modelled in DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command()
def version() -> None:
    """Print the installed kalshi-lake version.  Example: kalshi-lake version"""
    from importlib.metadata import version as _version

    typer.echo(_version("kalshi-lake"))


for module in (data_cmd, record_cmd, exchange_cmd, trading_cmd, backtest_cmd, run_cmd):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
