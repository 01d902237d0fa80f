# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Backtest: what a strategy made after fees, with intervals, and what it would make out of sample
#
# **What this shows:** the P&L after fees of two built-in strategies replayed over the lake under a stated fill
# model (no fresh quote, no fill), each with a 95 % bootstrap interval clustered by event, and a walk-forward test in
# which parameters are chosen on past data only and scored on the data after it. **What it does not show:** that
# any of these numbers would repeat live — the fill model cannot know the queue or hidden liquidity, the lake is
# small, and an interval that covers \$0 is no evidence of an edge.
#
# Kalshi's mechanics are replayed: taker/maker fees per series (0.07 · C · P · (1 − P) for a taker, rounded up to
# \$0.0001 per fill), the tick grid, settlement at \$1/\$0 (or the scalar value). Results land in the warehouse
# tables `bt_runs`, `bt_fills`, `bt_equity`, `bt_positions` (single runs) and `bt_research`, `bt_trials`
# (the walk-forward). The same from the shell: `kalshi-lake backtest threshold --param size=10` and
# `kalshi-lake backtest research threshold --grid buy_below=0.30,0.40 --walk-forward 3 --bootstrap 1000`.
# Writing needs the warehouse file unlocked: close other notebooks' connections first.

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)
STRATEGY = "threshold"  # or "longshot_fade", or "path/to/file.py:ClassName"
PARAMS = {"buy_below": "0.40", "sell_above": "0.60", "size": "10"}
SERIES = None  # e.g. ["KXHIGHNY"]
INITIAL_CASH = "1000"
GRID = {"buy_below": ["0.30", "0.40"], "sell_above": ["0.60", "0.70"]}  # walk-forward grid for `threshold`
FOLDS = 3
N_BOOT = 1000
SEED = 7

# %%
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import matplotlib.pyplot as plt
import polars as pl
from IPython.display import Image, display
from kalshi_lake import warehouse
from kalshi_lake.backtest import (
    BacktestConfig,
    load_replay_data,
    make_strategy,
    plot_equity,
    run_backtest,
    run_research,
    write_results,
)
from kalshi_lake.backtest.attribution import event_daily_pnl
from kalshi_lake.backtest.bootstrap import cluster_bootstrap
from kalshi_lake.backtest.report import plot_research
from kalshi_lake.backtest.research_store import write_research
from kalshi_lake.notebook import lake_root_for, warehouse_for

lake_root = lake_root_for(LAKE_DIR)  # a local path, or s3://… kept as a URI
db_path = warehouse_for(LAKE_DIR)  # always a local file (KALSHI_WAREHOUSE, default <lake_dir>/kalshi.duckdb)
plots = db_path.parent / "backtests"
config = BacktestConfig(initial_cash=Decimal(INITIAL_CASH))


def usd(x) -> str:
    """Dollars to the cent for labels (exact: Decimal rounding); the tables keep every digit."""
    x = Decimal(x)
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


# %% [markdown]
# ## The fill model's assumptions (the settings these runs use)
# - A marketable order takes **only the other side** (a buy takes asks, a sell bids) from the freshest quote no
#   older than `max_quote_age_s`: the recorded WebSocket book, a REST book snapshot, a markets row's bid/ask, a
#   candle's bid/ask close, or a print (evidence only for the side its taker hit). **No fresh quote, no fill**:
#   the refusals below count every order that got nothing, by reason.
# - A quote without a displayed size offers `unsized_quote` contracts; what we take is used up until the source
#   observes again.
# - A resting order fills as maker only from prints whose taker came to its side; `queue = through` means only
#   prints *through* its price fill it (never at its price: the queue ahead is unknown).
# - `latency_ms` / `feed_latency_ms`: how late orders reach the exchange and the strategy sees it (0 here; the
#   walk-forward's sensitivity tries 250 and 1,000 ms).
# - Open positions are marked at the last trade; settlement pays the market's settlement value.

# %%
pl.DataFrame({"setting": list(config.as_dict()), "value": [str(v) for v in config.as_dict().values()]})

# %% [markdown]
# ## Two single runs, each with its bootstrap interval
# `STRATEGY` with `PARAMS` (fixed in advance, not fitted here) and the other built-in with its defaults. One run
# is one path through few events: the interval resamples **events** (all markets of one event together, since
# they settle on one fact) 1,000 times and reports the 2.5–97.5 % range of total P&L after fees and of the
# annualised daily Sharpe.


# %%
def run_one(name, params=None):
    data = load_replay_data(lake_root, series=SERIES, include_candles=True)
    result = run_backtest(make_strategy(name, params), lake_root, data=data, series=SERIES, config=config)
    boot = cluster_bootstrap(event_daily_pnl(result.state, data), n=N_BOOT, seed=SEED)
    png = plot_equity(result, plots / f"{result.run_id}.png")
    write_results(result, db_path, plot_path=png)
    return result, boot


other_name = "longshot_fade" if STRATEGY != "longshot_fade" else "threshold"
runs = [run_one(STRATEGY, PARAMS), run_one(other_name)]
print(runs[0][1].method)
single = pl.DataFrame(
    [
        {
            "strategy": r.strategy,
            "fills": r.metrics.n_fills,
            "orders_unfilled": sum((r.metrics.refusals or {}).values()),
            "pnl_before_fees": usd(r.metrics.pnl + r.metrics.fees_paid),
            "fees": usd(r.metrics.fees_paid),
            "pnl_after_fees": usd(r.metrics.pnl),
            "pnl_95%_interval": f"[{usd(b.pnl_low)}, {usd(b.pnl_high)}]",
            "share_of_resamples_losing": round(b.p_loss, 3),
            "sharpe": None if b.sharpe is None else round(b.sharpe, 2),
            "sharpe_95%": "undefined"
            if b.sharpe_low is None
            else f"[{b.sharpe_low:.2f}, {b.sharpe_high:.2f}]",
            "events": b.n_clusters,
        }
        for r, b in runs
    ]
)
single

# %% [markdown]
# **Why orders got nothing** (per run; most taker orders on a lake of hourly candles find no quote younger than
# `max_quote_age_s`):

# %%
for r, _b in runs:
    print(f"{r.strategy}: {r.metrics.n_fills} fills; unfilled or refused: {r.metrics.refusals}")

# %% [markdown]
# ## P&L over time, after fees

# %%
con = warehouse.connect(str(db_path))
ids = {r.run_id: (r.strategy, b) for r, b in runs}
eq = con.sql(
    """
    select run_id, ts, cast(equity_dollars - $cash as double) as pnl
    from bt_equity where run_id in ($a, $b) order by run_id, seq
""",
    params={"a": runs[0][0].run_id, "b": runs[1][0].run_id, "cash": Decimal(INITIAL_CASH)},
).pl()
fig, ax = plt.subplots(figsize=(11, 4.5))
moved = []  # the span in which the P&L moves: the replay's flat head and tail would squeeze the curve
for run_id, (name, b) in ids.items():
    rows = eq.filter(eq["run_id"] == run_id)
    if not rows.height:
        continue
    changes = rows.filter(rows["pnl"].diff().fill_null(0) != 0)
    first, end = (changes["ts"][0], changes["ts"][-1]) if changes.height else (rows["ts"][0], rows["ts"][-1])
    moved += [first, end]
    (line,) = ax.step(rows["ts"].to_list(), rows["pnl"].to_list(), where="post", label=name)
    last = float(b.pnl)
    ax.errorbar(
        [end],
        [last],
        yerr=[[max(0.0, last - float(b.pnl_low))], [max(0.0, float(b.pnl_high) - last)]],
        fmt="o",
        color=line.get_color(),
        capsize=5,
        label=f"{name} at the end: {usd(b.pnl)}, 95 % [{usd(b.pnl_low)}, {usd(b.pnl_high)}]".replace(
            "$", r"\$"
        ),
    )
if moved:
    ax.set_xlim(min(moved) - timedelta(hours=12), max(moved) + timedelta(hours=12))
ax.axhline(0, color="grey", lw=0.8, ls="--")
ax.set_ylabel(r"P&L after fees (\$)")
ax.set_xlabel("time (UTC)")
ax.set_title(
    "Single runs: cumulative P&L after fees (positions marked at the last trade); bar: 95 % interval"
)
ax.legend(fontsize=8)
fig.autofmt_xdate()
fig.tight_layout()

# %% [markdown]
# **Caption.** This shows each run's P&L after fees over the replay, with the event-clustered 95 % interval of its
# final value; it does not show an edge: an interval that spans $0 says the run cannot be told apart from luck on
# this many events, and the parameters were not tested on data they had not seen (the walk-forward below is).

# %% [markdown]
# ## Costs: what fees took

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
names = [r.strategy for r, _ in runs]
gross = [float(r.metrics.pnl + r.metrics.fees_paid) for r, _ in runs]
fees = [float(r.metrics.fees_paid) for r, _ in runs]
net = [float(r.metrics.pnl) for r, _ in runs]
xs = range(len(names))
ax.bar([x - 0.25 for x in xs], gross, width=0.25, label="before fees")
ax.bar(xs, [-f for f in fees], width=0.25, label="fees (−)", color="tab:red")
ax.bar([x + 0.25 for x in xs], net, width=0.25, label="after fees", color="dimgray")
for x, vals in zip(xs, zip(gross, fees, net, strict=True), strict=True):
    for dx, v in zip((-0.25, 0, 0.25), (vals[0], -vals[1], vals[2]), strict=True):
        ax.annotate(f"{v:,.2f}", (x + dx, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=7)
ax.axhline(0, color="grey", lw=0.8)
ax.set_xticks(list(xs), names)
ax.set_ylabel(r"\$ over the whole replay")
ax.set_title("P&L before fees, fees, and P&L after fees per run")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Walk-forward: parameters chosen on the past, scored on what followed
# The window is cut into `FOLDS + 1` equal blocks of time; on each fold the grid point with the best P&L on the
# blocks before (train, anchored) is run once on the next block (test). **Only the chained test blocks are
# reported as performance**; the train numbers are shown as what the choice saw (in-sample, optimistic). The
# test P&L gets the same event-clustered bootstrap, and is re-run at 0×, 1×, 2× fees and 250 / 1,000 ms latency.

# %%
con.close()  # the warehouse takes one writer: the read connection closes while the research is written
grid = GRID if STRATEGY == "threshold" else {}
fixed = {k: v for k, v in PARAMS.items() if k not in grid}
rs = run_research(
    STRATEGY,
    lake_root,
    grid=grid,
    params=fixed,
    series=SERIES,
    config=config,
    folds=FOLDS,
    n_boot=N_BOOT,
    seed=SEED,
)
rs.report_path = str(plot_research(rs, plots / f"{rs.research_id}.png"))
write_research(rs, db_path)
con = warehouse.connect(str(db_path))
b = rs.bootstrap
print(f"{rs.research_id}: walk-forward over {len(rs.folds)} folds; {b.method}")
print(
    f"test P&L after fees {usd(b.pnl)}, 95 % interval [{usd(b.pnl_low)}, {usd(b.pnl_high)}], "
    f"{b.p_loss:.0%} of resamples lose; in-sample only: {rs.in_sample}"
)


# %%
def window(f) -> str:
    a, z = (datetime.fromtimestamp(us / 1e6, UTC) for us in (f.test_start, f.test_end))
    return f"{a:%b %d %H:%M} – {z:%b %d %H:%M} UTC"


folds = pl.DataFrame(
    [
        {
            "fold": f.index,
            "chosen_params": str(rs.chosen[f.index]),
            "chosen_train_pnl (in-sample)": usd(
                max(
                    t.metrics.pnl
                    for t in rs.train
                    if t.trial.fold == f.index and t.params == rs.chosen[f.index]
                )
            ),
            "test_window": window(f),
            "test_pnl (out of sample)": usd(rs.tests[f.index].metrics.pnl),
            "test_fees": usd(rs.tests[f.index].metrics.fees_paid),
            "test_fills": rs.tests[f.index].metrics.n_fills,
        }
        for f in rs.folds
    ]
)
folds

# %%
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.5))
for f in rs.folds:
    train = [float(t.metrics.pnl) for t in rs.train if t.trial.fold == f.index]
    ax1.scatter(
        [f.index] * len(train),
        train,
        color="grey",
        s=18,
        label="train, every grid point" if not f.index else None,
    )
    chosen = float(
        max(t.metrics.pnl for t in rs.train if t.trial.fold == f.index and t.params == rs.chosen[f.index])
    )
    ax1.scatter([f.index], [chosen], color="tab:orange", s=40, label="train, chosen" if not f.index else None)
    ax1.scatter(
        [f.index + 0.15],
        [float(rs.tests[f.index].metrics.pnl)],
        color="tab:blue",
        marker="s",
        s=40,
        label="test, chosen (reported)" if not f.index else None,
    )
ax1.axhline(0, color="grey", lw=0.8, ls="--")
ax1.set_xticks([f.index for f in rs.folds], [f"fold {f.index}\ntest from {window(f)[:12]}" for f in rs.folds])
ax1.set_xlabel("fold")
ax1.set_ylabel(r"P&L after fees (\$)")
ax1.set_title("in-sample choice vs out-of-sample result")
ax1.legend(fontsize=7)

samples = [x / 1e8 for x in b.pnl_samples]
ax2.hist(samples, bins=40, color="tab:blue", alpha=0.6)
ax2.axvline(float(b.pnl), color="black", lw=1.2, label=f"point {usd(b.pnl)}")
ax2.axvspan(float(b.pnl_low), float(b.pnl_high), color="tab:blue", alpha=0.12, label="95 % interval")
ax2.axvline(0, color="grey", lw=0.8, ls="--")
ax2.set_xlabel(r"walk-forward test P&L after fees (\$)")
ax2.set_ylabel("resamples")
ax2.set_title(f"bootstrap over {b.n_clusters} events, {b.n_resamples} resamples")
ax2.legend(fontsize=7)

labels = [
    f"fees ×{v.fee_scale}" if v.latency_ms == config.latency_ms else f"{v.latency_ms} ms"
    for v in rs.sensitivity
]
vals = [float(v.pnl) for v in rs.sensitivity]
ax3.bar(labels, vals, color=["tab:green" if v >= 0 else "tab:red" for v in vals])
for i, v in enumerate(rs.sensitivity):
    ax3.annotate(f"{v.n_fills} fills", (i, vals[i]), ha="center", va="bottom", fontsize=7)
ax3.axhline(0, color="grey", lw=0.8)
ax3.set_ylabel(r"walk-forward test P&L (\$)")
ax3.set_title("sensitivity: fee scale (0 ms) and order latency (1× fees)")
fig.suptitle(f"{rs.strategy}: walk-forward test, {len(rs.folds)} anchored folds")
fig.tight_layout()

# %% [markdown]
# **Caption.** Left: what each fold's train window said about every grid point (grey), the one chosen (orange)
# and what it then made on the next block (blue, the only number reported). Middle: the bootstrap distribution of
# the chained test P&L. Right: the same test with fees removed or doubled and with order latency. This shows how
# much of an in-sample result survives on unseen data and how much fees and latency decide; it does not show a
# strategy worth running unless the interval lies clear of $0 at realistic fees and latency.

# %% [markdown]
# ## Fills: where prices came from and what fees cost per contract
# Each fill records the quote it took (`price_source`) and that quote's age (`quote_age_ms`). A fill from a
# `print` assumes that the size a trade revealed on its side was still there for us at that instant: where the
# lake has no recorded book this is most fills, and it is the model's most optimistic assumption.

# %%
main = runs[0][0].run_id
con.sql(
    """
    select price_source, is_taker, count(*) as fills, sum(count_fp) as contracts, sum(fee_cost) as fees_dollars,
           median(quote_age_ms) as median_quote_age_ms, max(quote_age_ms) as oldest_quote_ms
    from bt_fills where run_id = $run group by all order by fills desc
""",
    params={"run": main},
).pl()

# %%
per_contract = con.sql(
    """
    select cast(yes_price_dollars as double) as price, cast(fee_cost / count_fp as double) as fee_per_contract,
           is_taker
    from bt_fills where run_id = $run
""",
    params={"run": main},
).pl()
fig, ax = plt.subplots(figsize=(8, 3.5))
for taker, label in ((True, "taker"), (False, "maker")):
    rows = per_contract.filter(per_contract["is_taker"] == taker)
    if rows.height:
        ax.scatter(
            rows["price"].to_list(),
            rows["fee_per_contract"].to_list(),
            s=10,
            label=f"{label} ({rows.height} fills)",
        )
ax.set_xlim(0, 1)
ax.set_xlabel(r"YES price (\$ per contract)")
ax.set_ylabel(r"fee (\$ per contract)")
ax.set_title(
    f"{runs[0][0].strategy}: fee per contract by price (series multiplier × 0.07 · P · (1 − P), rounded up per fill)"
)
if per_contract.height:
    ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## P&L by market (after fees), the main run

# %%
con.sql(
    """
    select ticker, position_fp, settled, settlement_value_dollars, fills, realized_pnl_dollars,
           unrealized_pnl_dollars, fees_paid_dollars, pnl_dollars
    from bt_positions where run_id = $run order by pnl_dollars desc
""",
    params={"run": main},
).pl()

# %% [markdown]
# The one-page report of the walk-forward (also written to `<lake_dir>/backtests/`):

# %%
display(Image(filename=rs.report_path))

# %%
con.close()
