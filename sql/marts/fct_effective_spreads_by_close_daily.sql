-- grain: one row per (ticker, bucket_order, trade_date): the partial sums of fct_effective_spreads_by_close over one
--   UTC day of one market's trades in one time-to-close bucket (close_buckets() in macros.sql)
-- purpose: lets fct_effective_spreads_by_close re-sum a market's whole history from a few rows per day, so a top-up
-- only recomputes the days the pull touched. bucket_order 1 ('7d+') also holds every trade of a market without a
-- close_time (or not in int_market_states): the mart reads them as 'no_close_time'; so a close_time that appears,
-- disappears or moves changes only the days from 7 days before the close on (the `diff ... at` below; a null
-- close_time changes nothing here). Sums stay exact: counts, DECIMAL sums and counts of each mean's operands,
-- the matched mids' sources (mid_sources, a sorted list) and their ages as a sorted histogram (mid_ages: [{age, n}])
-- from which the mart takes the exact median; max_mid_age_seconds the largest.
-- incremental: day = trade_date
-- incremental: fct_effective_spreads by trade_date
-- incremental: int_market_states diff (ticker, close_time) at coalesce(utc_date(close_time) - 7, date '9999-12-31')
with trades as (
    select * from fct_effective_spreads
),

markets as (
    select ticker, close_time from int_market_states
),

-- a trade at t is in the bucket whose lo < close_time - t <= hi (microseconds); buckets run in time order (1 = 7d+
-- ... 6 = 0-15m, 7 = after_close, each lo the next one's hi): the first whose lo is below close_time - t
bounds as (
    select * from close_bucket_bounds()
),

placed as (
    select
        t.*,
        case when _close_time is null then 1 when d is null then null else close_bucket_order(d, lo1, lo2, lo3, lo4, lo5, lo6) end
            as bucket_order
    from (
        select t.*, m.close_time as _close_time, epoch_us(m.close_time) - epoch_us(t.created_time) as d
        from trades as t
        left join markets as m on m.ticker = t.ticker
    ) as t
    cross join bounds
),

sums as (
    select
        ticker,
        bucket_order,
        trade_date,
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
        quote_source_set(bit_or(quote_source_bit(mid_source)) filter (where mid_status = 'matched')) as mid_sources,
        max(mid_age_seconds) filter (where mid_status = 'matched') as max_mid_age_seconds
    from placed
    where bucket_order is not null
    group by ticker, bucket_order, trade_date
),

-- the matched mids' ages as a sorted histogram: [{age, n}] (n trades of that age)
ages as (
    select ticker, bucket_order, trade_date, list({'age': age, 'n': n} order by age) as mid_ages
    from (
        select ticker, bucket_order, trade_date, mid_age_seconds as age, count(*) as n
        from placed
        where bucket_order is not null and mid_status = 'matched' and mid_age_seconds is not null
        group by all
    )
    group by all
),

final as (
    select s.* exclude (max_mid_age_seconds), a.mid_ages, s.max_mid_age_seconds
    from sums as s
    left join ages as a using (ticker, bucket_order, trade_date)
)

select * from final
