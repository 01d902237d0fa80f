"""The one-page PNG of a research run (matplotlib, headless, no pyplot):

1. the train objective of every grid point per fold (what the choice saw);
2. the walk-forward test P&L, day by day, chained over the folds (the honest curve);
3. the bootstrap distribution of that P&L, its point and interval (the method in the caption);
4. fee and latency sensitivity of the test P&L;
5. the reliability diagram, if the strategy stated probabilities.
"""

from __future__ import annotations

from itertools import accumulate
from pathlib import Path

from kalshi_lake.backtest.bootstrap import concat_daily
from kalshi_lake.backtest.events import us_to_datetime
from kalshi_lake.backtest.research import ResearchResult, objective_value


def plot_research(r: ResearchResult, path: str | Path) -> Path:
    """Write the report PNG; returns its path. Floats only for drawing: exact values are in the bt_* tables."""
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(13, 9))
    axes = fig.subplots(2, 3).ravel()
    b = r.bootstrap

    ax = axes[0]
    for fold in r.folds:
        vals = [objective_value(t, r.objective) for t in r.train if t.trial.fold == fold.index]
        ax.plot(range(len(vals)), vals, marker="o", label=f"fold {fold.index}")
    ax.set_title(f"train {r.objective} per grid point")
    ax.set_xlabel("grid point")
    ax.legend(fontsize=7)

    ax = axes[1]
    daily = concat_daily([t.daily for t in r.tests])
    cum = [x / 1e8 for x in accumulate(daily.total())]
    ax.step([us_to_datetime(t) for t in daily.cutoffs], cum, where="post")
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_title("in-sample P&L (optimistic)" if r.in_sample else "walk-forward test P&L ($)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)

    ax = axes[2]
    ax.hist([x / 1e8 for x in b.pnl_samples], bins=40, color="tab:blue", alpha=0.7)
    for v, style in ((b.pnl, "-"), (b.pnl_low, "--"), (b.pnl_high, "--")):
        ax.axvline(float(v), color="black", ls=style, lw=1)
    ax.set_title(f"P&L ${b.pnl:.2f} [{b.pnl_low:.2f}, {b.pnl_high:.2f}] ({b.confidence:.0%})", fontsize=9)
    ax.set_xlabel(f"bootstrap: {b.n_resamples} resamples of {b.n_clusters} events, seed {b.seed}", fontsize=7)

    ax = axes[3]
    labels = [f"fee {v.fee_scale}x\n{v.latency_ms}ms" for v in r.sensitivity]
    ax.bar(range(len(labels)), [float(v.pnl) for v in r.sensitivity], color="tab:orange")
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title("test P&L by fee scale and order latency")

    ax = axes[4]
    f = r.forecast
    if f is not None:
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
        ax.plot([x.mean_forecast for x in f.bins], [x.frequency for x in f.bins], marker="o")
        ax.set_title(f"reliability: Brier {f.brier:.4f}, log loss {f.log_loss:.3f} (n={f.n})", fontsize=9)
        ax.set_xlabel("forecast")
        ax.set_ylabel("observed frequency")
    else:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no forecasts stated", ha="center", va="center")

    ax = axes[5]
    ax.set_axis_off()
    chosen = "\n".join(f"fold {i}: {p}" for i, p in enumerate(r.chosen))
    ax.text(
        0,
        1,
        f"chosen by train {r.objective}:\n{chosen}\n\n" + "\n".join(r.notes),
        va="top",
        fontsize=7,
        wrap=True,
    )
    fig.suptitle(f"research {r.strategy} — {r.research_id}\n{b.method}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path
