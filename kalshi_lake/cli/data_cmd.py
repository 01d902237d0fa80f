"""CLI data commands: `pull`, `build`, `sql`, `status`, `serve`, `compact`, `demo` (registered by kalshi_lake.cli).

Thin: each command loads settings once, validates its input, then calls the library: `pull` →
`kalshi_extract.ingest.run.run_pull` (one plan, a live `progress=` callback), `build` → `kalshi_lake.warehouse`,
`demo` → `kalshi_lake.demo`. Only `--prefect` and `serve` import `pipelines` (Prefect); heavy modules (DuckDB,
the local exchange) are imported inside the command functions so `kalshi-lake --help` stays fast. Errors a user
can cause exit non-zero with a one-line `error: ...` on stderr and no traceback (a failed stream: its reason);
bad input is rejected before the lake is touched.

Display (shared helpers in `cli.common` / `cli.render`): tables fit the terminal; numbers, dates and tickers never
fold or get cut; least useful columns are left out and named in the title (`--json` has everything). `sql` in
table format prints a table when every value fits (long column names break after underscores), otherwise one
record per block (`column: value`), as psql's expanded mode does: a table squeezed into 80 columns cuts every
value. Decimals print exactly, without padding zeros, aligned per column; times in UTC.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated

import typer

from kalshi_lake.cli.common import EXIT_FAILED, fail, handle_errors, load_settings, one_line

__all__ = ["EXIT_FAILED", "register", "run_pull", "run_query"]


def _prefect_startup_grace() -> None:
    """Prefect settings for orchestrated runs, set before Prefect is imported (it reads them once); a user's own
    values win. The ephemeral server (no PREFECT_API_URL) migrates a new database on its first start, which
    can exceed Prefect's 20 s default on a busy machine; the library's loggers go to the Prefect UI too."""
    import os

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "kalshi_extract")


def _console(err: bool = False):
    from kalshi_lake.cli.common import console

    return console(err)


# --------------------------------------------------------------------------------------------------- pull
def _summary_rows(results) -> list[dict]:
    """One row per stream from its `StreamResult` (failed ones carry the one-line reason)."""
    return [
        {
            "stream": r.stream,
            "shards": getattr(r, "shards", 0),
            "outcome": "ok" if r.ok else "failed",
            "pages": r.pages,
            "rows": r.rows,
            "requests": r.requests,
            "retries": r.retries,
            "throttled": r.throttled,
            "seconds": round(float(r.seconds or 0), 2),
            "error": None if r.ok else one_line(r.error or r.error_type or "failed"),
        }
        for r in results
    ]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _summary_table(rows: list[dict], width: int | None = None):
    """The pull summary fitted to ``width``: stream names and numbers never fold; at 80 columns retries and
    throttled go first (left out and named; --json has everything), then requests and seconds."""
    from kalshi_lake.cli.render import Col, table

    columns = [
        Col("stream"),
        Col("outcome"),
        Col("pages", "num"),
        Col("rows", "num"),
        Col("requests", "num", drop=2),
        Col("retries", "num", drop=4),
        Col("throttled", "num", drop=3),
        Col("seconds", "num", drop=1),
    ]
    keys = ("stream", "outcome", "pages", "rows", "requests", "retries", "throttled", "seconds")
    cells = [
        [_cell(r[k]) if r["outcome"] != "failed" or k != "outcome" else "[red]failed[/]" for k in keys]
        for r in rows
    ]
    for r, row in zip(rows, cells, strict=True):
        if r.get("shards"):
            row[0] = f"{r['stream']} ({r['shards']} shards)"

    return table("pull summary", columns, cells, width=width)


DASK_NEEDS_PREFECT = (
    "note: KALSHI_TASK_RUNNER=dask applies to Prefect flow runs only (pull --prefect, serve); "
    "this pull runs its streams in threads"
)


def run_pull(settings, plan, *, use_prefect: bool = False, console=None, show_progress: bool = True) -> list:
    """Run a planned pull; returns every stream's `StreamResult` (failed ones included, never raises for them).

    Plainly: the library (`kalshi_extract.ingest.run`) with a live progress display; `KALSHI_TASK_RUNNER=dask`
    does not apply there, and a line on stderr says so. `use_prefect`: the `refresh` flow as an orchestrated
    Prefect flow run (without building), the same display fed by its tasks (threads here, or Dask workers)."""
    if not use_prefect:
        from kalshi_lake.cli.progress import pull_with_progress

        if getattr(settings, "task_runner", "threads") == "dask":
            typer.echo(DASK_NEEDS_PREFECT, err=True)
        return pull_with_progress(settings, plan, console, show_progress)
    from kalshi_extract.errors import PullFailed

    _prefect_startup_grace()  # before Prefect is imported: it reads its settings once
    from pipelines.flows import refresh

    params = dict(
        market_data=bool(plan.market_streams),
        portfolio=bool(plan.portfolio_streams),
        build=False,
        streams=list(plan.streams),
        **plan.flow_parameters(),
    )
    try:
        if show_progress and console is not None:
            from kalshi_lake.cli.progress import progress_display
            from pipelines.runtime import progress_sink

            display, progress = progress_display(list(plan.streams), console)
            with display, progress_sink(progress):
                result = refresh(**params)
        else:
            result = refresh(**params)
    except PullFailed as exc:
        return list(exc.results)
    return list(result["market_data"]) + list(result["portfolio"])


def pull(
    streams: Annotated[
        list[str] | None,
        typer.Argument(
            help="Streams to pull (default: all market data, plus the portfolio when a key is set).",
            show_default=False,
        ),
    ] = None,
    series: Annotated[
        list[str] | None,
        typer.Option("--series", help="Only these series (repeat or comma-separate).", show_default=False),
    ] = None,
    tickers: Annotated[
        list[str] | None, typer.Option("--tickers", help="Only these market tickers.", show_default=False)
    ] = None,
    since: Annotated[str | None, typer.Option(help="Start: YYYY-MM-DD, ISO time or Unix seconds.")] = None,
    until: Annotated[
        str | None, typer.Option(help="End (exclusive): YYYY-MM-DD, ISO time or Unix seconds.")
    ] = None,
    use_prefect: Annotated[
        bool, typer.Option("--prefect", help="Run as an orchestrated Prefect flow run.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (no progress display).")
    ] = False,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="Pull trades (un-narrowed) as N time-window shards, each its own task; auto = one per worker.",
        ),
    ] = "1",
) -> None:
    """Pull streams from Kalshi into the Parquet lake.  Example: kalshi-lake pull markets trades --since 2025-01-01"""
    from kalshi_extract.ingest.plan import plan_pull

    settings = load_settings()
    plan = plan_pull(settings, streams, series=series, tickers=tickers, since=since, until=until, split=split)
    console = _console()
    results = run_pull(settings, plan, use_prefect=use_prefect, console=console, show_progress=not as_json)
    rows = _summary_rows(results)
    if as_json:
        typer.echo(json.dumps({"lake": str(settings.lake_root), "streams": rows}, default=str))
    else:
        console.print(_summary_table(rows, console.width))
    bad = [r for r in rows if r["outcome"] == "failed"]
    if bad:
        raise fail("; ".join(f"{r['stream']}: {r['error']}" for r in bad))


# --------------------------------------------------------------------------------------------------- build
def build(
    skip_tests: Annotated[bool, typer.Option("--skip-tests", help="Do not run the model tests.")] = False,
    use_prefect: Annotated[
        bool, typer.Option("--prefect", help="Run as an orchestrated Prefect flow run.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when the lake and the models are unchanged.")
    ] = False,
    max_mid_age: Annotated[
        int | None,
        typer.Option(
            "--max-mid-age",
            min=0,
            metavar="SECONDS",
            help="How old a REST quote may be and still be the mid of a trade or fill (default: the "
            "max_mid_age_seconds setting, KALSHI_MAX_MID_AGE_SECONDS, else 60).",
        ),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild every model from the whole lake (default: only what the pull changed).",
        ),
    ] = False,
) -> None:
    """Build the SQL models into $KALSHI_LAKE_DIR/kalshi.duckdb (skipped when nothing changed since the last good
    build).  Example: kalshi-lake build --max-mid-age 300"""
    settings = load_settings()
    if max_mid_age is not None:
        if use_prefect:
            raise fail(
                "--max-mid-age does not reach a Prefect flow run: set KALSHI_MAX_MID_AGE_SECONDS instead"
            )
        settings = dataclasses.replace(settings, max_mid_age_seconds=max_mid_age)
    console = _console()
    if use_prefect:
        _prefect_startup_grace()  # before Prefect is imported: it reads its settings once
        from pipelines.flows import build_models

        with console.status("building models (Prefect flow run)"):
            result = build_models(run_tests=not skip_tests)
    else:
        from kalshi_lake.warehouse import build as build_warehouse

        with console.status("building models"):
            result = build_warehouse(
                settings,
                run_tests=not skip_tests,
                if_changed=not (force or full_refresh),
                full_refresh=full_refresh or force,
            )
        result.raise_for_failures()
        if getattr(result, "skipped", False):
            console.print(
                f"{settings.warehouse_path} is up to date: the lake and the models are unchanged since its last "
                "build (--force rebuilds)",
                markup=False,
                highlight=False,
            )
            return
    models = getattr(result, "models", []) or []
    tests = getattr(result, "tests", []) or []
    skipped = sum(getattr(t, "skipped", False) for t in tests)
    kept = f" ({skipped} skipped: they read only models kept unchanged)" if skipped else ""
    console.print(
        f"built {len(models)} models, ran {len(tests) - skipped} tests{kept} into {settings.warehouse_path}"
    )


# --------------------------------------------------------------------------------------------------- sql
def run_query(settings, query: str):
    """Run one query on the warehouse (read-only); returns (columns, rows)."""
    import os

    import duckdb

    from kalshi_extract.errors import ConfigError
    from kalshi_lake.warehouse import connect

    if not query.strip():
        raise ConfigError('no query given: e.g. kalshi-lake sql "select * from fct_pnl limit 10"')
    path = str(settings.warehouse_path)
    if "://" not in path and not os.path.exists(path):
        raise ConfigError(f"no warehouse at {path}: run `kalshi-lake build` first")
    con = connect(path, read_only=True)
    try:
        cur = con.execute(query)
        columns = [d[0] for d in (cur.description or [])] if cur is not None else []
        rows = cur.fetchall() if columns else []
    except duckdb.Error as exc:
        raise ConfigError(f"query failed: {one_line(exc)}") from None
    finally:
        con.close()
    return columns, rows


def sql(
    query: Annotated[str, typer.Argument(help="A SQL query (DuckDB dialect) on the warehouse.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Output format: table (one record per block when too wide), csv or json."
        ),
    ] = "table",
    limit: Annotated[int, typer.Option(help="Show at most this many rows in table format (0 = all).")] = 200,
) -> None:
    """Query the warehouse.  Example: kalshi-lake sql "select ticker, count(*) from stg_trades group by 1" -f csv"""
    fmt = fmt.lower()
    if fmt not in ("table", "csv", "json"):
        raise fail(f"--format {fmt!r} is not one of table, csv, json")
    from kalshi_lake.cli.status_view import jsonable

    columns, rows = run_query(load_settings(), query)
    if fmt == "json":
        typer.echo(json.dumps([{c: jsonable(v) for c, v in zip(columns, r, strict=True)} for r in rows]))
    elif fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if v is None else jsonable(v) for v in r])
    else:
        _print_result(columns, rows, limit)


def _print_result(columns: list[str], rows: list[tuple], limit: int) -> None:
    """A table when every column fits the terminal; otherwise one record per block (``column: value``), which
    stays readable at any width (a table squeezed into 80 columns cuts every value), naming --format csv."""
    from datetime import datetime

    from kalshi_lake.cli import render
    from kalshi_lake.cli.common import console

    shown = rows[: limit or None]
    cols, cells = render.result_cells(columns, shown)
    title = f"{len(rows):,} row{'' if len(rows) == 1 else 's'}"
    if len(shown) < len(rows):
        title = f"first {len(shown):,} of {title} (--limit 0 for all)"
    if any(isinstance(v, datetime) for r in shown for v in r):
        title += ", times in UTC"
    con = console()
    if not shown:
        con.print(f"{title}; columns: {', '.join(columns)}", markup=False, highlight=False)
    elif render.fits(cols, cells, con.width) or render.fits(cols := _stacked(cols), cells, con.width):
        con.print(title, markup=False, highlight=False)  # above, not as the table's title: never folded
        con.print(render.table("", cols, cells, width=con.width))
    else:
        note = f"{len(columns)} columns are too wide for {con.width}: one record per block (or --format csv)"
        render.print_records(f"{title}\n{note}", columns, cells)


def _stacked(cols: list) -> list:
    """The same columns with long headers broken after their underscores (``realized_pnl_dollars`` over three
    lines): a table whose values fit but whose names do not stays a table."""
    from dataclasses import replace

    return [replace(c, header=c.header.replace("_", "_\n")) if len(c.header) > 8 else c for c in cols]


# --------------------------------------------------------------------------------------------------- status
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Per stream: rows, time range, last run, freshness and gaps.  Example: kalshi-lake status --json"""
    from kalshi_lake.cli import status_view  # also run without typer by `main` (see status_view)

    status_view.show(status_view.report(), as_json, typer.echo)


# --------------------------------------------------------------------------------------------------- serve
def serve() -> None:
    """Run the scheduled flows until Ctrl-C (starts a local Prefect server unless PREFECT_API_URL is set).
    Example: kalshi-lake serve"""
    from kalshi_extract.ingest.plan import has_api_key

    settings = load_settings()
    console = _console()
    console.print(
        f"market data + models: [bold]{settings.schedule_market_data}[/] (KALSHI_SCHEDULE_MARKET_DATA)"
    )
    if has_api_key(settings):
        console.print(
            f"portfolio + models:   [bold]{settings.schedule_portfolio}[/] (KALSHI_SCHEDULE_PORTFOLIO)"
        )
    else:
        console.print(
            "portfolio: not scheduled (no API key: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH)"
        )
    _prefect_startup_grace()
    from pipelines.server import prefect_api

    with prefect_api(log=lambda line: console.print(line, markup=False, highlight=False)) as url:
        from pipelines.server import ui_url

        console.print(f"Prefect API: {url}; UI: {ui_url(url)}", highlight=False)
        from pipelines.serve import serve_forever

        serve_forever(settings)


# --------------------------------------------------------------------------------------------------- compact
def compact(
    streams: Annotated[
        list[str] | None, typer.Argument(help="Streams to compact (default: all with files, and _runs).")
    ] = None,
) -> None:
    """Merge small files, rewrite files of an earlier schema, compact the run log.  Example: kalshi-lake compact"""
    from kalshi_extract.lake.store import Lake, compact_lake

    settings = load_settings()
    try:
        report = compact_lake(Lake.from_settings(settings), streams or None)
    except ValueError as exc:  # an unknown stream: nothing was changed
        raise fail(exc) from None
    console = _console()
    for name, out in report.items():
        line = f"{name}: {out['removed']} files → {out['written']}"
        if out["migrated"]:
            line += f" ({out['migrated']} rewritten to the current schema)"
        if out["kept"]:
            line += f"; {out['kept']} left as they are (a column this version does not know)"
        console.print(line, highlight=False)


# --------------------------------------------------------------------------------------------------- demo
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the local exchange (same seed, same world).")] = 7,
    size: Annotated[
        str, typer.Option(help="World size of the local exchange: tiny, small, demo or large.")
    ] = "demo",
) -> None:
    """Run the whole stack against an embedded local exchange: no account, no network.  Example: kalshi-lake demo"""
    from kalshi_lake.demo import run_demo

    run_demo(seed=seed, size=size, console=_console(), settings=load_settings())


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    for command in (pull, build, sql, status, serve, compact, demo):
        app.command(name=command.__name__)(handle_errors(command, interrupt_exits_at_once=True))
