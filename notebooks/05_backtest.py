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

# %%

# %% [markdown]
# # 05 · Backtest
#
# Run a strategy over the lake with Kalshi's mechanics — taker/maker fees per series rounded up to $0.0001,
# the tick grid, settlement at $1/$0 (or the scalar value) — and read its report back from the warehouse tables
# `bt_runs`, `bt_fills`, `bt_equity` and `bt_positions`. The same run from the shell:
# `kalshi-lake backtest threshold --param size=10` (or `path/to/my_strategy.py:MyStrategy`).
#
# **How fills are modelled** (honest by default): a buy takes only asks and a sell only bids, from the freshest
# quote no older than 5 s (`--max-quote-age`): the recorded WebSocket book, a REST book snapshot, a markets
# row's bid/ask, a candle's bid/ask close, or a print — which shows liquidity only on the side its taker hit.
# No fresh quote, no fill: on the demo lake most of the threshold strategy's orders get nothing, and the
# report says why. Resting orders fill only from prints whose taker came to their side (`--queue` picks the
# queue model). A strategy with no information makes no money here; one that pays the spread loses it.
#
# Writing needs the warehouse file unlocked: close other notebooks' connections first.

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)
STRATEGY = "threshold"  # or "longshot_fade", or "path/to/file.py:ClassName"
PARAMS = {"buy_below": "0.40", "sell_above": "0.60", "size": "10"}
SERIES = None  # e.g. ["KXHIGHNY"]
INITIAL_CASH = "1000"

# %%
from decimal import Decimal

import matplotlib.pyplot as plt
from IPython.display import Image, display
from kalshi_lake import warehouse
from kalshi_lake.backtest import BacktestConfig, make_strategy, plot_equity, run_backtest, write_results
from kalshi_lake.notebook import lake_root_for, warehouse_for

lake_root = lake_root_for(LAKE_DIR)  # a local path, or s3://… kept as a URI
db_path = warehouse_for(LAKE_DIR)  # always a local file (KALSHI_WAREHOUSE, default <lake_dir>/kalshi.duckdb)
plots = db_path.parent / "backtests"

# %% [markdown]
# ## Run
# The strategy and a comparison run of the other built-in on the same data.

# %%
config = BacktestConfig(initial_cash=Decimal(INITIAL_CASH))
result = run_backtest(make_strategy(STRATEGY, PARAMS), lake_root, series=SERIES, config=config)
png = plot_equity(result, plots / f"{result.run_id}.png")
write_results(result, db_path, plot_path=png)
other_name = "longshot_fade" if STRATEGY != "longshot_fade" else "threshold"
other = run_backtest(make_strategy(other_name), lake_root, series=SERIES, config=config)
write_results(other, db_path, plot_path=plot_equity(other, plots / f"{other.run_id}.png"))
m = result.metrics
print(
    f"{result.run_id}: {m.events:,} events replayed in {m.seconds:.2f}s; {m.n_fills} fills, "
    f"P&L after fees ${m.pnl:.4f}"
)
display(Image(filename=str(png)))

# %% [markdown]
# ## The report, read back from the warehouse

# %%
con = warehouse.connect(str(db_path))
con.sql(
    """
    select run_id, strategy, params_json, pnl_dollars, fees_paid_dollars, return_on_capital,
           max_drawdown_dollars, sharpe, hit_rate, turnover, n_fills, n_rejected, events
    from bt_runs where run_id in ($run, $other) order by created_at
""",
    params={"run": result.run_id, "other": other.run_id},
).pl()

# %% [markdown]
# ## Equity curves

# %%
eq = con.sql(
    """
    select run_id, ts, cast(equity_dollars as double) as equity, cast(cash_dollars as double) as cash
    from bt_equity where run_id in ($run, $other) order by run_id, seq
""",
    params={"run": result.run_id, "other": other.run_id},
).pl()
names = {result.run_id: result.strategy, other.run_id: other.strategy}
fig, ax = plt.subplots(figsize=(11, 4))
for run_id, name in names.items():
    rows = eq.filter(eq["run_id"] == run_id)
    ax.step(rows["ts"].to_list(), rows["equity"].to_list(), where="post", label=name)
ax.axhline(float(config.initial_cash), color="grey", lw=0.6, ls="--")
ax.set_ylabel("equity ($)")
ax.set_title("equity (cash + positions marked at the last trade)")
ax.legend()
fig.autofmt_xdate()

# %% [markdown]
# ## P&L by market (after fees)

# %%
pos = con.sql(
    """
    select ticker, position_fp, settled, settlement_value_dollars, fills, realized_pnl_dollars,
           unrealized_pnl_dollars, fees_paid_dollars, pnl_dollars
    from bt_positions where run_id = $run order by pnl_dollars desc
""",
    params={"run": result.run_id},
).pl()
top = pos.head(8).vstack(pos.tail(min(8, max(pos.height - 8, 0)))) if pos.height > 16 else pos
fig, ax = plt.subplots(figsize=(10, max(2.5, 0.35 * top.height)))
vals = [float(v) for v in top["pnl_dollars"].to_list()]
ax.barh(top["ticker"].to_list(), vals, color=["tab:green" if v >= 0 else "tab:red" for v in vals])
ax.axvline(0, color="grey", lw=0.5)
ax.set_xlabel("P&L after fees ($)")
ax.set_title(f"{result.strategy}: best and worst markets")
fig.tight_layout()
pos

# %% [markdown]
# ## Fills and fees
# Each fill says where its price came from (`price_source`) and how old that quote was (`quote_age_ms`); the
# run says why the other orders got nothing (`refusals_json`). Fees follow Kalshi's curve 0.07 × C × P × (1 − P):
# largest at 50¢, tiny in the tails.

# %%
print(
    con.sql(
        "select price_source, count(*) as fills, max(quote_age_ms) as oldest_quote_ms from bt_fills"
        " where run_id = $run group by 1 order by 2 desc",
        params={"run": result.run_id},
    ).pl()
)
print("orders that got nothing:", m.refusals)

# %%
fills = con.sql(
    """
    select ts, ticker, action, outcome_side, book_side, count_fp, yes_price_dollars, is_taker, fee_cost,
           realized_pnl_dollars, position_fp, price_source, quote_age_ms
    from bt_fills where run_id = $run order by fill_seq
""",
    params={"run": result.run_id},
).pl()
per_contract = con.sql(
    """
    select cast(yes_price_dollars as double) as price, cast(fee_cost / count_fp as double) as fee_per_contract,
           is_taker
    from bt_fills where run_id = $run
""",
    params={"run": result.run_id},
).pl()
fig, ax = plt.subplots(figsize=(8, 3.5))
for taker, label in ((True, "taker"), (False, "maker")):
    rows = per_contract.filter(per_contract["is_taker"] == taker)
    ax.scatter(rows["price"].to_list(), rows["fee_per_contract"].to_list(), s=10, label=label)
ax.set_xlabel("YES price ($)")
ax.set_ylabel("fee per contract ($)")
ax.set_title("fees paid per contract by price")
ax.legend()
fills.head(20)

# %%
con.close()
