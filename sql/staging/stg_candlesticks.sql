-- grain: one row per (ticker, period_interval, end_period_ts)
-- purpose: candles deduplicated; a candle re-pulled later (still forming then) keeps its latest load.
-- How (#20): only the keys loaded more than once are ranked; the others (almost every candle) pass through
-- without the sort a window over every row costs.
-- incremental: day = utc_date(end_period_ts)
-- incremental: instant = end_period_ts
-- incremental: src_candlesticks by date
with source as (
    select * from src_candlesticks
    where ticker is not null and end_period_ts is not null
),

repeated as (
    select ticker, period_interval, end_period_ts
    from source
    group by ticker, period_interval, end_period_ts
    having count(*) > 1
),

loaded_once as (
    select s.*
    from source as s
    anti join repeated as r
        on r.ticker = s.ticker
        and r.period_interval is not distinct from s.period_interval
        and r.end_period_ts = s.end_period_ts
),

latest_of_repeated as (
    select s.*
    from source as s
    semi join repeated as r
        on r.ticker = s.ticker
        and r.period_interval is not distinct from s.period_interval
        and r.end_period_ts = s.end_period_ts
    qualify row_number() over (
        partition by s.ticker, s.period_interval, s.end_period_ts order by s._loaded_at desc, s._run_id desc
    ) = 1
),

final as (
    select * from loaded_once
    union all
    select * from latest_of_repeated
)

select * from final
