"""A pull with its live progress display: one line per stream (pages, rows, rows/s), shared by `kalshi-lake pull`
and `kalshi-lake demo`. Calls `kalshi_extract.ingest.run.run_pull` with a `progress=` callback; imports no
Prefect."""

from __future__ import annotations

import threading
import time


def progress_display(streams: list[str], console):
    """A rich Progress with one line per stream and the `progress(stream, pages, rows, status)` callback that
    drives it (thread-safe: the library calls it from its worker threads)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    display = Progress(
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn("[bold]{task.description:<20}"),
        TextColumn("{task.fields[pages]:>6,} pages"),
        TextColumn("{task.fields[rows]:>10,} rows"),
        TextColumn("{task.fields[rate]:>9} rows/s"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
        transient=False,
    )
    fields = {"pages": 0, "rows": 0, "rate": "-", "note": ""}
    ids = {s: display.add_task(s, total=None, start=False, **fields) for s in streams}
    started: dict[str, float] = {}
    lock = threading.Lock()

    def progress(stream: str, pages: int, rows: int, status: str | None = None) -> None:
        with lock:
            if stream not in ids:
                ids[stream] = display.add_task(stream, total=None, start=False, **fields)
            task = ids[stream]
            if stream not in started:
                started[stream] = time.monotonic()
                display.start_task(task)
            elapsed = time.monotonic() - started[stream]
            rate = f"{rows / elapsed:,.0f}" if elapsed > 0.05 else "-"
            display.update(task, pages=pages, rows=rows, rate=rate)
            if status in ("ok", "failed"):
                note = "" if status == "ok" else "[red]✗ failed[/]"
                display.update(task, total=1, completed=1 if status == "ok" else 0, note=note)
                display.stop_task(task)

    return display, progress


def pull_with_progress(settings, plan, console=None, show_progress: bool = True) -> list:
    """Run ``plan`` with the library (no Prefect); returns every stream's `StreamResult`, failed ones included."""
    from kalshi_extract.ingest.run import run_pull

    if not show_progress:
        return run_pull(settings, plan).streams
    display, progress = progress_display(list(plan.streams), console)
    with display:
        return run_pull(settings, plan, progress=progress).streams
