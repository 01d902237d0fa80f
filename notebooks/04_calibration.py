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
# # 04 · Calibration at fixed horizons
#
# Are Kalshi prices probabilities? For every settled market we read the YES price at fixed instants — at open,
# 7 days, 24 hours and 1 hour before close — and compare it with the outcome (1/0 for binary markets; scalar
# markets, which pay a fraction, are kept apart). The price is the mid when a fresh one exists (a recorded
# WebSocket top, or a REST quote at most a minute old), else the last trade at or before that instant, however
# old: its source and age are in `fct_calibration_prices`. The last trade before close is *not* used: it is
# minutes before the result is known and makes any market look calibrated.
#
# **What this shows:** how often YES happened against the price at each horizon, with Wilson intervals by markets
# and by events, the Brier score and its decomposition, the same by event, and whether mutually exclusive markets'
# prices sum to 1. **What it does not show:** a tradable edge — a mid or an old trade is not a price you could have
# filled, fees are not counted, and the lake's settled markets are few events of few series.
#
# Marts: `fct_calibration_summary` (one line per horizon: Brier score, its Murphy decomposition, log loss),
# `fct_calibration` (tenths buckets with 95 % Wilson intervals, markets and events per bucket),
# `fct_calibration_markets` (one row per market and horizon), `fct_calibration_events` (one row per event and
# horizon: the independent unit), `fct_event_probability_sums` (do the YES prices of an event's mutually
# exclusive markets sum to 1?).

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)
N_BOOT = 1000  # resamples of events for the event-level interval
SEED = 7

# %%
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)
HORIZONS = ["open", "7d", "24h", "1h"]

# %% [markdown]
# ## Scores by horizon
# Brier = reliability − resolution + uncertainty + within-bin variance − 2 · within-bin covariance (an exact
# identity over the tenths buckets; lower reliability is better calibration, higher resolution is better
# discrimination, uncertainty is the outcomes' own variance). Log loss clips prices to [0.01, 0.99].
# `markets_without_price` settled but had no trade or fresh mid by that instant: counted, not scored.

# %%
summary = con.sql("""
    select horizon, market_class, markets_settled, markets_priced, markets_without_price, markets_from_mid,
           events_priced, median_price_age_seconds, brier_score, reliability, resolution, uncertainty,
           within_bin_variance, within_bin_covariance, round(log_loss, 4) as log_loss
    from fct_calibration_summary
    order by market_class, case horizon when 'open' then 0 when '7d' then 1 when '24h' then 2 else 3 end
""").pl()
summary

# %% [markdown]
# ## Calibration plots (binary markets), with 95 % Wilson intervals
# Dark bars: Wilson interval with n = markets; light bars: with n = events (markets of one event share one
# outcome, so they are not independent samples — the wider interval is the honest one when they move together).
# Labels: markets / events in the bucket.

# %%
cal = con.sql("""
    select horizon, bucket, markets, events,
           cast(mean_implied_probability as double) as implied, cast(realized_frequency as double) as realized,
           cast(wilson_low as double) as lo, cast(wilson_high as double) as hi,
           cast(wilson_low_events as double) as lo_e, cast(wilson_high_events as double) as hi_e
    from fct_calibration where level = 'all' and market_class = 'binary' order by horizon, bucket
""").pl()
fig, axes = plt.subplots(1, 4, figsize=(16, 4.5), sharey=True)
for ax, h in zip(axes, HORIZONS, strict=True):
    d = cal.filter(cal["horizon"] == h)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    if not d.height:
        ax.text(0.5, 0.5, "no settled market priced\nat this horizon", ha="center", va="center")
    else:
        x, y = d["implied"].to_list(), d["realized"].to_list()
        ax.errorbar(
            x,
            y,
            yerr=[
                [a - b for a, b in zip(y, d["lo_e"].to_list(), strict=True)],
                [b - a for a, b in zip(y, d["hi_e"].to_list(), strict=True)],
            ],
            fmt="none",
            ecolor="tab:blue",
            alpha=0.25,
            lw=6,
        )
        ax.errorbar(
            x,
            y,
            yerr=[
                [a - b for a, b in zip(y, d["lo"].to_list(), strict=True)],
                [b - a for a, b in zip(y, d["hi"].to_list(), strict=True)],
            ],
            fmt="o",
            color="tab:blue",
            capsize=3,
        )
        for xi, yi, m, e in zip(x, y, d["markets"].to_list(), d["events"].to_list(), strict=True):
            ax.annotate(f"{m}/{e}", (xi, yi), textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{h} before close" if h != "open" else "at open")
    ax.set_xlabel(r"implied probability (YES price, \$ per \$1 payout)")
axes[0].set_ylabel("realized frequency of YES")
fig.suptitle(
    "Binary markets: realized YES frequency vs price, by horizon (bars: 95 % Wilson, n = markets / n = events)"
)
fig.tight_layout()

# %% [markdown]
# **Caption.** This shows how often YES happened among binary markets priced in each tenth, at each horizon, with
# 95 % Wilson intervals from the number of markets (dark) and of events (light); it does not show a tradable edge,
# because the buckets hold few markets and fewer independent events, most intervals cover the diagonal, and a
# quoted mid or an old trade is not a price you could have filled, fees included.

# %%
cal

# %% [markdown]
# ## By event: the independent unit
# `fct_calibration_events`, binary markets: one row per event and horizon. Markets of one event resolve together
# (brackets of one number, say), so a Brier score over markets has fewer independent observations than markets.
# Left: the Brier score pooled over markets (Σ squared error / priced markets, the same number as in the summary)
# with a 95 % interval from resampling **events** with replacement; right: each event's own Brier score (mean
# over its priced markets). `one_yes_events`: mutually exclusive events whose outcomes sum to exactly one YES.

# %%
ev = con.sql("""
    select horizon, event_ticker, mutually_exclusive, markets, markets_priced,
           cast(sum_squared_error as double) as sse, cast(brier_score as double) as brier,
           cast(yes_outcome_sum as double) as yes_outcomes, cast(yes_price_sum as double) as yes_price_sum,
           max_price_age_seconds
    from fct_calibration_events where market_class = 'binary'
""").pl()
ev_rows, per_event = [], {}
for h in HORIZONS:
    d = ev.filter((ev["horizon"] == h) & (ev["markets_priced"] > 0))
    all_h = ev.filter(ev["horizon"] == h)
    row = {
        "horizon": h,
        "events": all_h.height,
        "events_priced": d.height,
        "markets_priced": int(d["markets_priced"].sum()) if d.height else 0,
        "brier_pooled": None,
        "low": None,
        "high": None,
        "median_event_brier": None,
        "one_yes_events": all_h.filter(all_h["mutually_exclusive"].fill_null(False))
        .filter(pl.col("yes_outcomes") == 1)
        .height,
        "mutually_exclusive_events": all_h.filter(all_h["mutually_exclusive"].fill_null(False)).height,
    }
    if d.height:
        sse, n = np.asarray(d["sse"].to_list()), np.asarray(d["markets_priced"].to_list(), dtype=float)
        row["brier_pooled"] = float(sse.sum() / n.sum())
        row["median_event_brier"] = float(np.median(d["brier"].to_list()))
        per_event[h] = d["brier"].to_list()
        if d.height >= 2:
            draws = np.random.default_rng(SEED).integers(0, d.height, size=(N_BOOT, d.height))
            lo, hi = np.percentile(sse[draws].sum(axis=1) / n[draws].sum(axis=1), [2.5, 97.5])
            row["low"], row["high"] = float(lo), float(hi)
    ev_rows.append(row)
by_event = pl.DataFrame(ev_rows, infer_schema_length=None).with_columns(
    pl.col("brier_pooled", "low", "high", "median_event_brier").cast(pl.Float64).round(4)
)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [1, 1.4]})
for i, r in enumerate(ev_rows):
    if r["brier_pooled"] is None:
        ax1.text(
            i, 0.5, "no price", transform=ax1.get_xaxis_transform(), ha="center", fontsize=8, color="grey"
        )
        continue
    err = None
    if r["low"] is not None:
        err = [[max(0.0, r["brier_pooled"] - r["low"])], [max(0.0, r["high"] - r["brier_pooled"])]]
    ax1.errorbar([i], [r["brier_pooled"]], yerr=err, fmt="o", color="tab:blue", capsize=4)
ax1.set_xticks(
    range(len(ev_rows)),
    [f"{r['horizon']}\n{r['markets_priced']} markets\n{r['events_priced']} events" for r in ev_rows],
)
ax1.set_xlim(-0.5, len(ev_rows) - 0.5)
ax1.set_ylabel("Brier score (lower is better)")
ax1.set_title("Brier over markets, 95 % interval resampling events")
data = [per_event.get(h, []) for h in HORIZONS]
if any(data):
    ax2.boxplot([x or [np.nan] for x in data], showfliers=False)
    for i, x in enumerate(data, start=1):
        ax2.scatter(
            i + np.random.default_rng(i).uniform(-0.15, 0.15, len(x)), x, s=8, alpha=0.5, color="tab:blue"
        )
ax2.set_xticks(
    range(1, len(HORIZONS) + 1), [f"{h}\n{len(x)} events" for h, x in zip(HORIZONS, data, strict=True)]
)
ax2.set_ylabel("the event's Brier score")
ax2.set_title("Each event's own Brier score, binary markets")
fig.tight_layout()
by_event

# %% [markdown]
# **Caption.** This shows how well prices at each horizon scored with the event as the unit of evidence — the
# interval is what the pooled Brier could have been with other events of the same kind — and how much events differ
# from one another; it does not show calibration by price level (see the plots above) or an edge, and a horizon
# with few events priced has an interval too wide to compare with another.

# %% [markdown]
# ## Do mutually exclusive markets' YES prices sum to 1?
# For each event flagged mutually exclusive, the sum of its markets' YES prices at each horizon (only when every
# market is priced). Above 1: buying every YES costs more than the $1 it pays; below 1: buying every NO does.
# Prices may be trades of different ages, so a deviation is not by itself an arbitrage.

# %%
sums = con.sql("""
    select horizon, count(*) as events, count(*) filter (where all_priced) as events_fully_priced,
           median(deviation) as median_deviation, min(deviation) as min_deviation, max(deviation) as max_deviation,
           median(max_price_age_seconds) filter (where all_priced) as median_oldest_price_age_seconds
    from fct_event_probability_sums group by horizon
    order by case horizon when '7d' then 1 when '24h' then 2 else 3 end
""").pl()
dev = con.sql("""
    select horizon, cast(deviation as double) as deviation from fct_event_probability_sums where all_priced
""").pl()
fig, ax = plt.subplots(figsize=(8, 3.5))
for h in ["7d", "24h", "1h"]:
    d = dev.filter(dev["horizon"] == h)["deviation"].to_list()
    if d:
        ax.hist(d, bins=20, alpha=0.5, label=f"{h} ({len(d)} events)")
ax.axvline(0, color="grey", lw=0.8)
ax.set_xlabel(r"sum of YES prices − \$1 (\$ per set of one YES in each market)")
ax.set_ylabel("events")
ax.set_title("Mutually exclusive events: deviation of the YES-price sum from $1")
if dev.height:
    ax.legend()
fig.tight_layout()
sums

# %% [markdown]
# ## Scalar markets
# Scalar markets pay a fraction of $1; the table compares the mean price with the mean payout per bucket (no
# Wilson interval: a fractional payout is not a yes/no outcome).

# %%
con.sql("""
    select horizon, bucket, markets, events, mean_implied_probability, realized_frequency as mean_payout,
           brier_score
    from fct_calibration where level = 'all' and market_class = 'scalar' order by horizon, bucket
""").pl()

# %% [markdown]
# ## By category (binary, 24 h before close)

# %%
con.sql("""
    select category, count(*) as markets, count(distinct event_ticker) as events,
           cast(sum(squared_error) / count(*) as decimal(18, 6)) as brier_score
    from fct_calibration_markets
    where market_class = 'binary' and horizon = '24h' and implied_probability is not null
    group by all order by markets desc
""").pl()

# %%
con.close()
