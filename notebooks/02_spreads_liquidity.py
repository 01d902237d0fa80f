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
# # 02 · Spreads and liquidity
#
# Quoted spreads (YES ask − YES bid) from order-book snapshots and market snapshots (`fct_spreads`) against
# effective spreads paid by takers (`fct_effective_spreads`: 2 × |trade price − prevailing mid|), by time of
# day and by price level. All spreads are in dollars per contract; exact decimals in the tables.

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)

# %%
import matplotlib.pyplot as plt
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)

# %% [markdown]
# ## Quoted spreads: how often is there a two-sided market?

# %%
con.sql("""
    select source, book_state, count(*) as observations, count(distinct ticker) as markets,
           avg(spread_dollars) as mean_spread_dollars, median(spread_dollars) as median_spread_dollars
    from fct_spreads group by all order by source, book_state
""").pl()

# %% [markdown]
# ## Quoted vs effective spread, overall

# %%
summary = con.sql("""
    select 'quoted (order book)' as measure, count(spread_dollars) as n, avg(spread_dollars) as mean_dollars,
           median(spread_dollars) as median_dollars
    from fct_spreads where source = 'orderbook' and book_state = 'two_sided'
    union all
    select 'quoted (market snapshot)', count(spread_dollars), avg(spread_dollars), median(spread_dollars)
    from fct_spreads where source = 'market' and book_state = 'two_sided'
    union all
    select 'effective (trades)', count(effective_spread_dollars), avg(effective_spread_dollars),
           median(effective_spread_dollars)
    from fct_effective_spreads where effective_spread_dollars is not null
""").pl()
summary

# %%
quoted = [
    float(x)
    for x in con.sql(
        "select spread_dollars from fct_spreads where book_state = 'two_sided' and spread_dollars is not null"
    )
    .pl()["spread_dollars"]
    .to_list()
]
effective = [
    float(x)
    for x in con.sql(
        "select effective_spread_dollars from fct_effective_spreads where effective_spread_dollars is not null"
    )
    .pl()["effective_spread_dollars"]
    .to_list()
]
fig, ax = plt.subplots(figsize=(10, 4))
bins = [i / 100 for i in range(0, 41)]
ax.hist(quoted, bins=bins, alpha=0.6, label=f"quoted ({len(quoted)} obs)", density=True)
ax.hist(effective, bins=bins, alpha=0.6, label=f"effective ({len(effective)} trades)", density=True)
ax.set_xlabel("spread ($ per contract)")
ax.set_ylabel("density")
ax.set_title("quoted vs effective spreads")
ax.legend()

# %% [markdown]
# ## By time of day (UTC)

# %%
by_hour = con.sql("""
    with q as (
        select hour(observed_at) as hour_utc, avg(spread_dollars) as quoted
        from fct_spreads where book_state = 'two_sided' group by all),
    e as (
        select hour(created_time) as hour_utc, avg(effective_spread_dollars) as effective, count(*) as trades
        from fct_effective_spreads group by all)
    select hour_utc, cast(q.quoted as double) as quoted, cast(e.effective as double) as effective,
           coalesce(e.trades, 0) as trades
    from q full join e using (hour_utc) order by hour_utc
""").pl()
fig, ax = plt.subplots(figsize=(10, 4))
ax.plot(by_hour["hour_utc"].to_list(), by_hour["quoted"].to_list(), "o-", label="quoted")
ax.plot(by_hour["hour_utc"].to_list(), by_hour["effective"].to_list(), "s-", label="effective")
ax.set_xlabel("hour of day (UTC)")
ax.set_ylabel("mean spread ($)")
ax.set_xticks(range(0, 24, 2))
ax.set_title("spreads by time of day")
ax.legend()
by_hour

# %% [markdown]
# ## By price level
# Near 0 or 1 the tick is a large fraction of the price; mid-range markets usually quote tighter in
# relative terms but not in dollars.

# %%
by_level = con.sql("""
    with q as (
        select least(floor(mid_dollars * 10), 9) as bucket, avg(spread_dollars) as quoted, count(*) as quotes
        from fct_spreads where book_state = 'two_sided' and mid_dollars is not null group by all),
    e as (
        select least(floor(yes_price_dollars * 10), 9) as bucket, avg(effective_spread_dollars) as effective,
               count(effective_spread_dollars) as trades
        from fct_effective_spreads group by all)
    select cast(bucket as integer) as bucket, cast(bucket / 10 as double) as price_from,
           cast(q.quoted as double) as quoted, cast(e.effective as double) as effective,
           coalesce(q.quotes, 0) as quotes, coalesce(e.trades, 0) as trades
    from q full join e using (bucket) order by bucket
""").pl()
fig, ax = plt.subplots(figsize=(10, 4))
x = by_level["bucket"].to_list()
ax.bar([b - 0.2 for b in x], [v or 0.0 for v in by_level["quoted"].to_list()], width=0.4, label="quoted")
ax.bar(
    [b + 0.2 for b in x], [v or 0.0 for v in by_level["effective"].to_list()], width=0.4, label="effective"
)
ax.set_xticks(range(10), [f"{b / 10:.1f}-{(b + 1) / 10:.1f}" for b in range(10)])
ax.set_xlabel("YES price / mid")
ax.set_ylabel("mean spread ($)")
ax.set_title("spreads by price level")
ax.legend()
by_level

# %% [markdown]
# ## Daily liquidity: the widest markets

# %%
con.sql("""
    select ticker, observed_date, source, two_sided_observations, time_weighted_spread_dollars,
           median_spread_dollars, max_spread_dollars
    from fct_spreads_daily where two_sided_observations > 0
    order by time_weighted_spread_dollars desc nulls last limit 10
""").pl()

# %%
con.close()
