"""`kalshi-lake status`: the report and how it prints, without typer (issue #20: `status` ≤ 0.5 s).

The typer command (`data_cmd.status`) prints through :func:`show`. `kalshi_lake.cli.main` runs a plain
`kalshi-lake status` / `kalshi-lake status --json` through :func:`run` instead, without importing typer or building
its click group (≈0.06-0.08 s of CPU, a fifth of the command): the same report, the same bytes on stdout, warnings
as the same one-line ``warning: …``. When building the report raises, :func:`run` returns None and `main` runs
the typer command, which builds it again (the report only reads the lake) and reports the error as every command
does: one error path, not two. An error while printing (a closed pipe) is one ``error: …`` line and exit 1, as in
`common.handle_errors`; Ctrl-C exits 130 at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from kalshi_lake.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, load_settings, one_line

STATUS_CLOCKS = "from, through: the exchange's time; last run, fresh: this machine's clock."
STATUS_LOCAL_DATES = "\n* the day loaded, on this machine's clock (the stream states no time of its own)."


def report() -> dict[str, Any]:
    """The lake's status (`kalshi_extract.ingest.status.lake_status`) with its `schema_drift`."""
    from kalshi_extract.ingest.status import lake_status

    return lake_status(load_settings(), schema_drift=True)  # drift from the same footers: each read once


def jsonable(value: Any) -> Any:
    """A value of a query row or status report as JSON can hold it (decimals exact, as strings)."""
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)  # exact: never through float
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def show(report: dict[str, Any], as_json: bool, echo: Callable[[str], Any]) -> None:
    """Print ``report``: JSON on one line, or the table, the clocks' note and a line per stream with files of an
    earlier schema. ``echo`` prints one line of text on stdout."""
    if as_json:
        echo(json.dumps(report, default=jsonable))
        return
    from kalshi_lake.cli.render import Col, count, print_table

    rows = []
    local_dates = False
    for s in report["streams"]:
        mark = ""
        if s.get("clock") == "local" and s["rows"]:
            mark, local_dates = " *", True
        outcome = s["last_outcome"] or ""
        if outcome == "interrupted" and not s.get("completed_runs"):
            outcome = "interrupted, no completed run"
        elif outcome != "interrupted" and s["failed_since_ok"]:
            outcome = (
                f"failed ×{s['failed_since_ok']}"  # failed runs since the last ok one (--json: the error)
            )
        rows.append(
            [
                s["stream"],
                count(s["rows"]),
                # the files themselves first
                (s.get("data_start") or s["range_start"] or s["first"] or "")[:10] + mark,
                (s.get("data_end") or s["range_end"] or s["last"] or "")[:10] + mark,
                s["last_run_age"] or ("never" if not s["rows"] else "no run log"),
                outcome,
                s["freshness"] or "",
                count(len(s["gaps"])) if s["gaps"] else "",
            ]
        )
    any_gaps = any(s["gaps"] for s in report["streams"])
    # At 80 columns `fresh` (age of the newest loaded row; `last run` says nearly as much) goes first, then an
    # all-empty `gaps`; rows, dates and outcomes always stay.
    columns = [
        Col("stream"),
        Col("rows", "num"),
        Col("from"),
        Col("through"),
        Col("last run"),
        Col("outcome"),
        Col("fresh", drop=2),
        Col("gaps", "num", drop=0 if any_gaps else 1),
    ]
    print_table(f"lake {report['lake']}", columns, rows)
    echo(STATUS_CLOCKS + (STATUS_LOCAL_DATES if local_dates else ""))
    for line in drift_lines(report["schema_drift"]):
        echo(line)


def drift_lines(drifts: list[dict]) -> list[str]:
    """One line per stream with files of an earlier column type (the report's `schema_drift`), and the command
    that rewrites them."""
    by_stream: dict[str, list[dict]] = {}
    for d in drifts:
        by_stream.setdefault(d["stream"], []).append(d)
    return [
        f"{name}: {len(ds)} file(s) of an earlier schema ({_describe(ds[0]['columns'])}), e.g. {ds[0]['file']}; "
        f"the next pull of the stream rewrites them, or run: kalshi-lake compact {name}"
        for name, ds in by_stream.items()
    ]


def _describe(columns: list) -> str:
    """``name type (now type)`` of each drifting column, as :meth:`Drift.describe
    <kalshi_extract.lake.schema_check.Drift.describe>` words it."""
    return ", ".join(f"{name} {have} (now {want})" for name, have, want in columns)


def _echo(text: str, err: bool = False) -> None:
    """What ``typer.echo`` does with a line of plain text: the line, a newline, a flush."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _interrupted() -> None:
    import os

    _echo("error: interrupted", err=True)
    sys.stdout.flush()
    os._exit(EXIT_INTERRUPTED)


def run(as_json: bool) -> int | None:
    """`kalshi-lake status [--json]` without typer: the exit code, or None when building the report raised (the
    caller then runs the typer command; see the module docstring)."""
    import warnings

    try:
        with warnings.catch_warnings(
            record=True
        ) as caught:  # the filters stay; shown once the report is built
            data = report()
    except KeyboardInterrupt:
        _interrupted()
    except Exception:
        return None
    for w in caught:
        _echo(f"warning: {one_line(w.message)}", err=True)
    try:
        show(data, as_json, _echo)
    except KeyboardInterrupt:
        _interrupted()
    except OSError as exc:  # e.g. stdout closed by `| head`: one line, as `handle_errors` words it
        _echo(f"error: {one_line(exc)}", err=True)
        return EXIT_FAILED
    return 0
