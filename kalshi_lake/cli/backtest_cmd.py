"""CLI: `kalshi-lake backtest STRATEGY` (registered by kalshi_lake.cli).

Thin: parses options, loads settings (lake dir) and the strategy, calls `kalshi_lake.backtest.run_backtest`,
writes `bt_runs` / `bt_fills` / `bt_equity` / `bt_positions` into the warehouse and the equity PNG to
`<lake_dir>/backtests/<run_id>.png`, and prints the metrics. Heavy imports happen inside the command.
Bad input (unknown strategy or parameter, bad date, empty selection, a window with no data, an unwritable
--plot path) exits 1 with a one-line `error:` message and writes nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperGroup

from kalshi_lake.cli.common import fail, handle_errors
from kalshi_lake.cli.research_cmd import research


def _parse_params(items: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--param expects key=value, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def backtest(
    strategy: Annotated[
        str, typer.Argument(help="Built-in name (threshold, longshot_fade) or path/to/file.py:ClassName.")
    ],
    series: Annotated[
        list[str], typer.Option("--series", help="Series ticker to include (repeatable).")
    ] = [],  # noqa: B006
    ticker: Annotated[
        list[str], typer.Option("--ticker", help="Market ticker to include (repeatable).")
    ] = [],  # noqa: B006
    event: Annotated[list[str], typer.Option("--event", help="Event ticker to include (repeatable).")] = [],  # noqa: B006
    start: Annotated[
        str | None, typer.Option("--from", help="Window start, YYYY-MM-DD or ISO time (UTC).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Window end (a date includes that whole day).")
    ] = None,
    param: Annotated[
        list[str], typer.Option("--param", "-p", help="Strategy parameter k=v (repeatable).")
    ] = [],  # noqa: B006
    cash: Annotated[str, typer.Option("--cash", help="Initial cash in dollars.")] = "1000",
    queue: Annotated[
        str,
        typer.Option(
            "--queue", help="Resting-order queue model: through, risk_averse (= back), prob or front."
        ),
    ] = "through",
    max_quote_age: Annotated[
        str,
        typer.Option(
            "--max-quote-age", help="Seconds a quote stays good enough for a taker fill (default 5)."
        ),
    ] = "5",
    latency_ms: Annotated[
        int,
        typer.Option("--latency-ms", help="Order latency: sending an order or cancel → the exchange has it."),
    ] = 0,
    feed_latency_ms: Annotated[
        int, typer.Option("--feed-latency-ms", help="Feed latency: the exchange → the strategy sees it.")
    ] = 0,
    participation: Annotated[
        str | None,
        typer.Option("--max-participation", help="Largest share of any one print we may get, 0-1."),
    ] = None,
    max_position: Annotated[
        str | None, typer.Option("--max-position", help="Largest |position| per market, in contracts.")
    ] = None,
    lake_dir: Annotated[
        str | None, typer.Option("--lake-dir", help="Lake directory (default: KALSHI_LAKE_DIR / settings).")
    ] = None,
    plot: Annotated[str | None, typer.Option("--plot", help="Where to write the equity PNG.")] = None,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Write the bt_* tables and the plot.")
    ] = True,
) -> None:
    """Replay the lake through a strategy with Kalshi fees and settlement; store and print the results.

    Fills come only from the other side of the book, from a quote at most --max-quote-age seconds old.
    Example: kalshi-lake backtest threshold --series KXHIGHNY --from 2026-11-01 --param size=5
    """
    from decimal import Decimal, InvalidOperation
    from pathlib import Path

    from kalshi_extract.errors import KalshiLakeError

    try:
        params = _parse_params(param)
        try:
            initial = Decimal(cash.strip().lstrip("$").replace(",", ""))
        except InvalidOperation:
            initial = None
        if initial is None or not initial.is_finite() or initial <= 0:
            raise typer.BadParameter(f"--cash must be a positive number of dollars (e.g. 1000), got {cash!r}")
        from kalshi_lake.backtest import (
            BacktestConfig,
            make_strategy,
            plot_equity,
            run_backtest,
            write_results,
        )

        config = BacktestConfig(
            initial_cash=initial,
            queue=queue,
            max_quote_age_s=max_quote_age,
            latency_ms=latency_ms,
            feed_latency_ms=feed_latency_ms,
            max_participation=participation,
            max_position=max_position,
        )
        strat = make_strategy(strategy, params)
        if lake_dir is None:
            from kalshi_extract.settings import Settings

            settings = Settings.load()
            lake_root, db_path, base = settings.lake_root, settings.warehouse_path, settings.lake_dir
        else:
            base = lake_dir.rstrip("/")
            lake_root, db_path = f"{base}/lake", f"{base}/kalshi.duckdb"
        result = run_backtest(
            strat,
            lake_root,
            series=series or None,
            tickers=ticker or None,
            events=event or None,
            start=start,
            end=end,
            config=config,
        )
        if (
            result.metrics.events == 0
        ):  # an empty replay is a mistake in the window, not a result worth storing
            window = f"[{start or 'the start'}, {end or 'the end'})"
            raise fail(
                f"nothing to replay: the lake has no trades, candles or book snapshots for the "
                f"{result.selection['markets']} selected market(s) in {window}. Nothing was written."
            )
        png = None
        if save:
            target = Path(plot) if plot else Path(base) / "backtests" / f"{result.run_id}.png"
            try:
                png = plot_equity(result, target)
            except OSError as e:
                raise fail(
                    f"cannot write the equity plot to {target}: {e.strerror or e}. Nothing was written."
                ) from None
            try:
                write_results(result, db_path, plot_path=png)
            except BaseException:
                png.unlink(missing_ok=True)  # a failed run leaves nothing behind
                raise
    except (KalshiLakeError, ValueError, typer.BadParameter) as exc:
        raise fail(exc) from None
    _print(result, png, db_path if save else None)


def _print(result, png, db_path) -> None:
    """The metrics and the per-market P&L. Money is exact (``render.dollars``: the digits it carries,
    at least cents; never rounded); ratios are rounded for reading. Tables fit the terminal."""
    from collections import Counter

    from kalshi_lake.cli.common import console
    from kalshi_lake.cli.render import Col, columns, count, print_table, usd

    m = result.metrics
    rows = [
        ("markets replayed / traded", f"{result.selection['markets']:,} / {m.n_markets_traded:,}"),
        ("events", f"{m.events:,} in {m.seconds:.2f}s ({m.events_per_minute:,.0f}/min)"),
        ("orders / fills / rejected", f"{m.n_orders:,} / {m.n_fills:,} / {m.n_rejected:,}"),
        ("P&L after fees", usd(m.pnl)),
        ("fees paid", usd(m.fees_paid)),
        ("return on capital", f"{m.return_on_capital:.2%}"),
        ("max drawdown", f"{usd(m.max_drawdown)} ({m.max_drawdown_pct:.2%})"),
        ("Sharpe (daily)", "n/a" if m.sharpe is None else f"{m.sharpe:.2f}"),
        ("hit rate", "n/a" if m.hit_rate is None else f"{m.hit_rate:.1%}"),
        ("turnover", f"{m.turnover:.2f}x"),
    ]
    print_table(f"backtest {result.strategy} · {result.run_id}", [Col(""), Col("")], [list(r) for r in rows])
    if result.markets:
        top = sorted(result.markets, key=lambda r: abs(r.pnl), reverse=True)[:10]
        print_table(
            "P&L by market (top 10 by |P&L|), $",
            [
                Col("ticker"),
                Col("position", "num"),
                Col("realized", "num"),
                Col("unrealized", "num", drop=1),
                Col("fees", "num"),
                Col("P&L", "num"),
            ],
            columns(
                [[r.ticker, count(r.position), r.realized, r.unrealized, r.fees, r.pnl] for r in top],
                money=[2, 3, 4, 5],
            ),
        )
    con = console()
    refused = Counter(m.refusals or {})
    if refused:
        con.print(
            "[yellow]orders that got nothing:[/] "
            + "; ".join(f"{n:,} × {r}" for r, n in refused.most_common(6))
        )
    if db_path:
        con.print(f"results: bt_runs/bt_fills/bt_equity/bt_positions in {db_path} (run_id {result.run_id})")
        con.print(f"equity curve: {png}")


class _RunByDefault(TyperGroup):
    """`kalshi-lake backtest STRATEGY ...` is `kalshi-lake backtest run STRATEGY ...`: anything that is not a
    subcommand name (or the group's --help) goes to `run`, so the one-command form keeps working."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] != "--help":
            args = ["run", *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    group = typer.Typer(
        cls=_RunByDefault,
        no_args_is_help=True,
        help="Replay the lake through a strategy (`backtest STRATEGY` = `backtest run STRATEGY`), or run the "
        "research protocol (`backtest research STRATEGY`).",
    )
    group.command("run")(handle_errors(backtest))
    group.command("research")(handle_errors(research))
    app.add_typer(group, name="backtest")
