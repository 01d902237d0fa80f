"""Rendering shared by the CLI commands: compact tables that stay readable in an 80-column terminal.

Decisions (tables only; ``--json`` always prints the API's exact strings and full ids):
- Money and prices are exact Decimals shown with the digits they carry, at least cents: ``"0.120000"`` →
  ``0.12``, ``"0.001400"`` → ``0.0014``, ``"0.0010"`` → ``0.001`` (never rounded, never float). Counts drop
  trailing zeros (``"6.00"`` → ``6``, ``"980.90"`` → ``980.9``). Thousands get separators.
- Numbers, tickers and ids never wrap (a number folded over two lines reads as two numbers). Free text
  (titles) takes the room left; when even that does not fit, the least useful columns are left out and the
  title says so.
- Order and fill ids show their first 8 characters (``SHORT_ID``), as git shows commits; ``cancel``/``amend``/
  ``decrease`` accept such a prefix when it names exactly one resting order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SHORT_ID = 8


TEXT_MIN = 12  # a free-text column narrower than this is dropped rather than folded into a tall ribbon


@dataclass(frozen=True)
class Col:
    """A table column: ``kind`` is ``key`` (tickers, ids, words: never wrap), ``num`` (right-aligned, never
    wrap) or ``text`` (free text: takes the room left and wraps). ``drop`` > 0 marks a column that may be left
    out when the terminal is too narrow for every column (highest ``drop`` first)."""

    header: str
    kind: str = "key"
    drop: int = 0


def table(title: str, columns: list[Col | str], rows: list[list[Any]], width: int | None = None):
    """A compact rich table (header rule, no grid) with a left-justified title; None cells print empty.

    With ``width`` (the console's), droppable columns are left out until the rest fits (see :class:`Col`);
    the title then says which were left out (``--json`` has everything)."""
    from rich import box
    from rich.table import Table

    cols = [_col(c) for c in columns]
    cells = [["" if v is None else str(v) for v in r] for r in rows]
    keep = _fit(cols, cells, width) if width else list(range(len(cols)))
    left_out = [cols[i].header for i in range(len(cols)) if i not in keep]
    if left_out:
        title += f"  (narrow terminal: {', '.join(left_out)} left out)"
    t = Table(
        title=title,
        title_justify="left",
        show_header=any(c.header for c in cols),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for c in (cols[i] for i in keep):
        wraps = c.kind == "text"
        t.add_column(
            c.header,
            justify="right" if c.kind == "num" else "left",
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
            ratio=1 if wraps else None,
            min_width=TEXT_MIN if wraps else None,
        )
    for r in cells:
        t.add_row(*[r[i] for i in keep])
    return t


def _fit(cols: list[Col], cells: list[list[str]], width: int) -> list[int]:
    """Indexes of the columns to show so the table fits ``width``."""
    natural = [
        max(
            [len(h) for h in c.header.splitlines() or [""]]
            + [len(line) for r in cells for line in r[i].splitlines()]
        )
        for i, c in enumerate(cols)
    ]
    keep = list(range(len(cols)))

    def need() -> int:
        return sum(
            min(natural[i], TEXT_MIN) if cols[i].kind == "text" else natural[i] for i in keep
        ) + 2 * len(keep)

    while need() > width:
        droppable = [i for i in keep if cols[i].drop > 0]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (cols[i].drop, i)))
    return keep


def fits(columns: list[Col | str], rows: list[list[Any]], width: int) -> bool:
    """Whether every column of :func:`table` fits ``width`` (none would be left out or cut)."""
    cols = [_col(c) for c in columns]
    cells = [["" if v is None else str(v) for v in r] for r in rows]
    return len(_fit([Col(c.header, c.kind, drop=1) for c in cols], cells, width)) == len(cols)


def print_records(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """One record per block, one ``column: value`` line per column (names aligned), for results too wide for a
    table; a value's own line breaks are indented under it. None prints empty."""
    from kalshi_lake.cli.common import console

    con = console()
    con.print(title, markup=False, highlight=False)
    pad = max((len(c) for c in columns), default=0) + 1
    for n, r in enumerate(rows, 1):
        con.print(
            f"-[ record {n} ]" + "-" * max(0, min(con.width, 60) - 15 - len(str(n))),
            markup=False,
            highlight=False,
        )
        for c, v in zip(columns, r, strict=True):
            value = "" if v is None else str(v)
            value = value.replace("\n", "\n" + " " * (pad + 1))
            con.print(f"{c + ':':<{pad}} {value}".rstrip(), markup=False, highlight=False, soft_wrap=True)


def print_table(
    title: str, columns: list[Col | str], rows: list[list[Any]], empty: str | None = None
) -> None:
    """Print :func:`table` on stdout, fitted to the terminal's width; with no rows, the ``empty`` sentence
    instead of a bare header (when given)."""
    from kalshi_lake.cli.common import console

    con = console()
    if not rows and empty:
        con.print(empty, markup=False)
        return
    con.print(table(title, columns, rows, width=con.width))


def _col(c: Col | str) -> Col:
    return c if isinstance(c, Col) else Col(c)


def _decimal(v: Any) -> Decimal | None:
    if v is None or v == "":
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def dollars(v: Any, *, grouped: bool = True) -> str:
    """An exact dollar amount or price with the digits it carries, at least cents (see the module docstring)."""
    d = _decimal(v)
    if d is None:
        return "" if v is None else str(v)
    exp = d.normalize().as_tuple().exponent
    places = max(2, -exp) if isinstance(exp, int) else 2
    return f"{d:{',' if grouped else ''}.{places}f}"


def usd(v: Any) -> str:
    """:func:`dollars` with the sign before the dollar sign: ``-15.6431`` → ``-$15.6431``."""
    text_ = dollars(v)
    return f"-${text_[1:]}" if text_.startswith("-") else (f"${text_}" if text_ else "")


def dollars_column(values: list[Any]) -> list[str]:
    """:func:`dollars` for a whole column, every value with the same number of places (the most any needs), so
    right-aligned amounts line up on the point: ``["0.216", "0.2193"]`` → ``["0.2160", "0.2193"]``."""
    places = 2
    for v in values:
        d = _decimal(v)
        exp = d.normalize().as_tuple().exponent if d is not None else 0
        if isinstance(exp, int):
            places = max(places, -exp)
    return [
        f"{d:,.{places}f}" if (d := _decimal(v)) is not None else ("" if v is None else str(v))
        for v in values
    ]


def columns(rows: list[list[Any]], money: list[int]) -> list[list[Any]]:
    """``rows`` with the cells of the ``money`` column indexes passed through :func:`dollars_column`."""
    if not rows:
        return []
    cols = [list(c) for c in zip(*rows, strict=True)]
    for i in money:
        cols[i] = dollars_column(cols[i])
    return [list(r) for r in zip(*cols, strict=True)]


def cents(v: Any) -> str:
    """Integer cents (``balance``, ``revenue``) as dollars: ``999987`` → ``9,999.87``."""
    if v is None or v == "":
        return ""
    return dollars(Decimal(int(v)).scaleb(-2))


def count(v: Any) -> str:
    """A fixed-point count without trailing zeros: ``"6.00"`` → ``6``, ``"1443.20"`` → ``1,443.2``."""
    d = _decimal(v)
    if d is None:
        return "" if v is None else str(v)
    exp = d.normalize().as_tuple().exponent
    places = max(0, -exp) if isinstance(exp, int) else 0
    return f"{d:,.{places}f}"


def when(v: Any, *, seconds: bool = True) -> str:
    """An RFC3339 time or Unix seconds → ``2026-11-24 12:00:05`` (UTC; whole seconds, or minutes)."""
    if v is None or v == "":
        return ""
    try:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            t = dt.datetime.fromtimestamp(v, dt.UTC)
        else:
            t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, OverflowError, OSError):
        return str(v)
    return t.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def short_id(v: Any) -> str:
    """The first ``SHORT_ID`` characters of an order/fill id."""
    return "" if not v else str(v)[:SHORT_ID]


def unix(v: Any) -> Any:
    """Unix seconds → RFC3339 UTC text; anything else unchanged."""
    if isinstance(v, int) and not isinstance(v, bool):
        return dt.datetime.fromtimestamp(v, dt.UTC).isoformat().replace("+00:00", "Z")
    return v


def text(v: Any) -> str:
    """Empty text for None or "", else ``str(v)``."""
    return "" if v is None or v == "" else str(v)


# ------------------------------------------------------------------------------------------- query results
LONG_TEXT = 40  # a text column with a longer value wraps (titles, rules); shorter ones never do


def result_cells(names: list[str], rows: list[tuple]) -> tuple[list[Col], list[list[str]]]:
    """Columns and display cells for arbitrary query results (``kalshi-lake sql`` in table format).

    Per column, by the Python type DuckDB returns: Decimals are exact and line up on the point, with the places
    the column's values need (trailing zeros dropped; at least cents when the column is money-like, i.e. carries
    3+ decimal places, as ``*_dollars`` do: ``0.001000`` → ``0.001``, ``5.00`` → ``5``); integers get thousands
    separators (not ``*id``/``*year``/``*_ts`` columns); times print in UTC to the microsecond they carry;
    numbers are right-aligned and never wrap, nor do short texts (tickers); long texts wrap."""
    cols: list[Col] = []
    out: list[list[str]] = [[] for _ in rows]
    for j, name in enumerate(names):
        values = [r[j] for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, Decimal) for v in present):
            scale = max(-v.as_tuple().exponent for v in present if isinstance(v.as_tuple().exponent, int))
            places = max([2 if scale >= 3 else 0] + [_places(v) for v in present])
            cells = [_grouped_decimal(v, places) for v in values]
            kind = "num"
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            plain = name.lower().endswith(("id", "year", "_ts"))
            cells = ["" if v is None else (str(v) if plain else f"{v:,}") for v in values]
            kind = "num"
        elif present and all(isinstance(v, float) for v in present):
            cells = ["" if v is None else repr(v) for v in values]
            kind = "num"
        else:
            cells = [_result_text(v) for v in values]
            kind = "text" if any(len(c) > LONG_TEXT for c in cells) else "key"
        cols.append(Col(name, kind))
        for i, c in enumerate(cells):
            out[i].append(c)
    return cols, out


def _places(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _grouped_decimal(v: Decimal | None, places: int) -> str:
    return "" if v is None else (f"{v:,.{places}f}" if v.is_finite() else str(v))


def _result_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return v.isoformat(sep=" ", timespec="microseconds" if v.microsecond else "seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, bytes):
        return v.hex()
    return str(v)
