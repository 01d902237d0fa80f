"""Write a run into the warehouse: ``bt_runs`` (one row per run with its metrics), ``bt_fills``,
``bt_equity`` and ``bt_positions`` (per-market P&L). Each fill says where its price came from
(``price_source``) and how old that quote was (``quote_age_ms``); each run why orders got nothing
(``refusals_json``). Money columns are DECIMAL(22,8), prices DECIMAL(18,6),
counts DECIMAL(18,2). Tables are created if missing; a run is appended in one transaction, so a failed
write leaves nothing behind. The same SQL and notebooks read them back."""

from __future__ import annotations

from pathlib import Path

from kalshi_lake.backtest.errors import BacktestError
from kalshi_lake.backtest.runner import BacktestResult, to_json

BT_RUNS_DDL = """
create table if not exists bt_runs (
    run_id varchar primary key, created_at timestamptz, strategy varchar, params_json varchar,
    config_json varchar, selection_json varchar, window_start timestamptz, window_end timestamptz,
    initial_cash_dollars decimal(22,8), final_cash_dollars decimal(22,8), final_equity_dollars decimal(22,8),
    pnl_dollars decimal(22,8), fees_paid_dollars decimal(22,8), traded_notional_dollars decimal(22,8),
    return_on_capital double, max_drawdown_dollars decimal(22,8), max_drawdown_pct double, sharpe double,
    hit_rate double, turnover double, n_orders bigint, n_fills bigint, n_rejected bigint,
    n_markets_traded bigint, events bigint, seconds double, events_per_minute double, plot_path varchar,
    refusals_json varchar)"""
BT_FILLS_DDL = """
create table if not exists bt_fills (
    run_id varchar, fill_seq bigint, ts timestamptz, ticker varchar, order_id bigint, action varchar,
    outcome_side varchar, book_side varchar, count_fp decimal(18,2), yes_price_dollars decimal(18,6),
    no_price_dollars decimal(18,6), is_taker boolean, fee_cost decimal(22,8), realized_pnl_dollars decimal(22,8),
    position_fp decimal(18,2), cash_dollars decimal(22,8), price_source varchar, quote_age_ms decimal(18,3),
    fee_terms varchar)"""
BT_EQUITY_DDL = """
create table if not exists bt_equity (
    run_id varchar, seq bigint, ts timestamptz, cash_dollars decimal(22,8),
    positions_value_dollars decimal(22,8), equity_dollars decimal(22,8))"""
BT_POSITIONS_DDL = """
create table if not exists bt_positions (
    run_id varchar, ticker varchar, position_fp decimal(18,2), mark_dollars decimal(18,6),
    realized_pnl_dollars decimal(22,8), unrealized_pnl_dollars decimal(22,8), fees_paid_dollars decimal(22,8),
    pnl_dollars decimal(22,8), traded_dollars decimal(22,8), fills bigint, settled boolean,
    settlement_value_dollars decimal(18,6))"""


# columns added since the tables were first written: a warehouse made by an older version gains them
ADDED_COLUMNS = (
    ("bt_runs", "refusals_json", "varchar"),
    ("bt_fills", "price_source", "varchar"),
    ("bt_fills", "quote_age_ms", "decimal(18,3)"),
    ("bt_fills", "fee_terms", "varchar"),
)


def ensure_tables(con) -> None:
    for ddl in (BT_RUNS_DDL, BT_FILLS_DDL, BT_EQUITY_DDL, BT_POSITIONS_DDL):
        con.execute(ddl)
    for table, column, sql_type in ADDED_COLUMNS:
        con.execute(f"alter table {table} add column if not exists {column} {sql_type}")


def connect_for_writing(db_path: str | Path):
    """The warehouse at ``db_path`` (created if missing) open for writing, in UTC; a clear BacktestError when
    another process holds it."""
    import duckdb

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path))
    except duckdb.IOException as exc:
        raise BacktestError(
            f"cannot open the warehouse {db_path} for writing ({exc}); close other connections to it "
            "(notebooks, `kalshi-lake sql`) and run again, or pass --no-save"
        ) from None
    con.execute("set TimeZone = 'UTC'")
    return con


def write_results(result: BacktestResult, db_path: str | Path, plot_path: str | Path | None = None) -> None:
    """Append one run to the warehouse at ``db_path`` (created if missing)."""
    import duckdb

    m = result.metrics
    con = connect_for_writing(db_path)
    try:
        ensure_tables(con)
        con.execute("begin")
        con.execute(
            "insert into bt_runs (run_id, created_at, strategy, params_json, config_json, selection_json, "
            "window_start, window_end, initial_cash_dollars, final_cash_dollars, final_equity_dollars, "
            "pnl_dollars, fees_paid_dollars, traded_notional_dollars, return_on_capital, max_drawdown_dollars, "
            "max_drawdown_pct, sharpe, hit_rate, turnover, n_orders, n_fills, n_rejected, n_markets_traded, "
            "events, seconds, events_per_minute, plot_path, refusals_json) "
            "values (?, ?, ?, ?, ?, ?, make_timestamptz(?), make_timestamptz(?), "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                result.run_id,
                result.created_at,
                result.strategy,
                to_json(result.params),
                to_json(result.config.as_dict()),
                to_json(result.selection),
                result.state.start_us,
                result.state.end_us,
                m.initial_cash,
                m.final_cash,
                m.final_equity,
                m.pnl,
                m.fees_paid,
                m.traded_notional,
                m.return_on_capital,
                m.max_drawdown,
                m.max_drawdown_pct,
                m.sharpe,
                m.hit_rate,
                m.turnover,
                m.n_orders,
                m.n_fills,
                m.n_rejected,
                m.n_markets_traded,
                m.events,
                m.seconds,
                m.events_per_minute if m.seconds > 0 else None,
                str(plot_path) if plot_path else None,
                to_json(m.refusals or {}),
            ],
        )
        for name, table in (
            ("bt_fills", result.fills_table()),
            ("bt_equity", result.equity_table()),
            ("bt_positions", result.positions_table()),
        ):
            con.register("_bt_new", table)
            con.execute(f"insert into {name} by name select * from _bt_new")
            con.unregister("_bt_new")
        con.execute("commit")
    except Exception:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()
