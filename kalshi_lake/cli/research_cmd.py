"""CLI: `kalshi-lake backtest research STRATEGY` (registered by `backtest_cmd`).

Thin: parses the grid and options, calls `kalshi_lake.backtest.research.run_research`, writes `bt_research` /
`bt_trials` / `bt_forecast_bins` and the report PNG `<lake_dir>/backtests/<research_id>.png`, and prints the
honest summary: the walk-forward test P&L with its bootstrap interval, never a point alone.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kalshi_lake.cli.common import fail


def _parse_grid(items: list[str], option: str = "--grid") -> dict[str, list[str]]:
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not vals:
            raise typer.BadParameter(f"{option} expects key=value[,value...], got {item!r}")
        grid[key.strip()] = vals
    return grid


def _numbers(text: str, name: str, kind=int) -> tuple:
    try:
        return tuple(kind(x.strip()) for x in text.split(",") if x.strip())
    except (ValueError, ArithmeticError):
        raise typer.BadParameter(f"{name} expects comma-separated numbers, got {text!r}") from None


def research(
    strategy: Annotated[
        str, typer.Argument(help="Built-in name (threshold, longshot_fade) or path/to/file.py:ClassName.")
    ],
    grid: Annotated[
        list[str], typer.Option("--grid", "-g", help="Swept parameter k=v1,v2,... (repeatable).")
    ] = [],  # noqa: B006
    param: Annotated[
        list[str], typer.Option("--param", "-p", help="Fixed strategy parameter k=v (repeatable).")
    ] = [],  # noqa: B006
    series: Annotated[list[str], typer.Option("--series", help="Series ticker (repeatable).")] = [],  # noqa: B006
    event: Annotated[list[str], typer.Option("--event", help="Event ticker (repeatable).")] = [],  # noqa: B006
    start: Annotated[str | None, typer.Option("--from", help="Research window start (UTC).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Research window end.")] = None,
    folds: Annotated[
        int, typer.Option("--walk-forward", "--folds", help="Walk-forward folds (0: in-sample only).")
    ] = 3,
    rolling: Annotated[
        bool, typer.Option("--rolling/--anchored", help="Train on the last block only, or on all before.")
    ] = False,
    objective: Annotated[
        str, typer.Option("--objective", help="What the train window maximises: pnl, sharpe or return.")
    ] = "pnl",
    n_boot: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples (events).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    fee_scales: Annotated[
        str, typer.Option("--fee-scales", help="Fee multipliers for the sensitivity runs.")
    ] = "0,1,2",
    latencies: Annotated[
        str, typer.Option("--latencies", help="Order latencies (ms) for the sensitivity runs.")
    ] = "0,250,1000",
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes (default 2; 1 for small sweeps).")
    ] = None,
    cash: Annotated[str, typer.Option("--cash", help="Initial cash in dollars.")] = "1000",
    queue: Annotated[str, typer.Option("--queue", help="Resting-order queue model.")] = "through",
    max_quote_age: Annotated[str, typer.Option("--max-quote-age", help="Quote age limit, s.")] = "5",
    latency_ms: Annotated[int, typer.Option("--latency-ms", help="Order latency of the main runs.")] = 0,
    lake_dir: Annotated[str | None, typer.Option("--lake-dir", help="Lake directory.")] = None,
    report: Annotated[str | None, typer.Option("--report", help="Where to write the report PNG.")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Write the bt_* tables and report.")] = True,
) -> None:
    """Sweep a parameter grid, choose on train windows, report the walk-forward test P&L with a bootstrap
    interval clustered by event, and its fee/latency sensitivity.

    Example: kalshi-lake backtest research threshold --grid buy_below=0.30,0.40 --walk-forward 3 --bootstrap 1000
    """
    from decimal import Decimal
    from pathlib import Path

    from kalshi_extract.errors import KalshiLakeError

    try:
        from kalshi_lake.backtest import BacktestConfig
        from kalshi_lake.backtest.report import plot_research
        from kalshi_lake.backtest.research import run_research
        from kalshi_lake.backtest.research_store import write_research

        config = BacktestConfig(
            initial_cash=Decimal(cash.strip().lstrip("$").replace(",", "")),
            queue=queue,
            max_quote_age_s=max_quote_age,
            latency_ms=latency_ms,
        )
        if lake_dir is None:
            from kalshi_extract.settings import Settings

            settings = Settings.load()
            lake_root, db_path, base = settings.lake_root, settings.warehouse_path, settings.lake_dir
        else:
            base = lake_dir.rstrip("/")
            lake_root, db_path = f"{base}/lake", f"{base}/kalshi.duckdb"
        result = run_research(
            strategy,
            lake_root,
            grid=_parse_grid(grid),
            params={k: v[0] for k, v in _parse_grid(param, "--param").items()},
            series=series or None,
            events=event or None,
            start=start,
            end=end,
            config=config,
            folds=folds,
            anchored=not rolling,
            objective=objective,
            n_boot=n_boot,
            seed=seed,
            fee_scales=_numbers(fee_scales, "--fee-scales", Decimal),
            latencies=_numbers(latencies, "--latencies"),
            workers=workers,
        )
        if save:
            target = Path(report) if report else Path(base) / "backtests" / f"{result.research_id}.png"
            result.report_path = str(plot_research(result, target))
            try:
                write_research(result, db_path)
            except BaseException:
                target.unlink(missing_ok=True)  # a failed run leaves nothing behind
                raise
    except (KalshiLakeError, ValueError, ArithmeticError, typer.BadParameter) as exc:
        raise fail(exc) from None
    _print(result, db_path if save else None)


def _print(r, db_path) -> None:
    from kalshi_lake.cli.common import console
    from kalshi_lake.cli.render import Col, print_table, usd

    b = r.bootstrap
    conf = f"{b.confidence:.0%}"
    label = "in-sample P&L (optimistic)" if r.in_sample else "walk-forward test P&L"
    sharpe = "n/a" if b.sharpe is None else f"{b.sharpe:.2f}"
    if b.sharpe_low is not None:
        sharpe += f"  [{b.sharpe_low:.2f}, {b.sharpe_high:.2f}]"
    rows = [
        (
            "window",
            f"{len(r.folds)} fold(s), {'anchored' if r.anchored else 'rolling'}, by train {r.objective}",
        ),
        ("trials", f"{len(r.train)} train + {len(r.tests)} test + {len(r.sensitivity_trials)} sensitivity"),
        (label, f"{usd(b.pnl)}  [{usd(b.pnl_low)}, {usd(b.pnl_high)}] {conf}"),
        ("Sharpe (daily)", sharpe),
        ("share of resamples losing", f"{b.p_loss:.1%}"),
    ]
    for i, p in enumerate(r.chosen):
        rows.append((f"chosen, fold {i}", ", ".join(f"{k}={v}" for k, v in p.items()) or "(defaults)"))
    if r.forecast is not None:
        f = r.forecast
        rows.append(("Brier / log loss", f"{f.brier:.4f} / {f.log_loss:.4f} on {f.n} markets"))
        rows.append(
            (
                "reliability / resolution / unc.",
                f"{f.reliability:.4f} / {f.resolution:.4f} / {f.uncertainty:.4f}",
            )
        )
    print_table(f"research {r.strategy} · {r.research_id}", [Col(""), Col("")], [list(x) for x in rows])
    print_table(
        "sensitivity of the test P&L",
        [
            Col("fee scale", "num"),
            Col("latency ms", "num"),
            Col("fills", "num"),
            Col("fees", "num"),
            Col("P&L", "num"),
        ],
        [
            [str(v.fee_scale), str(v.latency_ms), f"{v.n_fills:,}", usd(v.fees_paid), usd(v.pnl)]
            for v in r.sensitivity
        ],
    )
    con = console()
    con.print(f"method: {b.method}")
    for note in r.notes:
        con.print(f"[yellow]{note}[/]")
    if db_path:
        con.print(f"results: bt_research/bt_trials in {db_path} (research_id {r.research_id})")
        con.print(f"report: {r.report_path}")
