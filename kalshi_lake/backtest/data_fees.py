"""The fee terms' history a backtest prices fills with, read from the lake (see :mod:`kalshi_lake.backtest.fees`).

* ``series_fee_changes`` / ``event_fee_changes``: the latest state of each change ``id``; a series change without
  its terms, or any change without its ticker or ``scheduled_ts``, is an error (never skipped);
* recorded WebSocket ``event_fee_update`` messages (``ws_lifecycle``): an override set or cleared, from when it
  was received (the message carries no exchange time; the REST change, when landed, is exact);
* the ``series`` / ``events`` rows landed before a series' / event's first change: the terms in force then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from kalshi_lake.backtest.errors import BacktestDataError
from kalshi_lake.backtest.fees import FeeSchedule, timed_schedule
from kalshi_lake.backtest.lakesql import stream_source


def _in_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def fee_schedule(
    series: dict | None, event: dict | None, waiver_us: int | None, history: FeeHistory | None = None
) -> FeeSchedule:
    """A market's schedule: the current terms from its latest series / event rows, the history from ``history``."""
    fee_type = (series or {}).get("fee_type") or "quadratic"
    mult = (series or {}).get("fee_multiplier")
    multiplier = Decimal(str(mult)) if mult is not None else Decimal(1)
    o_type = (event or {}).get("fee_type_override") or None
    o_mult = (event or {}).get("fee_multiplier_override")
    override = (o_type, Decimal(str(o_mult)) if o_mult is not None else None)
    h = history or FeeHistory()
    s_ticker = (event or {}).get("series_ticker")
    e_ticker = (event or {}).get("event_ticker")
    return timed_schedule(
        (fee_type, multiplier),
        override,
        waiver_us,
        h.series.get(s_ticker, []),
        h.events.get(e_ticker, []),
        series_listed=h.series_listed,
        event_listed=h.events_listed,
        series_before=h.series_before.get(s_ticker),
        event_before=h.events_before.get(e_ticker),
    )


@dataclass
class FeeHistory:
    """Landed fee changes: series ticker → [(from µs, fee_type, multiplier)], event ticker → [(from µs,
    fee_type_override, multiplier_override)] (latest state of each change id); whether each change stream is in
    the lake at all; and the terms / override of the latest series / events row landed before a first change."""

    series: dict[str, list] = field(default_factory=dict)
    events: dict[str, list] = field(default_factory=dict)
    series_listed: bool = False
    events_listed: bool = False
    series_before: dict[str, tuple] = field(default_factory=dict)
    events_before: dict[str, tuple] = field(default_factory=dict)


def _observed_before(con, lake_root: str, stream: str, key: str, type_col: str, mult_col: str, firsts: dict):
    """Per ticker with a first change: the (type, multiplier) of its latest row landed before that change."""
    found = stream_source(con, lake_root, stream)
    if not firsts or found is None or not {key, "_loaded_at", type_col, mult_col} <= found[1]:
        return {}
    out: dict[str, tuple] = {}
    sql = f"""select {key}, epoch_us(_loaded_at), {type_col}, cast({mult_col} as varchar) from {found[0]}
              where {key} in ({_in_list(sorted(firsts))}) and _loaded_at is not null order by 2"""
    for ticker, loaded, fee_type, mult in con.execute(sql).fetchall():
        if loaded < firsts[ticker]:
            out[ticker] = (fee_type or None, Decimal(mult) if mult is not None else None)
    return out


def fee_history(con, lake_root: str) -> FeeHistory:
    """Every landed fee change (REST lists and recorded WebSocket updates) and the rows seen before them."""
    out = FeeHistory()
    # (stream, key, type column, multiplier column, where, its "listed" flag, whether null terms clear an override)
    for stream, key, type_col, mult_col, target, listed, nulls_clear in (
        (
            "series_fee_changes",
            "series_ticker",
            "fee_type",
            "fee_multiplier",
            out.series,
            "series_listed",
            False,
        ),
        (
            "event_fee_changes",
            "event_ticker",
            "fee_type_override",
            "fee_multiplier_override",
            out.events,
            "events_listed",
            True,
        ),
    ):
        found = stream_source(con, lake_root, stream)
        if found is None:
            continue
        setattr(out, listed, True)
        src, cols = found
        needed = {"id", key, "scheduled_ts", type_col, mult_col}
        if not needed <= cols:
            raise BacktestDataError(f"the lake's {stream} stream lacks {', '.join(sorted(needed - cols))}")
        order = "_loaded_at desc nulls last" if "_loaded_at" in cols else "1"
        sql = f"""select {key}, epoch_us(scheduled_ts), {type_col}, cast({mult_col} as varchar), id
                  from (select *, row_number() over (partition by id order by {order}) as rn from {src})
                  where rn = 1 and id is not null
                  order by 2"""
        for ticker, at, fee_type, mult, change_id in con.execute(sql).fetchall():
            if ticker is None or at is None or (not nulls_clear and (fee_type is None or mult is None)):
                raise BacktestDataError(
                    f"{stream} change {change_id} lacks {key}, scheduled_ts or its terms (see its _extra)"
                )
            target.setdefault(ticker, []).append((at, fee_type, Decimal(mult) if mult is not None else None))
    # recorded WebSocket `event_fee_update` messages (ws_lifecycle): an override set or cleared, effective no later
    # than when we received it (the message carries no exchange time; the REST change, when landed, is exact)
    found = stream_source(con, lake_root, "ws_lifecycle")
    if (
        found is not None
        and {"type", "event_ticker", "fee_type_override", "fee_multiplier_override"} <= found[1]
    ):
        src, cols = found
        at = "coalesce(ts, received_at)" if {"ts", "received_at"} <= cols else "ts" if "ts" in cols else None
        if at is not None:
            sql = f"""select event_ticker, epoch_us({at}), fee_type_override,
                             cast(fee_multiplier_override as varchar)
                      from {src} where type = 'event_fee_update' and event_ticker is not null order by 2"""
            for ticker, when, fee_type, mult in con.execute(sql).fetchall():
                if when is None:
                    raise BacktestDataError(f"a recorded event_fee_update of {ticker} has no time")
                change = (when, fee_type, Decimal(mult) if mult is not None else None)
                out.events.setdefault(ticker, []).append(change)
    firsts = {t: min(c[0] for c in cs) for t, cs in out.series.items()}
    before = _observed_before(con, lake_root, "series", "ticker", "fee_type", "fee_multiplier", firsts)
    out.series_before = {t: v for t, v in before.items() if v[0] is not None and v[1] is not None}
    firsts = {t: min(c[0] for c in cs) for t, cs in out.events.items()}
    out.events_before = _observed_before(
        con, lake_root, "events", "event_ticker", "fee_type_override", "fee_multiplier_override", firsts
    )
    return out
