"""The equity-curve PNG of a run (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

from kalshi_lake.backtest.events import us_to_datetime
from kalshi_lake.backtest.runner import BacktestResult


def plot_equity(result: BacktestResult, path: str | Path) -> Path:
    """Equity (top) and drawdown (bottom) over time; returns the written path.

    Uses a bare ``Figure`` (no pyplot), so it never changes the caller's matplotlib backend or figures.
    """
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pts = result.state.equity
    times = [us_to_datetime(ts) for ts, _c, _v in pts]
    # float only for drawing: the exact values are in bt_equity
    equity = [(c + v) / 1e8 for _ts, c, v in pts]
    peak, dd = float("-inf"), []
    for e in equity:
        peak = max(peak, e)
        dd.append(e - peak)
    fig = Figure(figsize=(10, 6))
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    ax1.step(times, equity, where="post", color="tab:blue")
    ax1.axhline(result.state.initial_cash / 1e8, color="grey", lw=0.8, ls="--")
    m = result.metrics
    ax1.set_title(
        f"{result.strategy} — {result.run_id}\nP&L ${m.pnl:.2f} after ${m.fees_paid:.2f} fees, "
        f"max drawdown ${m.max_drawdown:.2f}"
    )
    ax1.set_ylabel("equity ($)")
    ax2.fill_between(times, dd, 0, step="post", color="tab:red", alpha=0.4)
    ax2.set_ylabel("drawdown ($)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
