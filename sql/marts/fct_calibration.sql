-- grain: one row per (level, category, series_ticker, bucket); level 'all' | 'category' | 'series'
--   ('' stands for "all" in category/series_ticker at coarser levels)
-- purpose: calibration: implied-probability bucket (last price before close, tenths: bucket 0 = [0, 0.1), ...,
-- 9 = [0.9, 1]) vs realized outcome frequency, with market counts and the Brier score (mean squared error of the
-- implied probability against the outcome), overall, per category and per series. Exact decimal division.
with markets as (
    select * from fct_calibration_markets
),

grouped as (
    select
        case
            when grouping(category) = 1 then 'all'
            when grouping(series_ticker) = 1 then 'category'
            else 'series'
        end as level,
        case when grouping(category) = 1 then '' else category end as category,
        case when grouping(series_ticker) = 1 then '' else series_ticker end as series_ticker,
        bucket,
        count(*) as markets,
        sum(implied_probability) as p_sum,
        sum(outcome) as outcome_sum,
        sum(squared_error) as se_sum
    from markets
    group by grouping sets ((bucket), (category, bucket), (category, series_ticker, bucket))
),

final as (
    select
        level,
        category,
        series_ticker,
        bucket,
        cast(bucket * 0.1 as decimal(18,6)) as bucket_low,
        cast((bucket + 1) * 0.1 as decimal(18,6)) as bucket_high,
        markets,
        cast(dec_div(p_sum, markets) as decimal(18,6)) as mean_implied_probability,
        cast(dec_div(outcome_sum, markets) as decimal(18,6)) as realized_frequency,
        cast(dec_div(se_sum, markets) as decimal(18,6)) as brier_score
    from grouped
)

select * from final
