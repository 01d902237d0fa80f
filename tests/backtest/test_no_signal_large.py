"""Issue #14's done-when on `demo --size large` (1M trades): a strategy with no information shows no edge, and
its spread-paying mirror loses. Judged with the event-clustered bootstrap interval, not the point estimate alone:
the no-signal P&L is a handful of fills whose settlements are coin flips (on this lake +$3.10 on 79 fills, 95%
interval about [-$2.9, +$9.1]), so "no money" means its interval reaches zero; the mirror's lies below it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kalshi_lake.backtest import BacktestConfig, run_backtest
from kalshi_lake.backtest.attribution import event_daily_pnl
from kalshi_lake.backtest.bootstrap import cluster_bootstrap
from kalshi_lake.backtest.data import load_replay_data
from tests.backtest.test_no_signal import NoSignal


@pytest.mark.slow
def test_no_signal_shows_no_edge_on_the_large_demo_lake(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALSHI_", "PREFECT_API_URL"))}
    env["KALSHI_LAKE_DIR"] = str(tmp_path / "data")
    demo = subprocess.run(
        [sys.executable, "-c", "from kalshi_lake.cli import main; main()", "demo", "--size", "large"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    data = load_replay_data(str(tmp_path / "data" / "lake"))

    def interval(strategy):
        result = run_backtest(strategy, data=data, config=BacktestConfig())
        return result, cluster_bootstrap(event_daily_pnl(result.state, data), n=1000, seed=7)

    free, free_boot = interval(NoSignal())
    assert free_boot.pnl_low <= 0, free_boot  # no evidence of an edge
    assert free.metrics.n_fills < free.metrics.n_orders // 1000  # it almost never finds the other side
    paying, paying_boot = interval(NoSignal(pay_spread=True))
    assert paying.metrics.n_fills > 1000
    assert paying_boot.pnl_high < 0, paying_boot  # it loses, beyond doubt
    assert paying.metrics.pnl < -paying.metrics.fees_paid, paying.metrics  # more than its fees: the spread
