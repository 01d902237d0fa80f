"""The backtester on a real demo lake: its fee model agrees with the local exchange's charged fees, and a CLI run
writes the result tables and the plot."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from kalshi_lake.backtest import load_replay_data
from kalshi_lake.backtest.money import contracts_to_centi, dollars_to_micros
from kalshi_lake.cli import app


@pytest.mark.slow
def test_fee_model_reproduces_the_exchange_fee_cost_of_every_fill(demo_lake):
    con = duckdb.connect()
    fills = con.execute(
        f"select ticker, cast(count_fp as varchar), cast(yes_price_dollars as varchar), is_taker,"
        f" cast(fee_cost as varchar), epoch_us(created_time)"
        f" from read_parquet('{demo_lake}/lake/fills/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    if not fills:
        pytest.skip("this lake has no account fills")
    data = load_replay_data(str(demo_lake / "lake"), include_books=False, include_candles=False)
    fees = dict(zip([m.ticker for m in data.markets], data.fees, strict=True))
    for ticker, count, price, is_taker, fee_cost, ts in fills:
        ours = fees[ticker].fee_units(contracts_to_centi(count), dollars_to_micros(price), is_taker, ts)
        assert ours == dollars_to_micros(fee_cost) * 100, (ticker, count, price, is_taker, fee_cost)


@pytest.mark.slow
def test_cli_backtest_on_the_demo_lake(demo_lake):
    res = CliRunner().invoke(app, ["backtest", "longshot_fade", "--lake-dir", str(demo_lake), "-p", "size=2"])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(str(demo_lake / "kalshi.duckdb"), read_only=True)
    run_id, fills, plot = con.execute(
        "select run_id, n_fills, plot_path from bt_runs where strategy = 'longshot_fade' order by created_at desc"
    ).fetchall()[0]
    assert fills > 0 and plot.endswith(f"{run_id}.png")
    assert con.execute("select count(*) from bt_fills where run_id = ?", [run_id]).fetchall()[0][0] == fills
    con.close()
