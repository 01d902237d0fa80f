-- grain: one row per (horizon, market_class, level, category, series_ticker, bucket); level 'all' | 'category' |
--   'series' ('' stands for "all" in category/series_ticker at coarser levels)
-- purpose: calibration at a fixed horizon before close (fct_calibration_markets: priced markets only; those
-- without a price are counted in fct_calibration_summary): implied-probability bucket (tenths) vs realized
-- outcome frequency, binary and scalar markets apart (market_class), overall, per category and per series.
--   markets: markets in the bucket; events: distinct events among them. Markets of one event are not independent
--     (one outcome decides them all), so `events` is the smaller effective sample.
--   wilson_low / wilson_high: 95 % Wilson score interval (z = 1.96) for the realized frequency with n = markets;
--     wilson_low_events / wilson_high_events: the same with n = events (conservative when markets of one event
--     move together). Binary markets only (null for scalar: a fractional payout is not a Bernoulli outcome).
--   brier_score = mean squared error (exact decimal); log_loss = mean log loss (clip in fct_calibration_markets).
with markets as (
    select * from fct_calibration_markets where implied_probability is not null
),

grouped as (
    select
        horizon,
        market_class,
        case
            when grouping(category) = 1 then 'all'
            when grouping(series_ticker) = 1 then 'category'
            else 'series'
        end as level,
        case when grouping(category) = 1 then '' else category end as category,
        case when grouping(series_ticker) = 1 then '' else series_ticker end as series_ticker,
        bucket,
        count(*) as markets,
        count(distinct event_ticker) as events,
        sum(implied_probability) as p_sum,
        sum(outcome) as outcome_sum,
        sum(squared_error) as se_sum,
        avg(log_loss) as log_loss
    from markets
    group by grouping sets (
        (horizon, market_class, bucket),
        (horizon, market_class, category, bucket),
        (horizon, market_class, category, series_ticker, bucket)
    )
),

rated as (
    select
        *,
        cast(dec_div(outcome_sum, markets) as double) as f
    from grouped
),

final as (
    select
        horizon,
        market_class,
        level,
        category,
        series_ticker,
        bucket,
        cast(bucket * 0.1 as decimal(18,6)) as bucket_low,
        cast((bucket + 1) * 0.1 as decimal(18,6)) as bucket_high,
        markets,
        events,
        cast(dec_div(p_sum, markets) as decimal(18,6)) as mean_implied_probability,
        cast(dec_div(outcome_sum, markets) as decimal(18,6)) as realized_frequency,
        case when market_class = 'binary' then cast((f + 3.8416 / (2 * markets) - 1.96 * sqrt(f * (1 - f) / markets + 3.8416 / (4 * markets * markets))) / (1 + 3.8416 / markets) as decimal(18,6)) end as wilson_low,
        case when market_class = 'binary' then cast((f + 3.8416 / (2 * markets) + 1.96 * sqrt(f * (1 - f) / markets + 3.8416 / (4 * markets * markets))) / (1 + 3.8416 / markets) as decimal(18,6)) end as wilson_high,
        case when market_class = 'binary' then cast((f + 3.8416 / (2 * events) - 1.96 * sqrt(f * (1 - f) / events + 3.8416 / (4 * events * events))) / (1 + 3.8416 / events) as decimal(18,6)) end as wilson_low_events,
        case when market_class = 'binary' then cast((f + 3.8416 / (2 * events) + 1.96 * sqrt(f * (1 - f) / events + 3.8416 / (4 * events * events))) / (1 + 3.8416 / events) as decimal(18,6)) end as wilson_high_events,
        cast(dec_div(se_sum, markets) as decimal(18,6)) as brier_score,
        log_loss
    from rated
)

select * from final
