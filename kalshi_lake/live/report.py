"""Live (or paper) session vs a backtest of the same strategy: fills, prices, slippage, P&L — DuckDB SQL over the
session's ``live_*`` rows in the lake and the run's ``bt_*`` tables in the warehouse (``kalshi-lake run --report
SESSION --backtest RUN_ID``).

How fills are compared (the assumptions, printed with every report as its captions):

* Fills are paired **by order of occurrence per market and side**: the k-th YES-bid fill of a market in the session
  with the k-th YES-bid fill of that market in the backtest. A pair is ``matched`` when the two are at most
  ``tolerance_s`` apart in exchange time, ``apart`` when further (the strategy did the same thing at another time,
  or paired fills are not the same decision: counted as a mismatch, no slippage computed), and a fill with no
  partner is ``live only`` / ``backtest only``. No attempt is made to pair by decision: the pairing is simple and
  may under-count matches when one side has an extra fill early on; it never invents a match.
* Slippage of a matched pair = (live price − backtest price) per YES contract, signed so that **positive means the
  live fill was worse** (paid more on a bid, got less on an ask), times the smaller of the two counts. Fees are
  compared separately.
* P&L: the session's is its equity change from its first to its last status row, marked as the runner marks (last
  trade of each market); the backtest's is ``bt_runs.pnl_dollars`` (marked at its window's end, settlements paid).
  They differ also when the windows differ: both windows are shown.
* Paper sessions' fills are the backtester's fill model run on the live feed: a paper-vs-backtest comparison
  measures the difference between the live feed and the recorded data, not the exchange's real fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kalshi_extract.errors import ConfigError
from kalshi_lake.backtest.lakesql import stream_source

__all__ = ["LiveReport", "CAPTIONS", "live_vs_backtest"]

CAPTIONS = (
    "fills are paired by order of occurrence per market and side; 'matched' = at most {tol}s apart (exchange "
    "time), 'apart' = paired but further apart (a mismatch), 'live only' / 'backtest only' = no partner",
    "slippage = (live - backtest) YES price x the smaller count of a matched pair, signed: positive = live worse "
    "(paid more on a bid, got less on an ask); fees are compared separately",
    "P&L: live = equity change over the session's status rows (marked at each market's last trade); backtest = "
    "bt_runs.pnl_dollars (marked at its window's end, settlements paid); windows shown above",
    "{paper}",
)
_PAPER = (
    "this session is PAPER: its fills are the backtester's fill model on the live feed, not the exchange's; the "
    "comparison measures live feed vs recorded data, not real execution"
)
_LIVE = "this session is LIVE: its fills are the exchange's, with the exchange's fees"

_PAIRS_SQL = """
with l as (
    select ticker, book_side, ts, count_fp as count, yes_price_dollars as price, fee_cost as fee,
           row_number() over (partition by ticker, book_side order by ts, fill_seq) as n
    from live_fills where session_id = $session
),
b as (
    select ticker, book_side, ts, count_fp as count, yes_price_dollars as price, fee_cost as fee,
           row_number() over (partition by ticker, book_side order by ts, fill_seq) as n
    from wh.bt_fills where run_id = $run
),
p as (
    select coalesce(l.ticker, b.ticker) as ticker, coalesce(l.book_side, b.book_side) as book_side,
           coalesce(l.n, b.n) as n, l.ts as live_ts, b.ts as bt_ts, l.count as live_count, b.count as bt_count,
           l.price as live_price, b.price as bt_price, l.fee as live_fee, b.fee as bt_fee,
           case when l.ticker is null then 'backtest only'
                when b.ticker is null then 'live only'
                when abs(datediff('millisecond', l.ts, b.ts)) <= $tol_ms then 'matched'
                else 'apart' end as status
    from l full outer join b on l.ticker = b.ticker and l.book_side = b.book_side and l.n = b.n
)
select ticker, book_side, n, status, live_ts, bt_ts, live_count, bt_count, live_price, bt_price,
       case when status = 'matched' then (live_price - bt_price) * (case book_side when 'bid' then 1 else -1 end)
            end as slippage_per_contract,
       case when status = 'matched'
            then (live_price - bt_price) * (case book_side when 'bid' then 1 else -1 end) * least(live_count, bt_count)
            end as slippage_dollars,
       live_fee, bt_fee
from p
order by coalesce(live_ts, bt_ts), ticker, book_side, n
"""

_SIDE_SQL = """
select count(*) as fills, coalesce(sum(count_fp), 0) as contracts,
       sum(count_fp * yes_price_dollars) filter (where book_side = 'bid') as buy_notional,
       sum(count_fp) filter (where book_side = 'bid') as buy_contracts,
       sum(count_fp * yes_price_dollars) filter (where book_side = 'ask') as sell_notional,
       sum(count_fp) filter (where book_side = 'ask') as sell_contracts,
       coalesce(sum(fee_cost), 0) as fees, coalesce(sum(realized_pnl_dollars), 0) as realized_pnl,
       min(ts) as first_fill, max(ts) as last_fill
from {table} where {key} = $id
"""


@dataclass
class LiveReport:
    session: dict
    run: dict
    sides: dict[
        str, dict
    ]  # "live" / "backtest" → fills, contracts, vwaps, fees, realized, P&L, orders, window
    pairs: list[dict]
    counts: dict[str, int]  # status → pairs
    slippage_dollars: Decimal
    captions: list[str] = field(default_factory=list)


def _rows(con, sql: str, params: dict) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def live_vs_backtest(
    lake_root: str, warehouse: str | Path, session_id: str, run_id: str, *, tolerance_s: int = 60
) -> LiveReport:
    """Compare session ``session_id`` (the lake's ``live_*``) with backtest ``run_id`` (the warehouse's ``bt_*``);
    a one-line ConfigError when either is missing."""
    import duckdb

    if not Path(warehouse).exists():
        raise ConfigError(f"no warehouse at {warehouse}: run the backtest with --save first")
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        try:
            con.execute(f"attach '{str(warehouse).replace(chr(39), chr(39) * 2)}' as wh (read_only)")
        except duckdb.IOException as exc:
            raise ConfigError(f"cannot open the warehouse {warehouse} ({exc}); close other writers") from None
        for stream in ("live_sessions", "live_orders", "live_fills", "live_status"):
            found = stream_source(con, lake_root, stream)
            if found is None:
                raise ConfigError(
                    f"the lake at {lake_root} has no {stream}: no live or paper session ran there"
                )
            con.execute(f"create temp view {stream} as select * from {found[0]}")
        has_bt = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'wh' and table_name = 'bt_runs'"
        ).fetchone()[0]
        if not has_bt:
            raise ConfigError(f"the warehouse {warehouse} has no bt_runs: run `kalshi-lake backtest` first")
        sessions = _rows(
            con,
            'select * from live_sessions where session_id = $id order by "at"',
            {"id": session_id},
        )
        if not sessions:
            raise ConfigError(f"no session {session_id!r} in the lake (see live_sessions)")
        runs = _rows(con, "select * from wh.bt_runs where run_id = $id", {"id": run_id})
        if not runs:
            raise ConfigError(f"no backtest run {run_id!r} in the warehouse (see bt_runs)")
        run = runs[0]
        started = sessions[0]
        session = {
            "session_id": session_id,
            "strategy": started["strategy"],
            "mode": started["mode"],
            "params": started["params"],
            "events": [s["event"] for s in sessions],
        }
        pairs = _rows(
            con, _PAIRS_SQL, {"session": session_id, "run": run_id, "tol_ms": int(tolerance_s) * 1000}
        )
        live = _rows(con, _SIDE_SQL.format(table="live_fills", key="session_id"), {"id": session_id})[0]
        bt = _rows(con, _SIDE_SQL.format(table="wh.bt_fills", key="run_id"), {"id": run_id})[0]
        eq = _rows(
            con,
            'select min(ts) as start, max(ts) as end, arg_min(equity_dollars, "at") as first_equity, '
            'arg_max(equity_dollars, "at") as last_equity from live_status where session_id = $id',
            {"id": session_id},
        )[0]
        orders = _rows(
            con,
            "select count(distinct order_seq) filter (where event in ('accepted', 'refused', 'rejected')) "
            "as orders, count(*) filter (where event = 'refused') as refused, "
            "count(*) filter (where event = 'rejected') as rejected from live_orders where session_id = $id",
            {"id": session_id},
        )[0]
    finally:
        con.close()
    live.update(
        window_start=eq["start"],
        window_end=eq["end"],
        pnl=None if eq["first_equity"] is None else eq["last_equity"] - eq["first_equity"],
        orders=orders["orders"],
        refused=orders["refused"],
        rejected=orders["rejected"],
    )
    bt.update(
        window_start=run["window_start"],
        window_end=run["window_end"],
        pnl=run["pnl_dollars"],
        orders=run["n_orders"],
        refused=None,
        rejected=run["n_rejected"],
    )
    for side in (live, bt):  # VWAPs divided here, in Decimal (DuckDB divides DECIMALs through DOUBLE)
        for leg in ("buy", "sell"):
            notional, contracts = side.pop(f"{leg}_notional"), side.pop(f"{leg}_contracts")
            side[f"{leg}_vwap"] = (
                (Decimal(notional) / Decimal(contracts)).quantize(Decimal("0.000001")) if contracts else None
            )
    counts = {s: 0 for s in ("matched", "apart", "live only", "backtest only")}
    for p in pairs:
        counts[p["status"]] += 1
    slip = sum((p["slippage_dollars"] for p in pairs if p["slippage_dollars"] is not None), Decimal(0))
    captions = [
        c.format(tol=tolerance_s, paper=_PAPER if session["mode"] == "paper" else _LIVE) for c in CAPTIONS
    ]
    if session["strategy"] != run["strategy"]:
        captions.insert(
            0, f"WARNING: different strategies ({session['strategy']} live, {run['strategy']} backtest)"
        )
    elif _params(session["params"]) != _params(run["params_json"]):
        captions.insert(0, "WARNING: the strategy's parameters differ between the session and the backtest")
    return LiveReport(session, _run_view(run), {"live": live, "backtest": bt}, pairs, counts, slip, captions)


def _params(text: Any) -> dict:
    import json

    try:
        value = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _run_view(run: dict) -> dict:
    return {
        k: run[k] for k in ("run_id", "strategy", "params_json", "window_start", "window_end", "config_json")
    }
