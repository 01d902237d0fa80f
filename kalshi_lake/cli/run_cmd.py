"""``kalshi-lake run``: run a backtest strategy live, on paper (default) or for real (``--live``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import typer

from kalshi_lake.cli.common import fail, handle_errors
from kalshi_lake.cli.trading_common import YesOpt, confirm_gate, require_key

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


def _seconds(text: str | None) -> float | None:
    if not text:
        return None
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise fail(f"--for {text!r}: give a duration such as 90s, 30m, 8h or 2d")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v for item in values or [] for v in item.split(",") if v.strip())


def run(
    strategy: Annotated[str | None, typer.Argument(help="Built-in name or path/file.py:Class.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Send real orders (default: paper).")] = False,
    paper: Annotated[
        bool, typer.Option("--paper", help="Simulate fills; send nothing (the default).")
    ] = False,
    series: Annotated[
        list[str] | None, typer.Option("--series", help="Series tickers (repeat or a,b).")
    ] = None,
    events: Annotated[list[str] | None, typer.Option("--events", help="Event tickers.")] = None,
    tickers: Annotated[list[str] | None, typer.Option("--tickers", help="Market tickers.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Strategy parameter k=v.")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="Stop after this long (8h, 30m).")] = None,
    cash: Annotated[str, typer.Option("--cash", help="Paper starting cash, dollars.")] = "1000",
    max_order_size: Annotated[str, typer.Option(help="Contracts per order.")] = "10",
    max_position: Annotated[str, typer.Option(help="|Contracts| per market.")] = "50",
    max_total_position: Annotated[str, typer.Option(help="Σ |contracts|.")] = "200",
    max_open_orders: Annotated[int, typer.Option(help="Resting + in-flight orders.")] = 20,
    max_order_notional: Annotated[str, typer.Option(help="Dollars per order.")] = "50",
    max_daily_notional: Annotated[str, typer.Option(help="Dollars per UTC day.")] = "1000",
    max_daily_loss: Annotated[str, typer.Option(help="Dollars, realized + marked.")] = "100",
    max_orders_per_minute: Annotated[int, typer.Option(help="Order rate limit.")] = 30,
    max_data_age: Annotated[str, typer.Option(help="Seconds; older books refuse orders.")] = "30",
    inflight_grace: Annotated[
        float,
        typer.Option(help="Live restart: seconds to wait for orders sent just before a crash to land."),
    ] = 35.0,
    stop: Annotated[
        bool, typer.Option("--stop", help="Kill switch: stop every runner of this lake.")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Remove the kill switch file.")] = False,
    report: Annotated[
        str | None,
        typer.Option("--report", help="Compare this session (live_sessions.session_id) with --backtest."),
    ] = None,
    backtest: Annotated[
        str | None, typer.Option("--backtest", help="With --report: the backtest run_id (bt_runs).")
    ] = None,
    tolerance: Annotated[
        int, typer.Option(help="With --report: seconds two paired fills may be apart and still match.")
    ] = 60,
    yes: YesOpt = False,
) -> None:
    """Run a strategy live (paper by default).  Example: kalshi-lake run threshold --series KXHIGHNY --for 8h

    Compare a session with a backtest of the same strategy over the same window:
    kalshi-lake run --report live-20261203T150000-1a2b3c4d --backtest <run_id>"""
    from kalshi_extract.settings import Settings
    from kalshi_lake.live.session import stop_file

    settings = Settings.load()
    if report or backtest:
        if not (report and backtest):
            raise fail("--report SESSION and --backtest RUN_ID go together")
        from kalshi_lake.live.report import live_vs_backtest

        print_report(
            live_vs_backtest(
                settings.lake_root, settings.warehouse_path, report, backtest, tolerance_s=tolerance
            )
        )
        return
    kill = stop_file(settings)
    if stop or resume:
        if stop:
            kill.parent.mkdir(parents=True, exist_ok=True)
            kill.touch()
            typer.echo(
                f"kill switch set ({kill}): runners cancel their resting orders and stop within a second"
            )
        else:
            kill.unlink(missing_ok=True)
            typer.echo(f"kill switch removed ({kill})")
        return
    if strategy is None:
        raise fail("give a STRATEGY (a built-in name or path/file.py:Class), or --stop")
    if live and paper:
        raise fail("--live and --paper exclude each other")
    if kill.exists():
        raise fail(f"the kill switch is set ({kill}): `kalshi-lake run --resume` removes it")
    from kalshi_lake.backtest import make_strategy
    from kalshi_lake.live import RiskLimits, RunOptions, Selection
    from kalshi_lake.live.session import run_strategy

    params = dict(p.split("=", 1) for p in param or [] if "=" in p)
    strat = make_strategy(strategy, params)
    selection = Selection(series=_split(series), events=_split(events), tickers=_split(tickers))
    limits = RiskLimits(
        max_order_size=Decimal(max_order_size),
        max_position=Decimal(max_position),
        max_total_position=Decimal(max_total_position),
        max_open_orders=max_open_orders,
        max_order_notional=Decimal(max_order_notional),
        max_daily_notional=Decimal(max_daily_notional),
        max_daily_loss=Decimal(max_daily_loss),
        max_orders_per_minute=max_orders_per_minute,
        max_data_age_s=Decimal(max_data_age),
    )
    mode = "live" if live else "paper"
    if live:
        require_key(settings)
        confirm_gate(
            settings,
            [f"run {strat.name} LIVE on {selection.as_dict()}", f"limits {limits.as_dict()}"],
            yes=yes,
        )
    summary = run_strategy(
        settings,
        strat,
        selection,
        limits,
        RunOptions(mode=mode, cash=Decimal(cash), inflight_grace_s=inflight_grace),
        seconds=_seconds(for_),
        on_status=lambda st: typer.echo(status_line(st), err=True),
    )
    typer.echo(summary_text(summary))


def status_line(st: dict) -> str:
    pos = ", ".join(f"{t} {p}" for t, p in st["positions"].items()) or "flat"
    age = "n/a" if st["data_age_s"] is None else f"{st['data_age_s']:.1f}s"
    hits = ", ".join(f"{k} ×{n}" for k, n in st["limits_hit"].items()) or "none"
    return (
        f"[{st['mode']}] positions: {pos} | open orders {st['open_orders']} | P&L today ${st['pnl_today']:.2f} | "
        f"data age {age} ({st['feed']}) | limits hit: {hits}"
    )


def summary_text(s: dict) -> str:
    return (
        f"stopped ({s['reason']}): {s['orders']} orders, {s['fills']} fills, equity ${s['equity']:.2f}, "
        f"P&L today ${s['pnl_today']:.2f}, {s['canceled_at_stop']} resting orders cancelled; session {s['session_id']}"
    )


def print_report(r) -> None:
    """The live-vs-backtest report: the two sides, the pair counts and slippage, the pairs, the captions."""
    from kalshi_lake.cli.common import console
    from kalshi_lake.cli.render import Col, count, print_table, usd

    def price(v):
        return "" if v is None else f"{v.normalize():f}"

    def when(v):
        return "" if v is None else f"{v:%Y-%m-%d %H:%M:%S}"

    live, bt = r.sides["live"], r.sides["backtest"]
    rows = [
        ("strategy", f"{r.session['strategy']} ({r.session['mode']})", r.run["strategy"]),
        ("id", r.session["session_id"], r.run["run_id"]),
        ("window start", when(live["window_start"]), when(bt["window_start"])),
        ("window end", when(live["window_end"]), when(bt["window_end"])),
        ("orders", count(live["orders"]), count(bt["orders"])),
        ("refused (risk) / rejected", f"{live['refused']} / {live['rejected']}", f"- / {bt['rejected']}"),
        ("fills", count(live["fills"]), count(bt["fills"])),
        ("contracts", count(live["contracts"]), count(bt["contracts"])),
        ("buy VWAP (YES)", price(live["buy_vwap"]), price(bt["buy_vwap"])),
        ("sell VWAP (YES)", price(live["sell_vwap"]), price(bt["sell_vwap"])),
        ("fees", usd(live["fees"]), usd(bt["fees"])),
        ("realized P&L", usd(live["realized_pnl"]), usd(bt["realized_pnl"])),
        ("P&L (marked)", "n/a" if live["pnl"] is None else usd(live["pnl"]), usd(bt["pnl"])),
    ]
    print_table("live vs backtest", [Col(""), Col("live"), Col("backtest")], [list(x) for x in rows])
    c = r.counts
    console().print(
        f"fill pairs: {c['matched']} matched, {c['apart']} apart, {c['live only']} live only, "
        f"{c['backtest only']} backtest only; slippage on matched pairs {usd(r.slippage_dollars)} "
        "(positive = live worse)"
    )
    if r.pairs:
        print_table(
            "fills, paired (first 50)",
            [
                Col("ticker"),
                Col("side"),
                Col("status"),
                Col("live ts", drop=2),
                Col("bt ts", drop=2),
                Col("live", "num"),
                Col("bt", "num"),
                Col("n live", "num", drop=1),
                Col("n bt", "num", drop=1),
                Col("slippage $", "num"),
            ],
            [
                [
                    p["ticker"],
                    p["book_side"],
                    p["status"],
                    when(p["live_ts"]),
                    when(p["bt_ts"]),
                    price(p["live_price"]),
                    price(p["bt_price"]),
                    count(p["live_count"]) if p["live_count"] is not None else None,
                    count(p["bt_count"]) if p["bt_count"] is not None else None,
                    None if p["slippage_dollars"] is None else usd(p["slippage_dollars"]),
                ]
                for p in r.pairs[:50]
            ],
        )
    for caption in r.captions:
        console().print(f"[dim]note: {caption}[/dim]")


def register(app: typer.Typer) -> None:
    """Attach ``run`` to the root app."""
    app.command("run")(handle_errors(run))
