-- grain: one row per (ticker, period_interval, end_period_ts)
-- purpose: candles deduplicated; a candle re-pulled later (still forming then) keeps its latest load.
-- incremental: day = utc_date(end_period_ts)
-- incremental: src_candlesticks by date
with source as (
    select * from src_candlesticks
),

ranked as (
    select *, row_number() over (
        partition by ticker, period_interval, end_period_ts order by _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null and end_period_ts is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
