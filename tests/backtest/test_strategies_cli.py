"""Built-in strategies, the file:Class loader, parameters, and the `kalshi-lake backtest` command."""

from __future__ import annotations

from decimal import Decimal as D

import duckdb
import pytest
from typer.testing import CliRunner

from kalshi_lake.backtest import (
    BacktestDataError,
    StrategyLoadError,
    StrategyParamError,
    load_strategy_class,
    make_strategy,
    run_backtest,
)
from kalshi_lake.backtest.strategies import LongshotFadeStrategy, ThresholdStrategy
from kalshi_lake.cli import app
from tests.backtest.lakegen import synthetic_lake

USER_STRATEGY = """
from decimal import Decimal
from kalshi_lake.backtest import OrderRequest, Strategy


class BuyFirst(Strategy):
    name = "buy_first"
    defaults = {"size": Decimal("2")}

    def on_start(self, ctx):
        self.done = set()

    def on_trade(self, ctx, trade):
        if trade.ticker not in self.done:
            self.done.add(trade.ticker)
            # handlers may return orders instead of calling ctx.buy
            return [OrderRequest(trade.ticker, "buy", self.params["size"], trade.yes_price_dollars,
                                 time_in_force="ioc")]


class NotAStrategy:
    pass
"""


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    synthetic_lake(d / "lake", n_markets=6, n_trades=1200, days=3)
    return d


def test_threshold_buys_under_and_sells_over(lake_dir):
    r = run_backtest(ThresholdStrategy(size="5", max_position="20"), lake_dir / "lake")
    assert r.metrics.n_fills > 0
    for f in r.state.fills:
        if f.book_side == "bid":
            assert f.yes_price < 400_000
        else:
            assert f.yes_price > 600_000
    assert all(abs(f.position_after) <= 2000 for f in r.state.fills)


def test_longshot_fade_enters_once_per_market_on_the_right_side(lake_dir):
    r = run_backtest(LongshotFadeStrategy(size="3"), lake_dir / "lake")
    tickers = [f.ticker for f in r.state.fills]
    assert tickers and len(tickers) == len(set(tickers))
    for f in r.state.fills:
        if f.outcome == "no":  # faded a longshot: sold YES cheap
            assert f.book_side == "ask" and f.yes_price <= 150_000
        else:  # backed a favourite
            assert f.book_side == "bid" and f.yes_price >= 850_000


def test_params_are_typed_and_checked():
    s = make_strategy("threshold", {"buy_below": "0.35", "size": "2"})
    assert s.params["buy_below"] == D("0.35") and isinstance(s.params["size"], D)
    assert make_strategy("longshot_fade", {"fade_longshots": "false"}).params["fade_longshots"] is False
    with pytest.raises(StrategyParamError, match="valid: buy_below, max_position, sell_above, size"):
        make_strategy("threshold", {"bogus": "1"})
    with pytest.raises(StrategyParamError, match="not a number"):
        make_strategy("threshold", {"size": "ten"})
    with pytest.raises(StrategyParamError, match="buy_below <= sell_above"):
        make_strategy("threshold", {"buy_below": "0.7"})
    with pytest.raises(StrategyLoadError, match="unknown strategy"):
        make_strategy("nope")


def test_strategy_from_a_file(tmp_path, lake_dir):
    path = tmp_path / "mine.py"
    path.write_text(USER_STRATEGY)
    cls = load_strategy_class(f"{path}:BuyFirst")
    r = run_backtest(cls(size="1"), lake_dir / "lake")
    assert r.strategy == "buy_first" and r.metrics.n_orders == 6
    with pytest.raises(StrategyLoadError, match="not a subclass"):
        load_strategy_class(f"{path}:NotAStrategy")
    with pytest.raises(StrategyLoadError, match="has no class"):
        load_strategy_class(f"{path}:Missing")
    with pytest.raises(StrategyLoadError, match="does not exist"):
        load_strategy_class(f"{tmp_path}/nope.py:X")


def test_selection_and_window(lake_dir):
    r = run_backtest(make_strategy("threshold"), lake_dir / "lake", series=["KXBTC"])
    assert {m.series_ticker for m in r.state.infos} == {"KXBTC"}
    with pytest.raises(BacktestDataError, match="no market matches"):
        run_backtest(make_strategy("threshold"), lake_dir / "lake", series=["NOPE"])
    with pytest.raises(BacktestDataError, match="window is empty"):
        run_backtest(
            make_strategy("threshold"), lake_dir / "lake", start="2026-11-05", end="2026-11-01T00:00"
        )
    one_day = run_backtest(
        make_strategy("threshold"), lake_dir / "lake", start="2026-11-02", end="2026-11-02"
    )
    ts = [f.ts for f in one_day.state.fills]
    assert all(1793577600000000 <= t < 1793664000000000 for t in ts)  # 2026-11-02 UTC


def test_cli_runs_writes_tables_and_plot(lake_dir):
    res = CliRunner().invoke(
        app,
        [
            "backtest",
            "threshold",
            "--lake-dir",
            str(lake_dir),
            "--series",
            "KXHIGHNY",
            "--param",
            "size=3",
            "--cash",
            "500",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "P&L after fees" in res.output
    con = duckdb.connect(str(lake_dir / "kalshi.duckdb"), read_only=True)
    run_id, params, plot, cash = con.execute(
        "select run_id, params_json, plot_path, initial_cash_dollars from bt_runs order by created_at desc limit 1"
    ).fetchone()
    assert '"size": "3"' in params and cash == D("500")
    assert open(plot, "rb").read(4) == b"\x89PNG"
    n_fills = con.execute("select count(*) from bt_fills where run_id = ?", [run_id]).fetchone()[0]
    n_eq = con.execute("select count(*) from bt_equity where run_id = ?", [run_id]).fetchone()[0]
    assert n_eq >= n_fills + 2
    con.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown strategy"),
        (["threshold", "--param", "size"], "key=value"),
        (["threshold", "--param", "colour=red"], "unknown parameter"),
        (["threshold", "--from", "yesterday"], "cannot read"),
        (["threshold", "--queue", "middle"], "queue"),
        (["threshold", "--cash", "lots"], "--cash"),
        (["threshold", "--cash", "nan"], "--cash must be a positive number"),
        (["threshold", "--from", "2099-01-01"], "nothing to replay"),
        (["threshold", "--plot", "/proc/no-such-dir/equity.png"], "cannot write the equity plot"),
        (["threshold", "--cash", "-5"], "--cash must be a positive number"),
        (["threshold", "--cash", "0"], "--cash must be a positive number"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, lake_dir, args, message):
    target = tmp_path / "d"
    (target).mkdir()
    (target / "lake").symlink_to(lake_dir / "lake")
    res = CliRunner().invoke(app, ["backtest", *args, "--lake-dir", str(target)])
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (target / "kalshi.duckdb").exists() and not (target / "backtests").exists()


def test_cli_reports_a_locked_warehouse_and_leaves_no_plot(tmp_path, lake_dir):
    import subprocess
    import sys

    target = tmp_path / "d"
    target.mkdir()
    (target / "lake").symlink_to(lake_dir / "lake")
    duckdb.connect(str(target / "kalshi.duckdb")).close()
    # another process holds the warehouse open for writing
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True);"
            " time.sleep(60)",
            str(target / "kalshi.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        res = CliRunner().invoke(app, ["backtest", "threshold", "--lake-dir", str(target)])
    finally:
        holder.kill()
        holder.wait()
    assert res.exit_code == 1
    assert "close other connections" in res.output and "Traceback" not in res.output
    assert not list((target / "backtests").glob("*.png"))


@pytest.mark.parametrize("cash", [D("NaN"), D("Infinity"), D("0"), 1000.0])
def test_config_refuses_cash_that_is_not_a_positive_finite_decimal(cash):
    from kalshi_lake.backtest import BacktestConfig, BacktestError

    with pytest.raises(BacktestError, match="initial_cash"):
        BacktestConfig(initial_cash=cash)


def test_cli_summary_fits_80_columns_with_exact_money(lake_dir, tmp_path):
    target = tmp_path / "d"
    target.mkdir()
    (target / "lake").symlink_to(lake_dir / "lake")
    res = CliRunner().invoke(
        app, ["backtest", "threshold", "--lake-dir", str(target), "--no-save"], env={"COLUMNS": "80"}
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in res.stdout, res.stdout
    r = run_backtest(ThresholdStrategy(), lake_dir / "lake")
    for m in sorted(r.markets, key=lambda m: abs(m.pnl), reverse=True)[:3]:
        row = next(line for line in lines if line.split() and line.split()[0] == m.ticker)  # tickers whole
        assert D(row.split()[-1].replace(",", "")) == m.pnl  # P&L exact, not rounded to 4 places
