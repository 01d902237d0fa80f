"""Rendering for the trading commands: rich tables and display text for times and values."""

from __future__ import annotations

from typing import Any


def table(title: str, columns: list[str], rows: list[list[Any]]):
    """A rich table with a left-justified title; None cells print empty."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_header=any(columns))
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


def unix(v: Any) -> Any:
    """Unix seconds → RFC3339 UTC text; anything else unchanged."""
    import datetime as dt

    if isinstance(v, int) and not isinstance(v, bool):
        return dt.datetime.fromtimestamp(v, dt.UTC).isoformat().replace("+00:00", "Z")
    return v


def text(v: Any) -> str:
    """Empty text for None or "", else ``str(v)``."""
    return "" if v is None or v == "" else str(v)
