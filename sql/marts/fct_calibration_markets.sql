-- grain: one row per (ticker, horizon) for every market determined with a settlement value (void markets have none
--   and are not here) and each horizon of fct_calibration_prices; a market without a price at a horizon stays, with
--   price_source 'none' and null implied_probability / bucket / scores (counted, not scored)
-- purpose: implied probability at a fixed horizon before close (fct_calibration_prices: a fresh mid, else the last
--   trade at or before close - horizon; source and age in every row) vs outcome (settlement value per YES
--   contract: 1/0 for binary markets, fractional for scalar ones; market_class keeps them apart), bucketed in
--   tenths (bucket 0 = [0, 0.1), ..., 9 = [0.9, 1]).
-- squared_error = (p - outcome)^2, exact decimal. log_loss = -(o ln p + (1 - o) ln(1 - p)) with p clipped to
--   [log_loss_clip, 1 - log_loss_clip] (0.01: a 1c contract), a DOUBLE (a score, not money).
with prices as (
    select * from fct_calibration_prices
),

settled as (
    select ticker, settlement_value_dollars from dim_markets where settlement_value_dollars is not null
),

joined as (
    select
        p.*,
        cast(s.settlement_value_dollars as decimal(18,6)) as outcome,
        cast(0.01 as double) as log_loss_clip
    from prices as p
    join settled as s on s.ticker = p.ticker
),

final as (
    select
        ticker,
        horizon,
        horizon_seconds,
        event_ticker,
        series_ticker,
        category,
        market_type,
        market_class,
        close_time,
        as_of,
        price_source,
        quote_source,
        price_observed_at,
        price_age_seconds,
        implied_probability,
        outcome,
        -- least/greatest skip nulls in DuckDB: an unpriced row must stay null, hence the case
        case when implied_probability is not null then cast(least(floor(implied_probability * 10), 9) as integer)
        end as bucket,
        cast((implied_probability - outcome) * (implied_probability - outcome) as decimal(18,12)) as squared_error,
        case when implied_probability is not null then -(cast(outcome as double) * ln(greatest(least(cast(implied_probability as double), 1 - log_loss_clip), log_loss_clip))
            + (1 - cast(outcome as double))
            * ln(1 - greatest(least(cast(implied_probability as double), 1 - log_loss_clip), log_loss_clip)))
        end as log_loss,
        log_loss_clip
    from joined
)

select * from final
