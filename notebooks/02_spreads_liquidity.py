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
# # 02 · Spreads and liquidity: time-weighted quoted spreads, signed effective spreads against fresh mids
#
# **What this shows:** how wide Kalshi's quoted YES spread was (time-weighted, by quote source; in dollars and
# relative to the price) and how much rested at and near the best prices, and what takers paid over the mid *just
# before* their trade — the signed effective spread, measured only where a fresh mid exists, with every trade
# without one counted — by time to close, price level and day, in dollars per contract, with 95 % intervals
# clustered by market.
# **What it does not show:** the cost of trades the lake has no fresh quote for (on a lake of REST polls and hourly
# candles that is most of them), the cost of a large order (sizes at the best level are small), or maker profits
# net of fees.
#
# Marts: `fct_spreads` (every observed quote, its source and book state, relative spread, depth within 2¢),
# `fct_spreads_daily` (time-weighted quoted spread per market and day), `fct_spreads_by_close` (the same per
# time-to-close bucket), `fct_effective_spreads` (one row per trade: mid status, source and age, signed effective
# spread, realized spread and price impact at +1 min / +5 min / +1 h), `fct_effective_spreads_daily`,
# `fct_effective_spreads_by_close`. Measures: quoted = YES ask − YES bid; signed effective = 2 · D · (P − M),
# D = +1 when the taker bought YES, −1 when they sold, M = the mid just before the trade; realized at h =
# 2 · D · (P − M_h) (what a maker kept after the mid moved); price impact = 2 · D · (M_h − M) (what adverse
# selection took).

# %% tags=["parameters"]
LAKE_DIR = None  # None: from settings (KALSHI_LAKE_DIR / kalshi-lake.toml, default ./data)
N_BOOT = 1000  # resamples of markets for the intervals
SEED = 7

# %%
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from kalshi_lake.notebook import open_warehouse

con = open_warehouse(LAKE_DIR)
# the limit the build used is stored in every row
max_age = con.sql("select coalesce(max(max_mid_age_seconds), 60) from fct_effective_spreads").fetchall()[0][0]
print(
    f"a mid counts as fresh when at most {max_age} s old (max_mid_age_seconds), or a live recorded WebSocket top"
)


def clustered_mean(values, clusters, n=N_BOOT, seed=SEED):
    """Mean of `values` and its 95 % percentile interval from resampling clusters (markets) with replacement.
    Floats, for the interval only: the exact means are in the tables. None when fewer than 2 clusters."""
    if not len(values):
        return None, None, None, 0
    keys, idx = np.unique(np.asarray(clusters), return_inverse=True)
    v = np.asarray(values, dtype=float)
    sums, counts = np.bincount(idx, weights=v), np.bincount(idx)
    mean = float(v.mean())
    if len(keys) < 2:
        return mean, None, None, len(keys)
    draws = np.random.default_rng(seed).integers(0, len(keys), size=(n, len(keys)))
    boot = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return mean, float(lo), float(hi), len(keys)


def bars(mean, lo, hi):
    """Error-bar lengths for matplotlib; None without an interval. A percentile interval need not contain the
    mean of a skewed sample: a side that does not reach the point is drawn as zero length (the table has it)."""
    return None if lo is None else [[max(0.0, mean - lo)], [max(0.0, hi - mean)]]


# %% [markdown]
# ## Where the quotes come from
# `ws_book`: the top of the book recorded from the WebSocket, every change, while the recorder ran (the preferred
# source). `orderbook`: REST book snapshots, one per pull. `market`: bid/ask on market snapshots, one per pull.
# `candle`: the bid/ask at the close of each candlestick (hourly here) — a quote once an hour, no sizes.
# `two_sided_hours`: time during which the quote was two-sided, each observation held until the next of its
# market and source (REST quotes at most 24 h); `open_ended_share`: the part of that time which rests on the
# assumption that a market's last quote held to the end of its day or its close.

# %%
sources = con.sql("""
    with q as (
        select source, count(*) as observations, count(distinct ticker) as markets,
               count(*) filter (where book_state = 'two_sided') as two_sided,
               min(observed_at) as first_observed, max(observed_at) as last_observed
        from fct_spreads group by source),
    d as (
        select source, sum(two_sided_seconds) as two_sided_s, sum(open_ended_seconds) as open_ended_s,
               sum(observed_seconds) as observed_s
        from fct_spreads_daily group by source)
    select source, observations, markets, round(two_sided / observations, 3) as two_sided_share,
           round(two_sided_s / 3600, 1) as two_sided_hours,
           round(open_ended_s / nullif(observed_s, 0), 3) as open_ended_share, first_observed, last_observed
    from q left join d using (source)
    order by case source when 'ws_book' then 0 when 'orderbook' then 1 when 'market' then 2 else 3 end
""").pl()
sources

# %% [markdown]
# ## Quoted spread, time-weighted
# Per source: Σ (spread × time it held) / Σ two-sided time over every market and day (`fct_spreads_daily`), in
# dollars per contract. Sizes at the best bid and ask (contracts) exist for book and market sources, not candles.

# %%
quoted = con.sql("""
    with d as (
        select source, sum(time_weighted_spread_dollars * two_sided_seconds) as sx, sum(two_sided_seconds) as s,
               count(*) filter (where two_sided_seconds > 0) as market_days
        from fct_spreads_daily group by source),
    sizes as (
        select source, median(yes_bid_size_fp) as median_bid_size_contracts,
               median(yes_ask_size_fp) as median_ask_size_contracts
        from fct_spreads where book_state = 'two_sided' group by source)
    select source, market_days, cast(sx / nullif(s, 0) as decimal(18,4)) as time_weighted_spread_dollars,
           median_bid_size_contracts, median_ask_size_contracts
    from d left join sizes using (source) order by source
""").pl()
daily_tw = con.sql("""
    select source, ticker, cast(time_weighted_spread_dollars as double) as tw
    from fct_spreads_daily where two_sided_seconds > 0
""").pl()
fig, ax = plt.subplots(figsize=(10, 4))
# the axis ends at the 99th percentile (at least $0.10); wider market-days fall in the last bin
cap = max(0.10, float(np.ceil(np.percentile(daily_tw["tw"].to_list() or [0.1], 99) * 100) / 100))
bins = list(np.linspace(0, cap, int(round(cap / 0.005)) + 1))
for src in sorted(set(daily_tw["source"].to_list())):
    d = daily_tw.filter(daily_tw["source"] == src)
    m, lo, hi, k = clustered_mean(d["tw"].to_list(), d["ticker"].to_list())
    ci = f", 95 % [{lo:.3f}, {hi:.3f}]" if lo is not None else ""
    ax.hist(
        [min(x, cap) for x in d["tw"].to_list()],
        bins=bins,
        histtype="step",
        lw=2,
        label=f"{src}: {d.height} market-days, {k} markets; mean of market-days ${m:.3f}{ci}",
    )
ax.set_xlabel(
    rf"time-weighted quoted spread of a market-day (\$ per contract; ≥ \${cap:.2f} in the last bin)"
)
ax.set_ylabel("market-days")
ax.set_title("Quoted YES spread per market and day, time-weighted, by quote source")
if daily_tw.height:
    ax.legend(fontsize=8)
fig.tight_layout()
quoted

# %% [markdown]
# **Caption.** This shows how wide the quoted spread was, each market-day weighted by how long each quote held,
# by source (the mean's interval resamples markets); it does not show what a trade cost — candle quotes are a
# snapshot once an hour and say nothing about the spread between closes.

# %% [markdown]
# ## Which trades have a fresh mid
# Every trade is counted. `matched`: a fresh mid existed just before the trade; `stale`: the latest quote was older
# than the limit; `one_sided`: it had no bid or no ask; `no_quote`: nothing before the trade. Only matched trades
# are measured below; the others are not measured against an old mid (that measured how stale the mid was).

# %%
status = con.sql("""
    select mid_status, coalesce(mid_source, '-') as mid_source, count(*) as trades,
           round(count(*) / sum(count(*)) over (), 4) as share_of_trades,
           sum(count_fp) as contracts, median(mid_age_seconds) as median_mid_age_seconds,
           max(mid_age_seconds) as max_mid_age_seconds
    from fct_effective_spreads group by all order by trades desc
""").pl()
ages = con.sql("""
    select mid_status, cast(mid_age_seconds as double) as age from fct_effective_spreads
    where mid_age_seconds is not null
""").pl()
fig, ax = plt.subplots(figsize=(10, 4))
oldest = max(ages["age"].to_list() or [max_age])
edges = np.logspace(-1, np.log10(max(oldest, max_age) * 1.5), 50)  # ages under 0.1 s fall in the first bin
for st in ["matched", "stale", "one_sided"]:
    a = ages.filter(ages["mid_status"] == st)["age"].to_list()
    if a:
        ax.hist([max(x, 0.1) for x in a], bins=edges, alpha=0.6, label=f"{st} ({len(a):,} trades)")
ax.axvline(max_age, color="black", ls="--", lw=1, label=f"max mid age {max_age} s")
ax.set_xscale("log")
ax.set_xlabel(
    "age of the latest quote before the trade (seconds, log scale; a live ws_book top: since its last change)"
)
ax.set_ylabel("trades")
n_all = con.sql("select count(*) from fct_effective_spreads").fetchall()[0][0]
ax.set_title(f"How old the quote before each trade was ({n_all:,} trades; {ages.height:,} had any quote)")
if ages.height:
    ax.legend(fontsize=8)
fig.tight_layout()
status

# %% [markdown]
# **Caption.** This shows how many trades can be measured against a fresh mid and how old the quote before the
# others was; it does not show anything about the trades without a fresh mid, which the spreads below leave out.

# %% [markdown]
# ## What takers paid, against the quote they met
# For matched trades only: the quoted spread of the very quote whose mid was used, the signed effective spread,
# and the realized spread and price impact once the mid at +1 min / +5 min / +1 h is also fresh. Means in dollars
# per contract (each trade weighs one), 95 % intervals from resampling markets (trades of one market are not
# independent). A horizon with no fresh mid after the trade is not measured (shown as n = 0).

# %%
matched = con.sql("""
    select e.ticker, cast(s.spread_dollars as double) as quoted,
           cast(e.signed_effective_spread_dollars as double) as signed_effective,
           cast(e.effective_spread_dollars as double) as absolute_effective,
           cast(e.realized_spread_1m_dollars as double) as realized_1m,
           cast(e.realized_spread_5m_dollars as double) as realized_5m,
           cast(e.realized_spread_1h_dollars as double) as realized_1h,
           cast(e.price_impact_1m_dollars as double) as impact_1m,
           cast(e.price_impact_5m_dollars as double) as impact_5m,
           cast(e.price_impact_1h_dollars as double) as impact_1h
    from fct_effective_spreads as e
    left join fct_spreads as s
        on s.ticker = e.ticker and s.observed_at = e.mid_observed_at and s.source = e.mid_source
    where e.mid_status = 'matched'
""").pl()
measures = [
    ("quoted spread of the quote met", "quoted"),
    ("signed effective spread", "signed_effective"),
    ("realized spread, +1 min", "realized_1m"),
    ("realized spread, +5 min", "realized_5m"),
    ("realized spread, +1 h", "realized_1h"),
    ("price impact, +1 min", "impact_1m"),
    ("price impact, +5 min", "impact_5m"),
    ("price impact, +1 h", "impact_1h"),
    ("(reference) absolute 2·|P − M|", "absolute_effective"),
]
rows = []
for label, col in measures:
    d = matched.drop_nulls(col)
    m, lo, hi, k = clustered_mean(d[col].to_list(), d["ticker"].to_list())
    rows.append({"measure": label, "trades": d.height, "markets": k, "mean": m, "low": lo, "high": hi})
fig, ax = plt.subplots(figsize=(10, 4.5))
for i, r in enumerate(rows):
    y = len(rows) - 1 - i
    if r["mean"] is None:
        ax.text(0, y, "  n = 0: no fresh mid", va="center", fontsize=8, color="grey")
        continue
    err = bars(r["mean"], r["low"], r["high"])
    color = "grey" if "reference" in r["measure"] else "tab:blue"
    ax.errorbar([r["mean"]], [y], xerr=err, fmt="o", color=color, capsize=4)
    ax.annotate(
        f"n = {r['trades']:,} trades / {r['markets']} markets",
        (r["mean"], y),
        xytext=(8, 5),
        textcoords="offset points",
        fontsize=7,
    )
ax.set_yticks(range(len(rows)), [r["measure"] for r in reversed(rows)])
ax.axvline(0, color="grey", lw=0.8)
ax.set_xlabel(r"\$ per contract (mean over matched trades; bars: 95 % interval, markets resampled)")
ax.set_title(f"What takers paid against a mid at most {max_age} s old, and what makers kept")
fig.tight_layout()
pl.DataFrame(
    rows,
    schema={
        "measure": pl.String,
        "trades": pl.Int64,
        "markets": pl.Int64,
        "mean": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
    },
).with_columns(pl.col("mean", "low", "high").round(4))

# %% [markdown]
# **Caption.** This shows, for the trades with a fresh mid, the signed effective spread next to the quoted spread
# of the quote the taker met (a ratio near 1 means takers paid about the quoted spread; the absolute 2·|P − M| is
# shown only for reference: it counts price improvement as cost), and how much of it makers kept after the mid
# moved; it does not show these costs for the unmatched trades or for larger orders, and a mean over few markets
# has a wide interval.

# %% [markdown]
# ## By time to close
# From the by-close marts, in the buckets of `close_buckets()` (7d+, 1d-7d, 6h-1d, 1h-6h, 15m-1h, 0-15m, and
# after the close). **Left**: the quoted spread, time-weighted within each bucket, per source
# (`fct_spreads_by_close`: each quote holds until the next of its source, the last one to the close; the solid
# line is the preferred source of each market and bucket — the recorded WebSocket top where it covers the bucket,
# else order book, market snapshot, candle). **Right**: the signed effective spread of the trades with a fresh mid
# (`fct_effective_spreads_by_close`), with every trade of the bucket counted under the axis. Means in dollars per
# contract; 95 % intervals resample markets.


# %%
def clustered_ratio(num, den, clusters, n=N_BOOT, seed=SEED):
    """Σ num / Σ den and its 95 % percentile interval from resampling clusters (markets) with replacement —
    a time- or trade-weighted mean whose unit of independence is the market. None without 2 clusters."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if not len(num) or den.sum() <= 0:
        return None, None, None, 0
    keys, idx = np.unique(np.asarray(clusters), return_inverse=True)
    sn, sd = np.bincount(idx, weights=num), np.bincount(idx, weights=den)
    point = float(num.sum() / den.sum())
    if len(keys) < 2:
        return point, None, None, len(keys)
    draws = np.random.default_rng(seed).integers(0, len(keys), size=(n, len(keys)))
    dd = sd[draws].sum(axis=1)
    boot = sn[draws].sum(axis=1)[dd > 0] / dd[dd > 0]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return point, float(lo), float(hi), len(keys)


q_close = con.sql("""
    select ticker, close_bucket, bucket_order, source, is_preferred_source,
           cast(time_weighted_spread_dollars as double) * two_sided_seconds as sx,
           cast(time_weighted_relative_spread as double) * two_sided_seconds as rx,
           two_sided_seconds as s, open_ended_seconds, observed_seconds, observations, max_quote_age_seconds
    from fct_spreads_by_close
    where two_sided_seconds > 0 and close_bucket <> 'after_close'
""").pl()
e_close = con.sql("""
    select ticker, close_bucket, bucket_order, trade_count, trades_with_mid, trades_without_fresh_mid,
           coalesce(cast(mean_signed_effective_spread_dollars as double) * trades_with_mid, 0) as ex,
           coalesce(cast(mean_relative_effective_spread as double) * trades_with_mid, 0) as rex,
           coalesce(cast(mean_price_impact_5m_dollars as double) * trades_with_mid_5m, 0) as ix5, trades_with_mid_5m,
           mid_sources, median_mid_age_seconds, max_mid_age_seconds
    from fct_effective_spreads_by_close where close_bucket <> 'after_close'
""").pl()
buckets = sorted(
    set(zip(q_close["bucket_order"].to_list(), q_close["close_bucket"].to_list(), strict=True))
    | set(zip(e_close["bucket_order"].to_list(), e_close["close_bucket"].to_list(), strict=True))
)
names = [b for _, b in buckets]
quoted_rows, eff_rows = [], []
for b in names:
    d = q_close.filter(q_close["close_bucket"] == b)
    for label, part in [("preferred", d.filter(d["is_preferred_source"]))] + [
        (src, d.filter(d["source"] == src)) for src in sorted(set(d["source"].to_list()))
    ]:
        m, lo, hi, k = clustered_ratio(part["sx"].to_list(), part["s"].to_list(), part["ticker"].to_list())
        pr = part.drop_nulls("rx")  # relative spread needs a mid above 0
        rel, _, _, _ = clustered_ratio(pr["rx"].to_list(), pr["s"].to_list(), pr["ticker"].to_list())
        quoted_rows.append(
            {
                "before close": b,
                "source": label,
                "markets": k,
                "two_sided_hours": round(sum(part["s"].to_list()) / 3600, 1),
                "open_ended_share": round(
                    sum(part["open_ended_seconds"].to_list()) / sum(part["s"].to_list()), 3
                )
                if part.height
                else None,
                "tw_spread_dollars": m,
                "low": lo,
                "high": hi,
                "tw_relative_spread": rel,
                "max_quote_age_hours": round(max(part["max_quote_age_seconds"].to_list()) / 3600, 1)
                if part.height
                else None,
            }
        )
    e = e_close.filter(e_close["close_bucket"] == b)
    m, lo, hi, k = clustered_ratio(e["ex"].to_list(), e["trades_with_mid"].to_list(), e["ticker"].to_list())
    i5, _, _, _ = clustered_ratio(
        e["ix5"].to_list(), e["trades_with_mid_5m"].to_list(), e["ticker"].to_list()
    )
    rel_e, _, _, _ = clustered_ratio(
        e["rex"].to_list(), e["trades_with_mid"].to_list(), e["ticker"].to_list()
    )
    trades, matched_n = sum(e["trade_count"].to_list()), sum(e["trades_with_mid"].to_list())
    eff_rows.append(
        {
            "before close": b,
            "trades": trades,
            "matched": matched_n,
            "match_rate": round(matched_n / trades, 3) if trades else None,
            "markets_matched": k,
            "mean_signed_effective_dollars": m,
            "low": lo,
            "high": hi,
            "mean_relative_effective_spread": rel_e,
            "mean_price_impact_5m_dollars": round(i5, 4) if i5 is not None else None,
            "mid_sources": ",".join(sorted({s for v in e["mid_sources"].drop_nulls() for s in v.split(",")})),
            "median_mid_age_seconds": e.filter(e["trades_with_mid"] > 0)["median_mid_age_seconds"].median()
            if e.height
            else None,
        }
    )
quoted_by_close = pl.DataFrame(quoted_rows, infer_schema_length=None).with_columns(
    pl.col("tw_spread_dollars", "low", "high", "tw_relative_spread").cast(pl.Float64).round(4)
)
effective_by_close = pl.DataFrame(eff_rows, infer_schema_length=None).with_columns(
    pl.col("mean_signed_effective_dollars", "low", "high", "mean_relative_effective_spread")
    .cast(pl.Float64)
    .round(4)
)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 4.2), sharey=True)
xpos = {b: i for i, b in enumerate(names)}
styles = {"preferred": dict(color="black", lw=2, marker="o")}
for j, src in enumerate(sorted(set(quoted_by_close["source"].to_list()), key=lambda s: s != "preferred")):
    d = quoted_by_close.filter(
        (quoted_by_close["source"] == src) & quoted_by_close["tw_spread_dollars"].is_not_null()
    )
    if not d.height:
        continue
    x = [xpos[b] + (0 if src == "preferred" else 0.08 * j) for b in d["before close"].to_list()]
    y = d["tw_spread_dollars"].to_list()
    err = [
        [max(0.0, m - lo) if lo is not None else 0.0 for m, lo in zip(y, d["low"].to_list(), strict=True)],
        [max(0.0, hi - m) if hi is not None else 0.0 for m, hi in zip(y, d["high"].to_list(), strict=True)],
    ]
    st = styles.get(src, dict(lw=1, marker=".", alpha=0.7))
    ax1.errorbar(x, y, yerr=err, capsize=3, label=f"{src}", **st)
ax1.set_xticks(range(len(names)), names)
ax1.set_ylabel(r"\$ per contract")
ax1.set_xlabel("time before close")
ax1.set_title("Quoted spread, time-weighted (fct_spreads_by_close)")
if quoted_by_close.height:
    ax1.legend(fontsize=8)
for i, t in enumerate(eff_rows):
    if t["mean_signed_effective_dollars"] is None:
        ax2.text(i, 0, "no fresh mid", rotation=90, ha="center", va="bottom", fontsize=7, color="grey")
        continue
    err = bars(t["mean_signed_effective_dollars"], t["low"], t["high"])
    ax2.errorbar([i], [t["mean_signed_effective_dollars"]], yerr=err, fmt="o", color="tab:blue", capsize=4)
    if err is None:
        ax2.annotate(
            f"{t['markets_matched']} market: no interval",
            (i, t["mean_signed_effective_dollars"]),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )
ax2.set_xticks(
    range(len(eff_rows)), [f"{t['before close']}\n{t['matched']:,}/{t['trades']:,}" for t in eff_rows]
)
ax2.axhline(0, color="grey", lw=0.8)
for ax in (ax1, ax2):
    ax.set_xlim(-0.5, max(len(names), len(eff_rows)) - 0.5)
ax2.set_xlabel("time before close (trades with a fresh mid / all trades)")
ax2.set_title("Signed effective spread, trades with a fresh mid (fct_effective_spreads_by_close)")
fig.tight_layout()
quoted_by_close

# %%
effective_by_close

# %% [markdown]
# **Caption.** This shows how the quoted spread (by source, time-weighted) and what takers paid against a fresh
# mid change as a market nears its close, in dollars per contract with intervals resampling markets; it does not
# show the trades without a fresh mid (counted under each bucket), nor spreads between candle closes, and a
# bucket held up by few markets, by old quotes (`max_quote_age_hours`) or by a long `open_ended_share` (the last
# quote assumed to hold to the close) is weak evidence.

# %% [markdown]
# ## Relative spread and depth at the best levels
# `fct_spreads`, two-sided quotes only. Relative spread = quoted spread / mid: a 1¢ spread on a 5¢ contract is
# 20 % of its price. Time-weighted relative spread from `fct_spreads_daily`. Size at the best bid and ask
# (contracts) exists for books and market snapshots, not candles; depth within 2¢ of the best bid and of the best
# ask (contracts resting at most 2¢ worse than the best, both sides in YES terms) only for REST order books.
# Medians over observed quotes (each snapshot counts once; not time-weighted).

# %%
rel_tw = con.sql("""
    select source, cast(sum(time_weighted_relative_spread * two_sided_seconds) / nullif(sum(two_sided_seconds), 0)
                        as decimal(18,4)) as tw_relative_spread
    from fct_spreads_daily where two_sided_seconds > 0 group by source
""").pl()
depth = con.sql("""
    select source, count(*) as two_sided_quotes, count(distinct ticker) as markets,
           cast(median(relative_spread) as decimal(18,4)) as median_relative_spread,
           cast(quantile_cont(relative_spread, 0.9) as decimal(18,4)) as p90_relative_spread,
           median(yes_bid_size_fp) as median_bid_size_contracts, median(yes_ask_size_fp) as median_ask_size_contracts,
           count(yes_bid_depth_2c_fp) as quotes_with_depth,
           median(yes_bid_depth_2c_fp) as median_bid_depth_2c_contracts,
           median(yes_ask_depth_2c_fp) as median_ask_depth_2c_contracts
    from fct_spreads where book_state = 'two_sided' group by source
""").pl()
rel = con.sql("""
    select source, cast(mid_dollars as double) as mid, cast(relative_spread as double) as rel
    from fct_spreads where book_state = 'two_sided' and relative_spread is not null
""").pl()
fig, ax = plt.subplots(figsize=(10, 4))
tenths = np.arange(10) / 10
for src, marker in zip(sorted(set(rel["source"].to_list())), "osD^v", strict=False):
    d = rel.filter(rel["source"] == src)
    idx = np.minimum((np.asarray(d["mid"].to_list()) * 10).astype(int), 9)
    vals = np.asarray(d["rel"].to_list())
    med = [float(np.median(vals[idx == t])) if (idx == t).any() else np.nan for t in range(10)]
    cnt = [int((idx == t).sum()) for t in range(10)]
    ax.plot(tenths + 0.05, med, marker=marker, mfc="none", label=f"{src} ({d.height:,} quotes)")
    for x, y, c in zip(tenths + 0.05, med, cnt, strict=True):
        if c and c < 20:
            ax.annotate(f"n={c}", (x, y), xytext=(0, 5), textcoords="offset points", fontsize=6, ha="center")
ax.set_yscale("log")
ax.set_xlabel(r"mid (\$, in tenths)")
ax.set_ylabel("median relative spread (spread / mid, log scale)")
ax.set_title("Relative quoted spread by price level, by source (median over observed two-sided quotes)")
if rel.height:
    ax.legend(fontsize=8)
fig.tight_layout()
depth.join(rel_tw, on="source", how="left")

# %% [markdown]
# **Caption.** This shows how large the quoted spread is relative to the price, by price level and source, and
# how many contracts rested at and within 2¢ of the best prices (order books only); it does not show the depth
# between REST snapshots or for candle quotes, and medians of few quotes (labelled n) say little.

# %% [markdown]
# ## By price level: dollars and relative to the price
# Matched trades by the mid they met, in tenths. `relative_effective_spread` = signed effective / mid: near 0 or 1
# a one-cent tick is a large fraction of the price, so a cheap contract costs more relative to what it is worth.
# No interval here: read the trade and market counts — a bucket of one or two markets says nothing.

# %%
con.sql("""
    select cast(least(floor(mid_dollars * 10), 9) / 10 as decimal(3,1)) as mid_from,
           count(*) as matched_trades, count(distinct ticker) as markets,
           cast(avg(signed_effective_spread_dollars) as decimal(18,4)) as mean_signed_effective_dollars,
           cast(avg(relative_effective_spread) as decimal(18,4)) as mean_relative_effective_spread
    from fct_effective_spreads where mid_status = 'matched'
    group by all order by mid_from
""").pl()

# %% [markdown]
# ## By day (all markets)
# Counts from `fct_effective_spreads_daily`: every trade of the day, matched or not; the signed spread is the mean
# over the matched trades, weighted by trades.

# %%
con.sql("""
    select trade_date, sum(trade_count) as trades, sum(trades_with_mid) as with_fresh_mid,
           sum(trades_without_fresh_mid) as without_fresh_mid, sum(volume_fp) as contracts,
           cast(sum(mean_signed_effective_spread_dollars * trades_with_mid) / nullif(sum(trades_with_mid), 0)
                as decimal(18,4)) as mean_signed_effective_spread_dollars
    from fct_effective_spreads_daily group by trade_date order by trade_date
""").pl()

# %%
con.close()
