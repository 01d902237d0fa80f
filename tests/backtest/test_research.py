"""The research protocol: clustered bootstrap, Brier decomposition, daily attribution, walk-forward without
look-ahead, fee sensitivity, the tables and the CLI."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from fractions import Fraction

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from kalshi_lake.backtest import BacktestConfig, Strategy, load_replay_data, make_strategy, run_backtest
from kalshi_lake.backtest.attribution import DailyPnl, event_daily_pnl
from kalshi_lake.backtest.bootstrap import cluster_bootstrap, percentile_bounds, sharpe_rows
from kalshi_lake.backtest.metrics import _sharpe
from kalshi_lake.backtest.research import expand_grid, run_research, time_folds
from kalshi_lake.backtest.scoring import Forecast, Forecaster, decompose, score_forecasts
from kalshi_lake.backtest.trials import Selection, Trial, run_trial, run_trials
from kalshi_lake.cli import app
from tests.backtest.lakegen import market, synthetic_lake, trade, write_stream

U = 100_000_000  # money units per dollar


# -- bootstrap ---------------------------------------------------------------------------------------------------
def test_bootstrap_resamples_whole_events_never_single_markets():
    """Event A = markets a1 (+$4) and a2 (+$6), event B = one market (−$2). Resampling 2 events can only give
    2A = 20, A+B = 8 or 2B = −4 (with probabilities 1/4, 1/2, 1/4); resampling markets would give 12, 10, 2 ..."""
    daily = DailyPnl([1], ["A", "B"], [[10 * U], [-2 * U]], 1000 * U)
    b = cluster_bootstrap(daily, n=4000, seed=3)
    freq = Counter(b.pnl_samples)
    assert set(freq) == {20 * U, 8 * U, -4 * U}
    assert freq[20 * U] / 4000 == pytest.approx(0.25, abs=0.03)
    assert freq[8 * U] / 4000 == pytest.approx(0.5, abs=0.03)
    assert b.pnl == D(8) and b.n_clusters == 2
    assert b.pnl_low == D(-4) and b.pnl_high == D(20)
    assert "events resampled" in b.method and "default_rng(3)" in b.method
    assert b.p_loss == pytest.approx(0.25, abs=0.03)


def test_bootstrap_is_deterministic_by_seed_and_bounds_are_order_statistics():
    daily = DailyPnl([1, 2, 3], list("ABCDE"), [[k * U, -k * U // 2, k] for k in range(5)], 1000 * U)
    a, b = cluster_bootstrap(daily, 200, seed=11), cluster_bootstrap(daily, 200, seed=11)
    assert a.pnl_samples == b.pnl_samples and a.sharpe_samples == b.sharpe_samples
    assert cluster_bootstrap(daily, 200, seed=12).pnl_samples != a.pnl_samples
    lo, hi = percentile_bounds(200, 0.95)
    assert (lo, hi) == (5, 194)
    assert a.pnl_low * U == a.pnl_samples[5] and a.pnl_high * U == a.pnl_samples[194]


def test_vectorised_sharpe_equals_the_metrics_definition():
    rng = np.random.default_rng(0)
    daily = rng.integers(-50 * U, 60 * U, size=(5, 9))
    got = sharpe_rows(1000 * U, daily)
    for row, s in zip(daily, got, strict=True):
        curve = list(zip(range(9), (1000 * U + np.cumsum(row)).tolist(), strict=True))
        assert s == pytest.approx(_sharpe(1000 * U, curve), rel=1e-9)


# -- forecast scoring ----------------------------------------------------------------------------------------------
def test_brier_decomposition_identity_for_binned_forecasts_by_hand():
    """Bins: p=0.2 on 4 markets (1 YES), p=0.8 on 4 (3 YES). ō = 1/2.
    Brier = [3·0.04 + 0.64 + 0.64 + 3·0.04]/8 = 1.52/8 = 0.19; REL = (4·0.05² + 4·0.05²)/8 = 0.0025;
    RES = (4·0.25² + 4·0.25²)/8 = 0.0625; UNC = 0.25;  REL − RES + UNC = 0.19."""
    pairs = [(Fraction(1, 5), o) for o in (1, 0, 0, 0)] + [(Fraction(4, 5), o) for o in (1, 1, 1, 0)]
    e, bins = decompose(pairs, bins=10)
    assert e.brier == Fraction(19, 100)
    assert e.reliability == Fraction(1, 400) and e.resolution == Fraction(1, 16)
    assert e.uncertainty == Fraction(1, 4)
    assert e.within_variance == 0 and e.within_covariance == 0
    assert e.reliability - e.resolution + e.uncertainty == e.brier
    assert [(b.n, b.frequency) for b in bins] == [(4, 0.25), (4, 0.75)]


def test_brier_identity_holds_with_spread_within_bins():
    rng = np.random.default_rng(5)
    pairs = [(Fraction(int(rng.integers(0, 101)), 100), int(rng.integers(0, 2))) for _ in range(60)]
    e, _ = decompose(pairs, bins=5)
    assert e.within_variance > 0
    assert (
        e.brier == e.reliability - e.resolution + e.uncertainty + e.within_variance + 2 * e.within_covariance
    )


def test_score_uses_each_markets_last_forecast_and_log_loss():
    fs = [
        Forecast(1, "A", D("0.9")),
        Forecast(2, "A", D("0.6")),
        Forecast(1, "B", D("0.3")),
        Forecast(1, "C", D(1)),
    ]
    s = score_forecasts(fs, {"A": 1, "B": 0})  # C never settled 0/1
    assert s.n == 2 and s.n_unscored == 1
    assert s.brier == pytest.approx((0.4**2 + 0.3**2) / 2)
    assert s.log_loss == pytest.approx(-(np.log(0.6) + np.log(0.7)) / 2)


def test_forecaster_refuses_floats_and_out_of_range():
    f = Forecaster()

    class Ctx:
        now = 5

    f.forecast(Ctx, "X", "0.25")
    assert f.forecasts == [Forecast(5, "X", D("0.25"))]
    with pytest.raises(TypeError):
        f.forecast(Ctx, "X", 0.25)
    with pytest.raises(ValueError):
        f.forecast(Ctx, "X", "1.5")


# -- attribution and trials ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    d = tmp_path_factory.mktemp("research")
    synthetic_lake(d / "lake", n_markets=9, n_trades=2400, days=6)
    return d


@pytest.mark.parametrize("name", ["threshold", "longshot_fade"])
def test_event_daily_pnl_adds_up_to_the_engines_equity(lake, name):
    data = load_replay_data(str(lake / "lake"), include_candles=True)
    r = run_backtest(make_strategy(name), data=data)
    assert r.metrics.n_fills > 0
    daily = event_daily_pnl(r.state, data)
    cum = list(itertools.accumulate(daily.total()))
    assert cum == [eq - r.state.initial_cash for _ts, eq in r.state.daily]


def test_fee_scale_changes_only_fees(lake):
    sel = Selection(str(lake / "lake"))
    runs = {k: run_trial(Trial("threshold", (), BacktestConfig(), None, None, D(k)), sel) for k in (0, 1, 2)}
    assert runs[0].metrics.fees_paid == 0 and runs[2].metrics.fees_paid > runs[1].metrics.fees_paid > 0
    assert runs[0].metrics.n_fills == runs[1].metrics.n_fills
    assert runs[0].metrics.pnl - runs[1].metrics.pnl == runs[1].metrics.fees_paid


def test_pool_and_sequential_runs_agree(lake):
    sel = Selection(str(lake / "lake"))
    trials = [
        Trial("threshold", tuple(sorted(p.items())), BacktestConfig(), None, None, index=i)
        for i, p in enumerate(expand_grid({"buy_below": ["0.3", "0.4"], "size": ["2", "5"]}))
    ]
    seq, pool = run_trials(trials, sel, workers=1), run_trials(trials, sel, workers=2)
    assert [r.metrics.pnl for r in seq] == [r.metrics.pnl for r in pool]
    assert [r.trial.index for r in pool] == [0, 1, 2, 3]


def test_time_folds_anchored_and_rolling():
    a = time_folds(0, 400, 3)
    assert [(f.train_start, f.train_end, f.test_start, f.test_end) for f in a] == [
        (0, 100, 100, 200),
        (0, 200, 200, 300),
        (0, 300, 300, 400),
    ]
    r = time_folds(0, 400, 3, anchored=False)
    assert [(f.train_start, f.train_end) for f in r] == [(0, 100), (100, 200), (200, 300)]


# -- walk-forward: train data only ---------------------------------------------------------------------------------
T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Follow(Strategy):
    """Buys YES after a print at `price` (taker bought, so the print is an ask we may take)."""

    name = "follow"
    defaults = {"price": D("0.30")}

    def on_trade(self, ctx, trade):
        if trade.yes_price_dollars == self.params["price"] and trade.taker_side == 1:
            ctx.buy(trade.ticker, 1, trade.yes_price_dollars, time_in_force="ioc")


def _split_lake(root, test_winner: str):
    """Days 0–1 (train): buying at 0.30 wins (market settles YES), at 0.70 loses. Days 2–3 (test): the
    market bought at ``test_winner`` settles YES, the other NO."""
    markets, trades = [], []
    for day, (p, wins) in enumerate(
        [("0.30", True), ("0.70", False), ("0.30", test_winner == "0.30"), ("0.70", test_winner == "0.70")]
    ):
        t = f"EV{day}-M"
        close = T0 + timedelta(days=day, hours=20)
        markets.append(
            market(
                t,
                f"EV{day}",
                close=close,
                result="yes" if wins else "no",
                settle=close + timedelta(hours=1),
                open_=T0,
            )
        )
        trades.append(trade(t, T0 + timedelta(days=day, hours=10), D(p), 5, taker="bid"))
        trades.append(trade(t, T0 + timedelta(days=day, hours=10, seconds=1), D(p), 5, taker="bid"))
    write_stream(root, "markets", markets)
    write_stream(root, "trades", trades)


@pytest.mark.parametrize("test_winner", ["0.30", "0.70"])
def test_walk_forward_chooses_on_train_only_and_reports_test(tmp_path, test_winner):
    root = tmp_path / "lake"
    _split_lake(root, test_winner)
    r = run_research(
        Follow,
        str(root),
        grid={"price": ["0.70", "0.30"]},
        start="2026-11-01",
        end="2026-11-04",
        folds=1,
        n_boot=50,
        seed=1,
        fee_scales=(D(1),),
        latencies=(0,),
        workers=1,
    )
    (fold,) = r.folds
    assert fold.train_end == fold.test_start == int(datetime(2026, 11, 3, tzinfo=UTC).timestamp()) * 1_000_000
    # whatever the test window holds, the choice is the train window's winner
    assert r.chosen == [{"price": "0.30"}]
    assert all(t.trial.end_us <= fold.train_end for t in r.train)
    (test,) = r.tests
    assert test.trial.start_us == fold.test_start
    # the honest number is the test run's: it wins only when the test window agrees with the train window
    assert (test.metrics.pnl > 0) == (test_winner == "0.30")
    assert r.bootstrap.pnl == test.metrics.pnl


# -- tables and CLI ------------------------------------------------------------------------------------------------
def test_cli_research_writes_tables_report_and_prints_the_interval(lake, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "lake").symlink_to(lake / "lake")
    res = CliRunner().invoke(
        app,
        [
            "backtest",
            "research",
            "threshold",
            "--grid",
            "buy_below=0.30,0.40",
            "--walk-forward",
            "2",
            "--bootstrap",
            "200",
            "--seed",
            "4",
            "--latencies",
            "0,500",
            "--workers",
            "1",
            "--lake-dir",
            str(target),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "walk-forward test P&L" in res.output and "[" in res.output and "95%" in res.output
    assert "default_rng(4)" in res.output
    con = duckdb.connect(str(target / "kalshi.duckdb"), read_only=True)
    row = con.execute(
        "select folds, bootstrap_seed, pnl_low_dollars <= pnl_dollars, pnl_dollars <= "
        "pnl_high_dollars, report_path from bt_research"
    ).fetchone()
    assert row[:4] == (2, 4, True, True)
    stages = dict(con.execute("select stage, count(*) from bt_trials group by stage").fetchall())
    assert stages == {"train": 4, "test": 2, "sensitivity": 8}  # (0×, 1×, 2× fees + 500 ms) × 2 folds
    assert con.execute("select count(*) from bt_trials where stage = 'train' and chosen").fetchone() == (2,)
    con.close()
    assert (target / "backtests").is_dir() and row[4].endswith(".png")


def test_cli_old_form_still_runs(lake, tmp_path):
    res = CliRunner().invoke(app, ["backtest", "threshold", "--lake-dir", str(lake), "--no-save"])
    assert res.exit_code == 0, res.output
    assert "P&L after fees" in res.output


def test_cli_bad_grid_is_one_line(lake):
    res = CliRunner().invoke(
        app, ["backtest", "research", "threshold", "--grid", "nonsense", "--lake-dir", str(lake), "--no-save"]
    )
    assert res.exit_code == 1 and "--grid expects" in res.output


@pytest.mark.slow
def test_sweep_walk_forward_bootstrap_on_the_demo_lake_in_minutes(demo_lake):
    import time

    t = time.perf_counter()
    r = run_research(
        "threshold",
        str(demo_lake / "lake"),
        grid={"buy_below": ["0.30", "0.40"], "sell_above": ["0.60", "0.70"]},
        folds=3,
        n_boot=1000,
        seed=7,
    )
    assert time.perf_counter() - t < 180
    b = r.bootstrap
    assert b.pnl_low <= b.pnl <= b.pnl_high and b.pnl_low < b.pnl_high
    assert b.pnl == sum(t.metrics.pnl for t in r.tests)
    assert b.n_clusters > 1 and len(r.train) == 12
    zero, one, two = r.sensitivity[:3]
    # fee multiplier 0 leaves only what Kalshi's fee rounding costs: each fill's rounding fee, under $0.0001 for a
    # direct member (with no trade fee nothing is rebated); it was exactly 0 before fee rounding was modelled
    assert 0 < zero.fees_paid < D("0.0001") * zero.n_fills and two.fees_paid > one.fees_paid > 0
