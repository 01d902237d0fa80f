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
# UTC (with the mark's source and age), fees by maker / taker, P&L per market split into entry edge, price move
# and what cannot be attributed, and how our numbers differ from the exchange's own (P&L and cash balance).
# **What it does not show:** whether the trading had an edge — a handful of markets or days is not evidence, and
# no interval is drawn around an account's realized history (it happened; the uncertainty is about the future).
#
# Marts: `fct_pnl` (one row per account and market: FIFO realized, unrealized at the mark, fees, settlement),
# `fct_pnl_daily` (one row per account and calendar day, none skipped), `fct_fees_daily` (fees maker / taker /
# other), `fct_pnl_attribution` (per market: entry edge + price move + unattributed − fees = total),
# `fct_pnl_reconciliation` (ours against `GET /portfolio/positions` and `/portfolio/settlements`),
# `fct_balance_reconciliation` (the cash balance explained by flows and trading, differences reported). Dollars;
# contracts may be fractional. An account that has not traded shows empty tables.

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
# Fees by liquidity role, from `fct_fees_daily` (fills carry `is_taker`; Kalshi charges takers
# 0.07 · C · P · (1 − P), makers less or nothing depending on the series). `other`: fills whose `is_taker` is
# unknown, and the fee of a settlement record standing in for fills the lake does not have — that fee cannot be
# split. maker + taker + other = fees, exactly. Dollars; contracts may be fractional.

# %%
con.sql("""
    with f as (
        select account, sum(fill_count) as fills, sum(maker_fill_count) as maker_fills,
               sum(taker_fill_count) as taker_fills, sum(unknown_liquidity_fill_count) as unknown_role_fills,
               sum(maker_contracts_fp) as maker_contracts, sum(taker_contracts_fp) as taker_contracts,
               sum(maker_fees_dollars) as maker_fees, sum(taker_fees_dollars) as taker_fees,
               sum(other_fees_dollars) as other_fees, sum(fees_dollars) as fees
        from fct_fees_daily group by account)
    select account, fills, maker_fills, taker_fills, unknown_role_fills, maker_contracts, taker_contracts,
           cast(maker_fees as decimal(18,4)) as maker_fees_dollars,
           cast(taker_fees as decimal(18,4)) as taker_fees_dollars,
           cast(other_fees as decimal(18,4)) as other_fees_dollars, cast(fees as decimal(18,4)) as fees_dollars,
           cast(maker_fees / nullif(maker_contracts, 0) as decimal(18,4)) as maker_fee_per_contract_dollars,
           cast(taker_fees / nullif(taker_contracts, 0) as decimal(18,4)) as taker_fee_per_contract_dollars
    from f order by account
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
# ## Where the P&L came from: entry edge, price move, unattributed, fees
# `fct_pnl_attribution`, per FIFO lot (the same lots as the P&L; FIFO is an assumption, see below). **Entry
# edge**: each fill's price against the fresh mid just before it (bought below the mid or sold above it: positive),
# contracts × (mid − price) for a buy, × (price − mid) for a sale. **Price move**: what the mid did while the lot
# was held — to the mid at its closing fill, or to the settlement value, or to the mark if still open.
# **Unattributed**: the whole P&L of any lot with a leg whose fill had no fresh mid (WebSocket top, or a REST quote
# at most `max_mid_age_seconds` old), and of a settlement record standing in for fills the lake does not have. A
# market whose fills had no fresh mid is *unattributed*, not zero edge. entry edge + price move + unattributed −
# fees = the total after fees of `fct_pnl`, exactly (a build check).

# %%
attr_totals = con.sql("""
    select account, count(*) as markets,
           count(*) filter (where unattributed_lots > 0 or unattributed_pnl_dollars <> 0)
               as markets_with_unattributed,
           sum(attributed_lots) as attributed_lots, sum(unattributed_lots) as unattributed_lots,
           sum(attributed_contracts_fp) as attributed_contracts,
           sum(unattributed_contracts_fp) as unattributed_contracts,
           round(sum(unattributed_contracts_fp)
                 / nullif(sum(attributed_contracts_fp) + sum(unattributed_contracts_fp), 0), 4)
               as unattributed_share_of_contracts,
           sum(fills_with_fresh_mid) as fills_with_fresh_mid, sum(fills_without_fresh_mid) as fills_without_fresh_mid,
           cast(sum(entry_edge_dollars) as decimal(18,4)) as entry_edge_dollars,
           cast(sum(price_move_dollars) as decimal(18,4)) as price_move_dollars,
           cast(sum(unattributed_pnl_dollars) as decimal(18,4)) as unattributed_dollars,
           cast(sum(fees_dollars) as decimal(18,4)) as fees_dollars,
           cast(sum(total_pnl_dollars) as decimal(18,4)) as total_after_fees_dollars,
           cast(sum(entry_edge_dollars + price_move_dollars + unattributed_pnl_dollars) as decimal(18,4))
               as before_fees_dollars,
           string_agg(distinct mid_sources, ',') as mid_sources,
           max(max_mid_age_seconds) as oldest_mid_used_seconds,
           max(max_mid_age_limit_seconds) as mid_age_limit_seconds
    from fct_pnl_attribution group by account order by account
""").pl()


def usd(v):
    return "n/a" if v is None else (f"-${-v}" if v < 0 else f"${v}")


for r in attr_totals.iter_rows(named=True):
    lots = (r["attributed_lots"] or 0) + (r["unattributed_lots"] or 0)
    contracts = (r["attributed_contracts"] or 0) + (r["unattributed_contracts"] or 0)
    print(
        f"{r['account']}: {r['unattributed_lots'] or 0} of {lots} lots ({r['unattributed_contracts'] or 0} of"
        f" {contracts} contracts) are unattributed: {usd(r['unattributed_dollars'])} of the"
        f" {usd(r['before_fees_dollars'])} P&L before fees is not split into edge and move;"
        f" {r['fills_without_fresh_mid'] or 0} fill(s) had no fresh mid (limit {r['mid_age_limit_seconds']} s;"
        f" mids used: {r['mid_sources'] or 'none'})"
    )
attr_totals

# %%
attr = con.sql("""
    select account, ticker, pnl_source, settled, is_void, value_source,
           cast(entry_edge_dollars as double) as edge, cast(price_move_dollars as double) as move,
           cast(unattributed_pnl_dollars as double) as unattributed, cast(fees_dollars as double) as fees,
           cast(total_pnl_dollars as double) as total
    from fct_pnl_attribution order by total_pnl_dollars desc
""").pl()
top_a = attr.head(10).vstack(attr.tail(10)) if attr.height > 20 else attr
fig, ax = plt.subplots(figsize=(10, max(3, 0.5 * top_a.height + 1)))
ys = list(range(top_a.height))[::-1]
left = [0.0] * top_a.height
parts = [
    ("edge", "entry edge", "tab:green", None),
    ("move", "price move", "tab:blue", None),
    ("unattributed", "unattributed (no fresh mid)", "lightgrey", "//"),
]
for col, label, color, hatch in parts:
    vals = top_a[col].to_list()
    ax.barh(ys, vals, left=left, height=0.6, label=label, color=color, hatch=hatch, edgecolor="grey", lw=0.4)
    left = [a + b for a, b in zip(left, vals, strict=True)]
ax.barh(ys, [-f for f in top_a["fees"].to_list()], left=left, height=0.3, label="fees (−)", color="tab:red")
ax.scatter(top_a["total"].to_list(), ys, color="black", zorder=3, label="total after fees")
a_labels = [
    f"{t} ({a[:12]})" if attr["account"].n_unique() > 1 else t
    for t, a in zip(top_a["ticker"], top_a["account"], strict=True)
]
ax.set_yticks(ys, a_labels)
ax.axvline(0, color="grey", lw=0.6)
ax.set_xlabel(r"\$ (entry edge + price move + unattributed − fees = total after fees)")
ax.set_title("P&L by market, attributed" + (" (10 best and 10 worst)" if attr.height > 20 else ""))
if top_a.height:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()

# %% [markdown]
# **Caption.** This shows, per market in dollars, how much of the P&L came from trading at a better price than
# the fresh mid (entry edge) and how much from the mid moving afterwards (price move), with what has no fresh mid
# left unattributed (hatched grey); it does not show skill — an edge against a mid on a few fills is not evidence
# of an edge, the mid itself may be a candle close (see `mid_sources`), and the split rests on FIFO lots.

# %%
con.sql("""
    select account, ticker, pnl_source, value_source, value_dollars, entry_edge_dollars, price_move_dollars,
           unattributed_pnl_dollars, fees_dollars, total_pnl_dollars, attributed_lots, unattributed_lots, void_lots,
           unmarked_lots, fills_with_fresh_mid, fills_without_fresh_mid, mid_sources, max_mid_age_seconds
    from fct_pnl_attribution order by account, total_pnl_dollars desc
""").pl()

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

# %% [markdown]
# ## The cash balance, explained: differences and their assumptions
# `fct_balance_reconciliation`, one row per subaccount and day with a balance snapshot (`GET /portfolio/balance`):
# from the previous snapshot, expected = start balance + applied deposits − their fees − applied withdrawals − their
# fees (subaccount 0) + transfers in − out + realized P&L − trading fees − change in the cost of open lots; `difference_dollars` = balance − expected,
# reported, never a build failure. `reconciliation`: `anchor` (the first snapshot, nothing to compare),
# `match`, `cent_rounding` (|difference| < $0.01: Kalshi pays settlements rounded down to the cent), `unexplained`
# (a flow, fill or settlement the lake lacks, or an assumption below is wrong), `not_comparable_subaccounts`.

# %%
for (a,) in con.sql("select distinct assumptions from fct_balance_reconciliation").fetchall():
    print("assumptions:", a)
balance = con.sql("""
    select account, subaccount_number, balance_date, reconciliation, start_balance_dollars, deposits_dollars,
           deposit_fees_dollars, withdrawals_dollars, withdrawal_fees_dollars, transfers_in_dollars,
           transfers_out_dollars, realized_pnl_dollars, fees_dollars, open_cost_change_dollars,
           expected_balance_dollars, balance_dollars, difference_dollars, cumulative_difference_dollars,
           pending_flows, assumed_subaccount_records
    from fct_balance_reconciliation order by account, subaccount_number, balance_date
""").pl()
compared = balance.filter(balance["reconciliation"] != "anchor")
if not balance.height:
    print("no balance snapshot in the lake: the cash balance is not reconciled")
elif not compared.height:
    print(
        f"{balance.height} balance snapshot day(s), each the first of its account (the anchor): nothing is compared"
        " yet — a second day's snapshot is needed before any difference can be measured"
    )
else:
    worst = compared["difference_dollars"].abs().max()
    print(f"{compared.height} day(s) compared; largest |difference| ${worst}")
balance

# %% [markdown]
# **Reading it.** A row that matches says the balance moved by exactly what the lake's flows, fills and
# settlements explain under these assumptions; it does not confirm them one by one (whether `fee_cents` is inside
# `amount_cents`, whether resting orders reduce the balance, FIFO), and a day with no snapshot is not checked.

# %%
con.close()
