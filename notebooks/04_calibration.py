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
# # 04 · Calibration
#
# Are Kalshi prices probabilities? For every settled market we take the last YES trade price before close as
# the implied probability and compare it with the outcome (1/0, or the fraction paid for scalar markets):
# a calibration plot by price decile, the Brier score, and the favourite-longshot question — do cheap
# contracts win less often than their price says, and expensive ones more often? (`fct_calibration`,
# `fct_calibration_markets`.)

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)

# %%
import matplotlib.pyplot as plt
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)

# %%
overall = con.sql("""
    select count(*) as settled_markets_with_trades, avg(squared_error) as brier_score,
           avg(implied_probability) as mean_implied, avg(outcome) as mean_outcome
    from fct_calibration_markets
""").pl()
overall

# %% [markdown]
# ## Calibration plot

# %%
cal = con.sql("""
    select bucket, markets, cast(mean_implied_probability as double) as implied,
           cast(realized_frequency as double) as realized, brier_score
    from fct_calibration where level = 'all' order by bucket
""").pl()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5), width_ratios=(3, 2))
ax1.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
sizes = [20 + 8 * m for m in cal["markets"].to_list()]
ax1.scatter(cal["implied"].to_list(), cal["realized"].to_list(), s=sizes, zorder=3, label="price decile")
for x, y, n in zip(*[cal[c].to_list() for c in ("implied", "realized", "markets")], strict=True):
    ax1.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(6, -4), fontsize=8)
ax1.set_xlim(0, 1)
ax1.set_ylim(-0.02, 1.02)
ax1.set_xlabel("implied probability (last price before close)")
ax1.set_ylabel("realized frequency")
ax1.set_title("calibration (labels: markets per decile)")
ax1.legend(loc="upper left")
ax2.bar(cal["bucket"].to_list(), cal["markets"].to_list(), color="tab:grey")
ax2.set_xticks(range(10), [f".{b}" for b in range(10)])
ax2.set_xlabel("price decile")
ax2.set_title("markets per decile")
fig.tight_layout()
cal

# %% [markdown]
# ## The favourite-longshot question
# Realized frequency minus implied probability per decile: negative at the low end (longshots win less than
# priced) and positive at the high end (favourites win more) is the classic bias that the built-in
# `longshot_fade` strategy tries to harvest (see 05).

# %%
gap = [(r - i) for r, i in zip(cal["realized"].to_list(), cal["implied"].to_list(), strict=True)]
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.bar(cal["bucket"].to_list(), gap, color=["tab:red" if g < 0 else "tab:green" for g in gap])
ax.axhline(0, color="grey", lw=0.5)
ax.set_xticks(range(10), [f"{b / 10:.1f}-{(b + 1) / 10:.1f}" for b in range(10)])
ax.set_ylabel("realized − implied")
ax.set_title("favourite-longshot bias by price decile")

# %%
con.sql("""
    select case when implied_probability < 0.2 then 'longshots (< 0.20)'
                when implied_probability > 0.8 then 'favourites (> 0.80)' else 'middle' end as group_,
           count(*) as markets, avg(implied_probability) as mean_implied, avg(outcome) as realized,
           avg(outcome) - avg(implied_probability) as realized_minus_implied, avg(squared_error) as brier
    from fct_calibration_markets group by all order by mean_implied
""").pl()

# %% [markdown]
# ## By category

# %%
by_cat = con.sql("""
    select category, sum(markets) as markets,
           sum(brier_score * markets) / sum(markets) as brier_score
    from fct_calibration where level = 'category' group by all order by markets desc
""").pl()
fig, ax = plt.subplots(figsize=(8, 3))
ax.barh(by_cat["category"].to_list(), [float(x) for x in by_cat["brier_score"].to_list()], color="tab:purple")
ax.set_xlabel("Brier score (lower is better)")
ax.set_title("Brier score by category")
fig.tight_layout()
by_cat

# %%
con.close()
