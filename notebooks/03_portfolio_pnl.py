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
# # 03 · Portfolio P&L: a daily equity curve marked to market, fees, and the difference with the exchange
#
# **What this shows:** the account's own trading from its private streams (fills, settlements, positions, balance):
# P&L after fees for every calendar day from its first activity, open positions marked to market at each midnight
# UTC (with the mark's source and age), fees, P&L per market, and how our numbers differ from the exchange's own.
# **What it does not show:** whether the trading had an edge — a handful of markets or days is not evidence, and
# no interval is drawn around an account's realized history (it happened; the uncertainty is about the future).
#
# Marts: `fct_pnl` (one row per account and market: FIFO realized, unrealized at the mark, fees, settlement),
# `fct_pnl_daily` (one row per account and calendar day, none skipped), `fct_pnl_reconciliation` (ours against
# `GET /portfolio/positions` and `/portfolio/settlements`). Dollars; contracts may be fractional. An account that
# has not traded shows empty tables.

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)

# %%
from datetime import timedelta

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)

# %% [markdown]
# ## Totals per account
# realized = FIFO lots closed by later fills plus lots held into settlement (at the exact settlement value; a void
# market returns them at cost); unrealized = open lots at the latest mark; total = realized + unrealized − fees.

# %%
con.sql("""
    select account, count(*) as markets, count(*) filter (where position_fp <> 0) as markets_open,
           sum(fill_count) as fills, sum(contracts_traded_fp) as contracts_traded,
           cast(sum(realized_pnl_dollars) as decimal(18,4)) as realized_dollars,
           cast(sum(unrealized_pnl_dollars) as decimal(18,4)) as unrealized_dollars,
           cast(sum(fees_dollars) as decimal(18,4)) as fees_dollars,
           cast(sum(total_pnl_dollars) as decimal(18,4)) as total_after_fees_dollars,
           count(*) filter (where is_void) as void_markets,
           count(*) filter (where pnl_source = 'settlement') as markets_from_settlement_record_only
    from fct_pnl group by all order by account
""").pl()

# %% [markdown]
# Fees by liquidity role (fills carry `is_taker`; Kalshi charges takers 0.07 · C · P · (1 − P), makers less or
# nothing depending on the series):

# %%
con.sql("""
    select _account as account, case when is_taker then 'taker' else 'maker' end as role, count(*) as fills,
           sum(count_fp) as contracts, cast(sum(fee_cost) as decimal(18,4)) as fees_dollars,
           cast(sum(fee_cost) / nullif(sum(count_fp), 0) as decimal(18,4)) as fee_per_contract_dollars
    from stg_fills group by all order by account, role
""").pl()

# %% [markdown]
# ## Daily equity curve (every calendar day, marked to market)
# Bars: the day's realized P&L after fees. Line: cumulative realized after fees, and the same plus the
# unrealized P&L of lots open at midnight UTC (`mtm_pnl_dollars`). Right: the exchange's balance + portfolio
# value on days with a balance snapshot (not carried forward).

# %%
daily = con.sql("""
    select account, pnl_date, fill_count, cast(net_pnl_dollars as double) as net,
           cast(cumulative_net_pnl_dollars as double) as cum_net, cast(mtm_pnl_dollars as double) as mtm,
           cast(equity_dollars as double) as equity
    from fct_pnl_daily order by account, pnl_date
""").pl()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 4.5), gridspec_kw={"width_ratios": [2, 1]})
for account in sorted(set(daily["account"].to_list())):
    rows = daily.filter(daily["account"] == account)
    days = rows["pnl_date"].to_list()
    ax1.bar(days, rows["net"].to_list(), width=0.6, alpha=0.35, label=f"{account}: day's realized after fees")
    ax1.plot(days, rows["cum_net"].to_list(), marker="o", label=f"{account}: cumulative realized after fees")
    ax1.plot(
        days, rows["mtm"].to_list(), marker="s", ls="--", label=f"{account}: + marked-to-market open lots"
    )
    eq = rows.drop_nulls("equity")
    ax2.plot(eq["pnl_date"].to_list(), eq["equity"].to_list(), marker="o", label=account)
if daily.height:
    first, last = min(daily["pnl_date"].to_list()), max(daily["pnl_date"].to_list())
    n_days = (last - first).days + 1
    for ax, ticks in ((ax1, 8), (ax2, 4)):
        # a one-day account gets a one-day axis, not a five-year one
        ax.set_xlim(first - timedelta(days=1), last + timedelta(days=1))
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, -(-n_days // ticks))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        ax.tick_params(axis="x", rotation=30)
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    span = f"{first} – {last}, {n_days} calendar day{'s' if n_days != 1 else ''}"
else:
    span = "no activity"
ax1.axhline(0, color="grey", lw=0.6)
ax1.set_ylabel(r"P&L after fees (\$)")
ax1.set_title(f"P&L after fees per UTC day ({span})")
ax2.set_ylabel(r"\$ (balance + portfolio value)")
ax2.set_title("exchange: balance + portfolio value")
fig.tight_layout()

# %% [markdown]
# **Caption.** This shows the account's P&L after fees day by day, with open positions marked at midnight UTC
# and the exchange's own equity beside it; it does not show risk-adjusted performance: a Sharpe ratio or a
# drawdown from this few days would be noise (the numbers below say how many days there are).

# %%
con.sql("""
    select account, min(pnl_date) as first_day, max(pnl_date) as last_day, count(*) as calendar_days,
           count(*) filter (where fill_count > 0) as days_with_fills,
           count(*) filter (where unrealized_pnl_dollars <> 0 or unmarked_lots > 0 or mark_sources is not null)
               as days_with_open_lots,
           cast(min(mtm_pnl_dollars) as decimal(18,4)) as lowest_mtm_dollars,
           cast(arg_max(mtm_pnl_dollars, pnl_date) as decimal(18,4)) as last_mtm_dollars,
           cast(sum(fees_dollars) as decimal(18,4)) as fees_dollars
    from fct_pnl_daily group by account order by account
""").pl()

# %% [markdown]
# ## Marks: where the mark-to-market came from, and how old it was
# For each day with lots open at midnight: the sources used (`ws_book`: the recorded WebSocket top, current at
# midnight; `mid`: the latest REST mid before midnight; `last_trade`: the latest trade, when newer than any mid),
# the oldest mark's age at midnight, and lots with no mark at all (counted, valued at cost). An old mark is a
# guess: read the unrealized P&L of that day with its age.

# %%
marks = con.sql("""
    select account, pnl_date, mark_sources, max_mark_age_seconds,
           round(max_mark_age_seconds / 3600, 1) as max_mark_age_hours, unmarked_lots,
           cast(unrealized_pnl_dollars as decimal(18,4)) as unrealized_dollars
    from fct_pnl_daily
    where mark_sources is not null or unmarked_lots > 0
    order by account, pnl_date
""").pl()
if not marks.height:
    print("no lot was open at any midnight UTC: every P&L above is realized, nothing is marked")
marks

# %% [markdown]
# Open positions now, at the latest mark (`mark_age_seconds`: how old the mark is at the end of the lake's data):

# %%
con.sql("""
    select account, ticker, position_fp, cost_basis_dollars, mark_price_dollars, mark_source, mark_age_seconds,
           unrealized_pnl_dollars
    from fct_pnl where position_fp <> 0 order by account, ticker
""").pl()

# %% [markdown]
# ## P&L by market
# Realized, then unrealized, then fees (red, taken off the end) per market; the dot is the total after fees.

# %%
by_market = con.sql("""
    select account, ticker, settled, is_void, settlement_value_dollars, settled_position_fp, fill_count,
           cast(realized_pnl_dollars as double) as realized, cast(unrealized_pnl_dollars as double) as unrealized,
           cast(fees_dollars as double) as fees, cast(total_pnl_dollars as double) as total, pnl_source
    from fct_pnl order by total_pnl_dollars desc
""").pl()
top = by_market.head(10).vstack(by_market.tail(10)) if by_market.height > 20 else by_market
fig, ax = plt.subplots(figsize=(10, max(3, 0.5 * top.height + 1)))
labels = [
    f"{t} ({a[:12]})" if by_market["account"].n_unique() > 1 else t
    for t, a in zip(top["ticker"], top["account"], strict=True)
]
ys = list(range(top.height))[::-1]
ax.barh(ys, top["realized"].to_list(), height=0.6, label="realized", color="tab:blue")
ax.barh(
    ys,
    top["unrealized"].to_list(),
    height=0.6,
    left=top["realized"].to_list(),
    label="unrealized",
    color="tab:cyan",
)
before_fees = [r + u for r, u in zip(top["realized"].to_list(), top["unrealized"].to_list(), strict=True)]
ax.barh(
    ys, [-f for f in top["fees"].to_list()], height=0.3, left=before_fees, label="fees (−)", color="tab:red"
)
ax.scatter(top["total"].to_list(), ys, color="black", zorder=3, label="total after fees")
for y, v in zip(ys, top["total"].to_list(), strict=True):
    ax.annotate(
        f"${v:,.2f}" if v >= 0 else f"-${-v:,.2f}",
        (v, y),
        xytext=(6, -3),
        textcoords="offset points",
        fontsize=7,
    )
ax.set_yticks(ys, labels)
ax.axvline(0, color="grey", lw=0.6)
ax.set_xlabel(r"\$ (after fees: realized + unrealized − fees)")
title = "P&L by market" + (" (10 best and 10 worst)" if by_market.height > 20 else "")
ax.set_title(title)
if top.height:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()
by_market

# %% [markdown]
# ## Reconciliation with the exchange: differences and their method
# - **Positions** (`GET /portfolio/positions`, latest snapshot, only when it is newer than our last fill and
#   settlement): our FIFO realized P&L vs `realized_pnl_dollars`, fees vs `fees_paid_dollars`, position vs
#   `position_fp`, cost basis vs `market_exposure_dollars`. Tolerance $0.0001 (the exchange keeps dollars to
#   4 decimals; ours are exact).
# - **The FIFO assumption**: our realized P&L matches lots first-in first-out; that Kalshi's `realized_pnl_dollars`
#   does the same has never been checked on a real account. `net_cash_diff_dollars` = (our realized − our cost
#   basis) − (theirs), the net cash of the fills, is the same under any lot matching: a difference there is a real
#   error (`mismatch`, the build fails). Realized and cost basis differing by amounts that cancel is reported as
#   `lot_matching` — only the FIFO assumption can be wrong — and does not fail the build.
# - **Settlements** (`GET /portfolio/settlements`): our exact payout rounded down to the cent (Kalshi pays whole
#   cents and keeps the remainder, `payout_rounding_dollars`) vs `revenue`: equal to the cent or the build fails.

# %%
con.sql("""
    select account, coalesce(positions_check, 'not compared') as positions_check,
           coalesce(positions_note, '') as why_not_compared, count(*) as markets,
           count(*) filter (where in_settlements) as with_settlement_record,
           count(*) filter (where coalesce(payout_diff_dollars, 0) <> 0) as payout_differences,
           cast(sum(payout_rounding_dollars) as decimal(18,6)) as payout_rounding_dollars
    from fct_pnl_reconciliation group by all order by account, positions_check
""").pl()

# %%
con.sql("""
    select account, ticker, positions_check, realized_pnl_diff_dollars, cost_basis_diff_dollars,
           net_cash_diff_dollars, fees_diff_dollars, position_diff_fp, payout_diff_dollars, payout_rounding_dollars,
           tolerance_dollars
    from fct_pnl_reconciliation
    order by (coalesce(positions_check, '') in ('mismatch', 'lot_matching')) desc, account, ticker
""").pl()

# %% [markdown]
# **Reading it.** `match` everywhere means our FIFO P&L, fees, positions and payouts agree with the exchange to
# its precision; it does not prove the exchange matches lots FIFO — on markets closed without any partial close,
# every lot-matching method gives the same realized P&L.

# %%
con.close()
