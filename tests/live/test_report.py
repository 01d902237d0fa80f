"""The live-vs-backtest report end to end: a paper session of a built-in strategy on the local exchange while the
exchange trades; the same window pulled into the lake (markets, fees, trades); a backtest of the same strategy and
parameters over it, saved; ``kalshi-lake run --report SESSION --backtest RUN_ID`` pairs every fill of both."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from kalshi_extract.ingest.plan import plan_pull
from kalshi_extract.ingest.run import run_pull
from kalshi_extract.settings import Settings
from kalshi_lake.backtest import BacktestConfig, make_strategy, run_backtest, write_results
from kalshi_lake.cli import app
from kalshi_lake.live import RunOptions
from kalshi_lake.live.report import live_vs_backtest

PARAMS = {"size": "2", "buy_below": "0.45", "sell_above": "0.55"}


@pytest.mark.slow
def test_paper_session_vs_backtest_of_the_same_window(ex, make_runner, tmp_path, monkeypatch):
    acct = ex.create_account(1_000_000)
    runner = make_runner(
        make_strategy("threshold", PARAMS),
        "paper",
        account=acct,
        options=RunOptions(mode="paper", status_s=0),
    )
    runner.start()
    for _ in range(12):  # two simulated hours of trading
        ex.advance(600)
        runner.pump(0.3)
    summary = runner.stop()
    assert summary["fills"] > 0, "the session never filled: the test proves nothing"
    seqs = [r["fill_seq"] for r in runner.lake.read("live_fills").to_pylist()]
    assert sorted(seqs) == list(range(1, summary["fills"] + 1))  # each fill landed once
    settings = Settings.load({**acct.env, "KALSHI_LAKE_DIR": str(tmp_path)})
    assert run_pull(settings, plan_pull(settings, ["series", "events", "markets", "trades"])).ok
    status = runner.lake.read("live_status").to_pylist()
    start = min(r["ts"] for r in status)
    end = max(r["ts"] for r in status)
    result = run_backtest(
        make_strategy("threshold", PARAMS),
        settings.lake_root,
        series=["KXBTC"],
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        config=BacktestConfig(initial_cash=Decimal(1000), max_position=Decimal(4)),
    )
    assert result.metrics.n_fills, "the backtest never filled: the comparison proves nothing"
    write_results(result, settings.warehouse_path)

    rep = live_vs_backtest(settings.lake_root, settings.warehouse_path, runner.session_id, result.run_id)
    live, bt = rep.sides["live"], rep.sides["backtest"]
    assert live["fills"] == summary["fills"] and bt["fills"] == result.metrics.n_fills
    c = rep.counts
    # every fill of each side is in exactly one pair
    assert c["matched"] + c["apart"] + c["live only"] == live["fills"]
    assert c["matched"] + c["apart"] + c["backtest only"] == bt["fills"]
    assert c["matched"] > 0  # the same strategy over the same trades fills alike at least sometimes
    matched = [p for p in rep.pairs if p["status"] == "matched"]
    for p in matched:
        sign = 1 if p["book_side"] == "bid" else -1
        assert p["slippage_dollars"] == (p["live_price"] - p["bt_price"]) * sign * min(
            p["live_count"], p["bt_count"]
        )
    assert rep.slippage_dollars == sum((p["slippage_dollars"] for p in matched), Decimal(0))
    assert any("PAPER" in cap for cap in rep.captions)
    assert isinstance(bt["pnl"], Decimal) and isinstance(live["pnl"], Decimal)

    for k, v in {**acct.env, "KALSHI_LAKE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("KALSHI_ACCOUNT", raising=False)
    res = CliRunner().invoke(
        app, ["run", "--report", runner.session_id, "--backtest", result.run_id], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    assert f"{c['matched']} matched" in res.output and "backtest only" in res.output
    assert "positive = live worse" in res.output and "PAPER" in res.output
    bad = CliRunner().invoke(app, ["run", "--report", "live-nope", "--backtest", result.run_id])
    assert bad.exit_code != 0 and "no session 'live-nope'" in bad.output
    half = CliRunner().invoke(app, ["run", "--report", runner.session_id])
    assert half.exit_code != 0 and "go together" in half.output
