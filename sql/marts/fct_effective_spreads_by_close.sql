-- grain: one row per (ticker, close_bucket): every bucket of time to close (close_buckets() in macros.sql;
--   'no_close_time' when the market has none) in which the market traded
-- purpose: what takers paid and makers kept by time to close, over fct_effective_spreads. Every trade is counted
-- (trades_with_mid: a fresh mid, mid_status 'matched'; trades_without_fresh_mid: the rest); the means are over the
-- matched trades only: signed effective spread 2 D (P - M), relative (/ M), and per horizon (+1 min, +5 min, +1 h)
-- realized spread and price impact over the trades with a fresh mid at both ends. Source and age of the mids:
-- mid_sources lists the sources of the matched mids, median / max_mid_age_seconds their age at the trade (a
-- ws_book top: time since the book last changed), max_mid_age_limit_seconds the limit the build used.
-- Incremental by ticker (`day = all` with a key): a row has no day (a bucket sums the market's whole history of
--   fct_effective_spreads; '7d+', 'after_close' and 'no_close_time' are unbounded in time), so a top-up recomputes
--   only the tickers with fct_effective_spreads rows in the dirty days or whose close_time changed
--   (int_market_states diff), reading those tickers' rows whole and replacing only their rows.
-- incremental: day = all
-- incremental: key = ticker
-- incremental: fct_effective_spreads by trade_date
-- incremental: int_market_states diff (ticker, close_time)
with trades as (
    select * from fct_effective_spreads
),

markets as (
    select ticker, close_time from int_market_states
),

buckets as (
    select * from close_buckets()
    union all
    select 0, 'no_close_time', null, null
),

-- a trade at t is in the bucket whose lo < close_time - t <= hi (microseconds); buckets run in time order (1 = 7d+
-- ... 6 = 0-15m, 7 = after_close, each lo the next one's hi): the first whose lo is below close_time - t
bounds as (
    select * from close_bucket_bounds()
),

placed as (
    select
        t.*,
        case when _close_time is null then 0 when d is null then null else (
            case when d > lo1 then 1 when d > lo2 then 2 when d > lo3 then 3 when d > lo4 then 4
                when d > lo5 then 5 when d > lo6 then 6 else 7 end) end as in_order
    from (
        select t.*, m.close_time as _close_time, epoch_us(m.close_time) - epoch_us(t.created_time) as d
        from trades as t
        left join markets as m on m.ticker = t.ticker
    ) as t
    cross join bounds
),

bucketed as (
    select p.* exclude (_close_time, d, in_order), b.close_bucket, b.bucket_order
    from placed as p
    join buckets as b on b.bucket_order = p.in_order
),

per_bucket as (
    select
        ticker,
        close_bucket,
        any_value(bucket_order) as bucket_order,
        count(*) as trade_count,
        count(*) filter (where mid_status = 'matched') as trades_with_mid,
        count(*) filter (where mid_status <> 'matched') as trades_without_fresh_mid,
        sum(count_fp) as volume_fp,
        sum(signed_effective_spread_dollars) as signed_sum,
        count(signed_effective_spread_dollars) as signed_n,
        sum(relative_effective_spread) as rel_sum,
        count(relative_effective_spread) as rel_n,
        sum(realized_spread_1m_dollars) as rs1m, count(realized_spread_1m_dollars) as n1m,
        sum(price_impact_1m_dollars) filter (where realized_spread_1m_dollars is not null) as pi1m,
        sum(realized_spread_5m_dollars) as rs5m, count(realized_spread_5m_dollars) as n5m,
        sum(price_impact_5m_dollars) filter (where realized_spread_5m_dollars is not null) as pi5m,
        sum(realized_spread_1h_dollars) as rs1h, count(realized_spread_1h_dollars) as n1h,
        sum(price_impact_1h_dollars) filter (where realized_spread_1h_dollars is not null) as pi1h,
        string_agg(distinct mid_source, ',' order by mid_source) filter (where mid_status = 'matched')
            as mid_sources,
        median(mid_age_seconds) filter (where mid_status = 'matched') as median_mid_age_seconds,
        max(mid_age_seconds) filter (where mid_status = 'matched') as max_mid_age_seconds
    from bucketed
    group by ticker, close_bucket
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
        cast(dec_div(signed_sum, signed_n) as decimal(18,6)) as mean_signed_effective_spread_dollars,
        cast(dec_div(rel_sum, rel_n) as decimal(18,6)) as mean_relative_effective_spread,
        n1m as trades_with_mid_1m,
        cast(dec_div(rs1m, n1m) as decimal(18,6)) as mean_realized_spread_1m_dollars,
        cast(dec_div(pi1m, n1m) as decimal(18,6)) as mean_price_impact_1m_dollars,
        n5m as trades_with_mid_5m,
        cast(dec_div(rs5m, n5m) as decimal(18,6)) as mean_realized_spread_5m_dollars,
        cast(dec_div(pi5m, n5m) as decimal(18,6)) as mean_price_impact_5m_dollars,
        n1h as trades_with_mid_1h,
        cast(dec_div(rs1h, n1h) as decimal(18,6)) as mean_realized_spread_1h_dollars,
        cast(dec_div(pi1h, n1h) as decimal(18,6)) as mean_price_impact_1h_dollars,
        mid_sources,
        median_mid_age_seconds,
        max_mid_age_seconds,
        max_mid_age_seconds() as max_mid_age_limit_seconds
    from per_bucket
)

select * from final
