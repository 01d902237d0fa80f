-- grain: one row per (ticker, close_bucket): every bucket of time to close (close_buckets() in macros.sql;
--   'no_close_time' when the market has none) in which the market traded
-- purpose: what takers paid and makers kept by time to close, over fct_effective_spreads. Every trade is counted
-- (trades_with_mid: a fresh mid, mid_status 'matched'; trades_without_fresh_mid: the rest); the means are over the
-- matched trades only: signed effective spread 2 D (P - M), relative (/ M), and per horizon (+1 min, +5 min, +1 h)
-- realized spread and price impact over the trades with a fresh mid at both ends. Source and age of the mids:
-- mid_sources lists the sources of the matched mids, median / max_mid_age_seconds their age at the trade (a
-- ws_book top: time since the book last changed), max_mid_age_limit_seconds the limit the build used.
-- How: the sums of fct_effective_spreads_by_close_daily (one row per ticker, bucket and day) re-summed per bucket
--   (effective_spreads_by_close_fold in macros.sql; a top-up reads the days before its window already folded);
--   exact: DECIMAL sums of the days' sums, the median from the days' age histograms (the value, or the mean of the
--   two middle values, as median()). Its bucket 1 holds every trade of a market without a close_time: here
--   'no_close_time'.
-- Incremental by ticker (`day = all` with a key): a row has no day (a bucket sums the market's whole history;
--   '7d+', 'after_close' and 'no_close_time' are unbounded in time), so a top-up re-sums only the tickers with
--   partial rows in the dirty days or whose close_time changed (int_market_states diff), from their daily rows.
-- incremental: day = all
-- incremental: key = ticker
-- incremental: fct_effective_spreads_by_close_daily by trade_date, fold effective_spreads_by_close_fold
-- incremental: int_market_states diff (ticker, close_time)
with partials as (
    select * from fct_effective_spreads_by_close_daily
),

markets as (
    select ticker, close_time from int_market_states
),

buckets as (
    select * from close_buckets()
    union all
    select 0, 'no_close_time', null, null
),

bucketed as (
    select
        p.* exclude (bucket_order),
        case when m.close_time is null then 0 else p.bucket_order end as bucket_order
    from partials as p
    left join markets as m on m.ticker = p.ticker
),

-- one row per (ticker, bucket): the days' sums summed, their sources' union and age histograms merged
sums as (
    select * from effective_spreads_by_close_fold('bucketed')
),

-- the median of the matched mids' ages from the merged histogram: the values at 0-based ranks floor((n - 1) / 2)
-- and ceil((n - 1) / 2) of the sorted ages, interpolated as median() does
ages as (
    select ticker, bucket_order, h.age as age, h.n as n
    from (select ticker, bucket_order, unnest(mid_ages) as h from sums where mid_ages is not null)
),

ranked as (
    select
        *,
        sum(n) over (partition by ticker, bucket_order order by age rows unbounded preceding) as upto,
        sum(n) over (partition by ticker, bucket_order) as total
    from ages
),

medians as (
    select
        ticker,
        bucket_order,
        min(age) filter (where upto > (total - 1) // 2) as lo,
        min(age) filter (where upto > total // 2) as hi
    from ranked
    group by all
),

per_bucket as (
    select
        s.*,
        b.close_bucket,
        cast(md.lo as double) + (cast(md.hi as double) - cast(md.lo as double)) * 0.5 as median_mid_age_seconds
    from sums as s
    join buckets as b on b.bucket_order = s.bucket_order
    left join medians as md on md.ticker = s.ticker and md.bucket_order = s.bucket_order
),

final as (
    select
        ticker,
        close_bucket,
        bucket_order,
        trade_count,
        trades_with_mid,
        trades_without_fresh_mid,
        cast(volume_fp as decimal(18,2)) as volume_fp,
        cast(dec_div_n(signed_sum, signed_n) as decimal(18,6)) as mean_signed_effective_spread_dollars,
        cast(dec_div_n(rel_sum, rel_n) as decimal(18,6)) as mean_relative_effective_spread,
        n1m as trades_with_mid_1m,
        cast(dec_div_n(rs1m, n1m) as decimal(18,6)) as mean_realized_spread_1m_dollars,
        cast(dec_div_n(pi1m, n1m) as decimal(18,6)) as mean_price_impact_1m_dollars,
        n5m as trades_with_mid_5m,
        cast(dec_div_n(rs5m, n5m) as decimal(18,6)) as mean_realized_spread_5m_dollars,
        cast(dec_div_n(pi5m, n5m) as decimal(18,6)) as mean_price_impact_5m_dollars,
        n1h as trades_with_mid_1h,
        cast(dec_div_n(rs1h, n1h) as decimal(18,6)) as mean_realized_spread_1h_dollars,
        cast(dec_div_n(pi1h, n1h) as decimal(18,6)) as mean_price_impact_1h_dollars,
        nullif(array_to_string(mid_sources, ','), '') as mid_sources,
        median_mid_age_seconds,
        max_mid_age_seconds,
        max_mid_age_seconds() as max_mid_age_limit_seconds
    from per_bucket
)

select * from final
