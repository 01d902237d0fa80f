-- grain: one row per (event_ticker, horizon) for every mutually exclusive event (stg_events.mutually_exclusive)
--   and each fixed horizon '7d', '24h', '1h' ('open' is left out: each market's open instant differs)
-- purpose: do the YES prices of an event's mutually exclusive markets sum to 1? At each market's close_time -
--   horizon (fct_calibration_prices: a fresh mid, else the last trade; all markets of an event usually share
--   close_time, as_of_spread_seconds says when they do not) sum the prices of every market of the event (any
--   status). yes_price_sum / deviation (= sum - 1) only when every market is priced (all_priced), else null:
--   a partial sum is not a test of the identity. A sum above 1 is the overround of buying every YES; below 1,
--   of buying every NO. Trades can be old (max_price_age_seconds), so the sum mixes instants.
with events as (
    select event_ticker from stg_events where mutually_exclusive
),

prices as (
    select p.*
    from fct_calibration_prices as p
    join events as e on e.event_ticker = p.event_ticker
    where p.horizon <> 'open'
),

final as (
    select
        event_ticker,
        horizon,
        any_value(series_ticker) as series_ticker,
        count(*) as markets,
        count(implied_probability) as markets_priced,
        count(*) filter (where price_source = 'mid') as markets_from_mid,
        count(implied_probability) = count(*) as all_priced,
        min(as_of) as as_of,
        cast(epoch(max(as_of)) - epoch(min(as_of)) as decimal(18,3)) as as_of_spread_seconds,
        max(price_age_seconds) as max_price_age_seconds,
        case when count(implied_probability) = count(*) then cast(sum(implied_probability) as decimal(18,6)) end
            as yes_price_sum,
        case when count(implied_probability) = count(*) then cast(sum(implied_probability) - 1 as decimal(18,6)) end
            as deviation
    from prices
    group by event_ticker, horizon
)

select * from final
