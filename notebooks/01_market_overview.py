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
# # 01 · Market overview
#
# What is in the lake: activity by category and series, volume over time, the most active markets and when
# in the (UTC) day trading happens. Reads only the warehouse marts (`dim_markets`, `fct_market_daily`,
# `stg_trades`); the lake directory comes from settings (`KALSHI_LAKE_DIR`, default `./data`, where
# `kalshi-lake demo` writes). Floats appear only as plot coordinates; every figure printed is exact.

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)

# %%
import matplotlib.pyplot as plt
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)

# %% [markdown]
# ## What the lake holds

# %%
con.sql("""
    select count(distinct series_ticker) as series, count(distinct event_ticker) as events, count(*) as markets,
           count(*) filter (where settlement_value_dollars is not null) as settled_markets,
           (select count(*) from stg_trades) as trades,
           (select min(created_time) from stg_trades) as first_trade,
           (select max(created_time) from stg_trades) as last_trade
    from dim_markets
""").pl()

# %% [markdown]
# ## Activity by category and series

# %%
by_series = con.sql("""
    select coalesce(m.category, '(none)') as category, m.series_ticker,
           count(distinct m.ticker) as markets, coalesce(sum(d.trade_count), 0) as trades,
           coalesce(sum(d.volume_fp), 0) as contracts, coalesce(sum(d.notional_dollars), 0) as notional_dollars
    from dim_markets m left join fct_market_daily d using (ticker)
    group by all order by contracts desc
""").pl()
by_series

# %%
by_category = con.sql("""
    select category, cast(sum(contracts) as double) as contracts from by_series group by all order by contracts
""").pl()
ser = by_series.sort("contracts")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
ax1.barh(by_category["category"].to_list(), by_category["contracts"].to_list(), color="tab:blue")
ax1.set_title("contracts traded by category")
ax1.set_xlabel("contracts")
ax2.barh(ser["series_ticker"].to_list(), [float(x) for x in ser["contracts"].to_list()], color="tab:orange")
ax2.set_title("contracts traded by series")
ax2.set_xlabel("contracts")
fig.tight_layout()

# %% [markdown]
# ## Volume over time (UTC days)

# %%
daily = con.sql("""
    select d.trade_date, coalesce(m.category, '(none)') as category, cast(sum(d.volume_fp) as double) as contracts
    from fct_market_daily d join dim_markets m using (ticker)
    group by all order by trade_date
""").pl()
fig, ax = plt.subplots(figsize=(12, 4))
dates = sorted(set(daily["trade_date"].to_list()))
bottom = [0.0] * len(dates)
for category in sorted(set(daily["category"].to_list())):
    rows = daily.filter(daily["category"] == category)
    part = dict(zip(rows["trade_date"].to_list(), rows["contracts"].to_list(), strict=True))
    values = [part.get(d, 0.0) for d in dates]
    ax.bar(dates, values, bottom=bottom, label=category)
    bottom = [b + v for b, v in zip(bottom, values, strict=True)]
ax.set_title("contracts traded per day")
ax.set_ylabel("contracts")
ax.legend()
fig.autofmt_xdate()

# %% [markdown]
# ## Most active markets

# %%
con.sql("""
    select d.ticker, m.title, m.status, m.result, sum(d.trade_count) as trades, sum(d.volume_fp) as contracts,
           sum(d.notional_dollars) as notional_dollars, min(d.low_dollars) as low, max(d.high_dollars) as high,
           max(d.last_trade_time) as last_trade
    from fct_market_daily d join dim_markets m using (ticker)
    group by all order by contracts desc limit 10
""").pl()

# %% [markdown]
# ## When in the day people trade

# %%
hours = con.sql("""
    select hour(created_time) as hour_utc, count(*) as trades, cast(sum(count_fp) as double) as contracts
    from stg_trades group by all order by hour_utc
""").pl()
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.bar(hours["hour_utc"].to_list(), hours["contracts"].to_list(), color="tab:green")
ax.set_xlabel("hour of day (UTC)")
ax.set_ylabel("contracts")
ax.set_title("contracts traded by hour of day")
ax.set_xticks(range(0, 24, 2))

# %%
con.close()
