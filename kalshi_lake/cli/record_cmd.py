"""CLI `record`: Kalshi's WebSocket into the lake (`kalshi_extract.ingest.recorder`), with a live status line.

Thin: loads settings once, checks the request (`plan_record`: a bad option is one line on stderr and nothing is
written; an unknown ticker, series or event too, found over REST before anything is written), then runs the
library's `Recorder` until `--for` has passed or Ctrl-C. Ctrl-C (or SIGTERM) is a clean stop: the recorder
flushes what it holds and writes its `stopped` row; a second Ctrl-C leaves at once (the lake stays consistent:
only the unflushed seconds are lost, and the coverage log shows the hole). No Prefect import.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from kalshi_lake.cli.common import handle_errors, load_settings


def _status_line(status) -> str:
    rate = status.messages / status.seconds if status.seconds > 0 else 0.0
    behind = f"  lake behind {status.lake_behind}x" if status.lake_behind else ""
    errors = f"  lake errors {status.lake_errors}" if status.lake_errors else ""
    dropped = f"  dropped {status.dropped:,}" if status.dropped else ""
    return (
        f"{status.seconds:,.0f}s  {rate:,.0f} msg/s  {status.markets} markets  {status.gaps} gaps  "
        f"{status.reconnects} reconnects  {status.rows_flushed:,} rows flushed{behind}{errors}{dropped}"
    )


def record(
    tickers: Annotated[
        str | None, typer.Option("--tickers", help="Market tickers, comma-separated.", show_default=False)
    ] = None,
    series: Annotated[
        str | None,
        typer.Option(
            "--series", help="Series: their open markets, and new ones as they open.", show_default=False
        ),
    ] = None,
    events: Annotated[
        str | None,
        typer.Option(
            "--events", help="Events: their open markets, and new ones as they open.", show_default=False
        ),
    ] = None,
    channels: Annotated[
        str | None,
        typer.Option(
            "--channels",
            help="Channels, comma-separated (default: orderbook_delta,trade,ticker,market_lifecycle_v2, plus "
            "fill,user_orders,market_positions with a key).",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--for", help="How long: 90s, 30m, 2h, 1d (default: until Ctrl-C).", show_default=False),
    ] = None,
    flush_every: Annotated[
        float, typer.Option("--flush-every", help="Seconds between writes to the lake.")
    ] = 5.0,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="No status line; one summary line at the end.")
    ] = False,
) -> None:
    """Record order books, trades and tickers from Kalshi's WebSocket into the lake.  Example: kalshi-lake record --series KXBTC --for 2h"""
    from kalshi_extract.ingest.recorder import Recorder
    from kalshi_extract.ingest.recorder_plan import plan_record
    from kalshi_lake.cli.common import console as make_console

    settings = load_settings()
    plan = plan_record(
        settings,
        tickers=tickers,
        series=series,
        events=events,
        channels=channels,
        duration=duration,
        flush_seconds=flush_every,
    )
    console = make_console(err=True)
    recorder = Recorder(settings, plan)
    markets = recorder.resolve()  # an unknown ticker, series or event: one line, nothing written
    console.print(
        f"recording {len(markets)} markets ({plan.describe()}) into {settings.lake_root} "
        f"(run {recorder.run_id})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum, frame) -> None:
        if (
            stop.is_set()
        ):  # the second Ctrl-C: leave now (committed rows are safe; the hole shows in coverage)
            raise KeyboardInterrupt
        stop.set()
        console.print("stopping: writing what is buffered (Ctrl-C again to leave at once)")

    for sig in previous:
        signal.signal(sig, on_signal)
    try:
        if quiet or not console.is_terminal:
            status = recorder.run_sync(stop=stop)
        else:
            with console.status("connecting") as live:
                status = recorder.run_sync(stop=stop, progress=lambda s: live.update(_status_line(s)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo(f"{status.stop_reason}: {_status_line(status)}")


def register(app: typer.Typer) -> None:
    """Attach `record` to the root app."""
    app.command(name="record")(handle_errors(record))
