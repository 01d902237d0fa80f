"""Write a research run into the warehouse, next to ``bt_runs`` (same conventions as ``results.py``):

* ``bt_research`` — one row per research run: what was tried (strategy, grid, folds, objective), the honest
  number (walk-forward test P&L and Sharpe with their bootstrap interval, the method and seed that made it),
  the forecast score if any, the report path.
* ``bt_trials`` — one row per trial: stage (``sweep``/``train``/``test``/``sensitivity``), fold, params, fee
  scale, latency, window, whether it was chosen, its P&L, fees, Sharpe, drawdown and counts.
* ``bt_forecast_bins`` — the reliability diagram of a forecasting strategy (one row per bin).

Money is DECIMAL(22,8); a run is appended in one transaction, so a failed write leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

from kalshi_lake.backtest.research import ResearchResult
from kalshi_lake.backtest.results import connect_for_writing
from kalshi_lake.backtest.runner import to_json

BT_RESEARCH_DDL = """
create table if not exists bt_research (
    research_id varchar primary key, created_at timestamptz, strategy varchar, grid_json varchar,
    params_json varchar, config_json varchar, selection_json varchar, window_start timestamptz,
    window_end timestamptz, folds bigint, anchored boolean, objective varchar, in_sample boolean,
    chosen_json varchar, n_trials bigint, bootstrap_method varchar, bootstrap_seed bigint,
    bootstrap_resamples bigint, confidence double, n_events bigint, pnl_dollars decimal(22,8),
    pnl_low_dollars decimal(22,8), pnl_high_dollars decimal(22,8), p_loss double, sharpe double,
    sharpe_low double, sharpe_high double, n_forecasts bigint, brier double, reliability double,
    resolution double, uncertainty double, log_loss double, sensitivity_json varchar, report_path varchar,
    seconds double)"""
BT_TRIALS_DDL = """
create table if not exists bt_trials (
    research_id varchar, stage varchar, fold bigint, trial bigint, params_json varchar, fee_scale decimal(18,4),
    latency_ms bigint, window_start timestamptz, window_end timestamptz, chosen boolean,
    pnl_dollars decimal(22,8), fees_paid_dollars decimal(22,8), sharpe double,
    max_drawdown_dollars decimal(22,8), n_orders bigint, n_fills bigint, events bigint)"""
BT_FORECAST_BINS_DDL = """
create table if not exists bt_forecast_bins (
    research_id varchar, bin_low double, bin_high double, n bigint, mean_forecast double, frequency double)"""


def trial_rows(r: ResearchResult) -> list[list]:
    chosen = {(f.index, tuple(sorted(p.items()))) for f, p in zip(r.folds, r.chosen, strict=True)}
    rows = []
    for t in [*r.train, *([] if r.in_sample else r.tests), *r.sensitivity_trials]:
        tr, m = t.trial, t.metrics
        is_chosen = tr.stage == "test" or (tr.stage in ("sweep", "train") and (tr.fold, tr.params) in chosen)
        rows.append(
            [
                r.research_id,
                tr.stage,
                tr.fold,
                tr.index,
                to_json(dict(tr.params)),
                tr.fee_scale,
                tr.config.latency_ms,
                tr.start_us,
                tr.end_us,
                is_chosen,
                m.pnl,
                m.fees_paid,
                m.sharpe,
                m.max_drawdown,
                m.n_orders,
                m.n_fills,
                m.events,
            ]
        )
    return rows


def write_research(r: ResearchResult, db_path: str | Path) -> None:
    """Append one research run to the warehouse at ``db_path`` (created if missing)."""
    import duckdb

    b, f = r.bootstrap, r.forecast
    con = connect_for_writing(db_path)
    try:
        for ddl in (BT_RESEARCH_DDL, BT_TRIALS_DDL, BT_FORECAST_BINS_DDL):
            con.execute(ddl)
        con.execute("begin")
        values = [
            r.research_id,
            r.created_at,
            r.strategy,
            to_json(r.grid),
            to_json(r.base_params),
            to_json(r.config.as_dict()),
            to_json(r.selection.as_dict()),
            r.window[0],
            r.window[1],
            0 if r.in_sample else len(r.folds),
            r.anchored,
            r.objective,
            r.in_sample,
            to_json(r.chosen),
            len(r.train) + len(r.tests) + len(r.sensitivity_trials),
            b.method,
            b.seed,
            b.n_resamples,
            b.confidence,
            b.n_clusters,
            b.pnl,
            b.pnl_low,
            b.pnl_high,
            b.p_loss,
            b.sharpe,
            b.sharpe_low,
            b.sharpe_high,
            f.n if f else 0,
            f.brier if f else None,
            f.reliability if f else None,
            f.resolution if f else None,
            f.uncertainty if f else None,
            f.log_loss if f else None,
            to_json([v.__dict__ for v in r.sensitivity]),
            r.report_path,
            r.seconds,
        ]
        marks = ", ".join("make_timestamptz(?)" if i in (7, 8) else "?" for i in range(len(values)))
        con.execute(f"insert into bt_research values ({marks})", values)
        trial_marks = ", ".join("make_timestamptz(?)" if i in (7, 8) else "?" for i in range(17))
        rows = trial_rows(r)
        if rows:
            con.executemany(f"insert into bt_trials values ({trial_marks})", rows)
        if f:
            con.executemany(
                "insert into bt_forecast_bins values (?, ?, ?, ?, ?, ?)",
                [[r.research_id, x.low, x.high, x.n, x.mean_forecast, x.frequency] for x in f.bins],
            )
        con.execute("commit")
    except Exception:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()
