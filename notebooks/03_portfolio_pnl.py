# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---


# %% [markdown]
# # 03 · Portfolio P&L
#
# The account's own trading, from the private streams (fills, settlements, positions, balance) as modelled in
# the warehouse: fee-aware FIFO P&L per market (`fct_pnl`), the daily equity curve (`fct_pnl_daily`) and the
# reconciliation of our numbers against the exchange's own accounting (`fct_pnl_reconciliation`). An account
# that has not traded yet simply shows empty tables.

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)

# %%
import matplotlib.pyplot as plt
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)

# %% [markdown]
# ## Accounts and totals

# %%
totals = con.sql("""
    select account, count(*) as markets, sum(fill_count) as fills, sum(contracts_traded_fp) as contracts,
           sum(realized_pnl_dollars) as realized_pnl_dollars, sum(unrealized_pnl_dollars) as unrealized_pnl_dollars,
           sum(fees_dollars) as fees_dollars, sum(total_pnl_dollars) as total_pnl_dollars
    from fct_pnl group by all order by account
""").pl()
totals

# %% [markdown]
# ## Equity curve
# Cumulative net P&L (realized − fees) per day, and the balance + portfolio value the exchange reported.

# %%
daily = con.sql("""
    select account, pnl_date, cast(cumulative_net_pnl_dollars as double) as cum_net,
           cast(equity_dollars as double) as equity
    from fct_pnl_daily order by account, pnl_date
""").pl()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for account in sorted(set(daily["account"].to_list())):
    rows = daily.filter(daily["account"] == account)
    ax1.step(rows["pnl_date"].to_list(), rows["cum_net"].to_list(), where="post", marker="o", label=account)
    eq = rows.drop_nulls("equity")
    ax2.plot(eq["pnl_date"].to_list(), eq["equity"].to_list(), marker="o", label=account)
ax1.set_title("cumulative realized P&L after fees ($)")
ax2.set_title("equity: balance + portfolio value ($)")
ax1.axhline(0, color="grey", lw=0.5)
if daily.height:
    ax1.legend()
    ax2.legend()
fig.autofmt_xdate()
fig.tight_layout()

# %% [markdown]
# ## P&L by market

# %%
by_market = con.sql("""
    select account, ticker, series_ticker, position_fp, settled, settlement_value_dollars, fill_count,
           realized_pnl_dollars, unrealized_pnl_dollars, fees_dollars, total_pnl_dollars
    from fct_pnl order by total_pnl_dollars desc
""").pl()
by_market

# %%
fig, ax = plt.subplots(figsize=(10, max(2.5, 0.35 * by_market.height)))
labels = by_market["ticker"].to_list()
values = [float(v) for v in by_market["total_pnl_dollars"].to_list()]
ax.barh(labels, values, color=["tab:green" if v >= 0 else "tab:red" for v in values])
ax.axvline(0, color="grey", lw=0.5)
ax.set_xlabel("P&L after fees ($)")
ax.set_title("P&L by market")
fig.tight_layout()

# %% [markdown]
# ## Reconciliation against the exchange
# Our FIFO P&L, fees, position and cost basis against the exchange's `GET /portfolio/positions`, and our
# settlement payouts against `GET /portfolio/settlements`. Non-zero differences deserve a look.

# %%
recon = con.sql("""
    select account, ticker, settled, positions_comparable,
           our_realized_pnl_dollars, exchange_realized_pnl_dollars, realized_pnl_diff_dollars,
           our_fees_dollars, exchange_fees_paid_dollars, fees_diff_dollars,
           position_diff_fp, cost_basis_diff_dollars, payout_diff_dollars
    from fct_pnl_reconciliation order by account, ticker
""").pl()
recon

# %%
mismatches = con.sql("""
    select count(*) as rows_checked,
           count(*) filter (where coalesce(realized_pnl_diff_dollars, 0) <> 0 or coalesce(fees_diff_dollars, 0) <> 0
                            or coalesce(position_diff_fp, 0) <> 0 or coalesce(payout_diff_dollars, 0) <> 0)
               as rows_with_differences
    from fct_pnl_reconciliation
""").pl()
mismatches

# %%
con.close()
