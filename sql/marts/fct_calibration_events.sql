-- grain: one row per (event_ticker, horizon, market_class) of fct_calibration_markets
-- purpose: calibration seen by event, the unit that is independent: markets of one event (mutually exclusive
-- brackets, say) resolve together, so n = markets overstates the evidence (fct_calibration's wilson_*_events use
-- n = events; this mart gives each event's own numbers, for event-clustered intervals or a bootstrap over events).
-- markets / markets_priced (unpriced markets counted, not scored), yes_outcome_sum = sum of the outcomes (1 for a
-- mutually exclusive event that resolved), mean_implied_probability and yes_price_sum over the priced markets,
-- brier_score = mean squared error over the priced markets (exact, dec_div; sum_squared_error beside it for
-- pooling), log_loss the mean over them (DOUBLE, clipped as in fct_calibration_markets), max_price_age_seconds
-- the oldest price used. mutually_exclusive from stg_events (null when the lake has no event row).
with markets as (
    select * from fct_calibration_markets
),

events as (
    select event_ticker, mutually_exclusive from stg_events
),

final as (
    select
        m.event_ticker,
        m.horizon,
        m.market_class,
        any_value(m.series_ticker) as series_ticker,
        any_value(m.category) as category,
        any_value(e.mutually_exclusive) as mutually_exclusive,
        count(*) as markets,
        count(m.implied_probability) as markets_priced,
        cast(sum(m.outcome) as decimal(18,6)) as yes_outcome_sum,
        cast(sum(m.implied_probability) as decimal(18,6)) as yes_price_sum,
        cast(dec_div(sum(m.implied_probability), count(m.implied_probability)) as decimal(18,6))
            as mean_implied_probability,
        cast(sum(m.squared_error) as decimal(18,12)) as sum_squared_error,
        cast(dec_div(sum(m.squared_error), count(m.squared_error)) as decimal(18,6)) as brier_score,
        avg(m.log_loss) as log_loss,
        max(m.price_age_seconds) as max_price_age_seconds
    from markets as m
    left join events as e on e.event_ticker = m.event_ticker
    group by m.event_ticker, m.horizon, m.market_class
)

select * from final
