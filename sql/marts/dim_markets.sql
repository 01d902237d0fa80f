-- grain: one row per market ticker
-- purpose: market dimension: series/event/category, lifecycle times, status, result and resolved settlement value
-- (resolved in int_market_states: the YES payout per contract once determined; fractional for scalar markets).
-- Combo (multivariate) markets from stg_combo_markets are included, is_combo = true (their legs: dim_combo_legs);
-- a ticker in both keeps its stg_markets row, as int_market_states.
with markets as (
    select *, false as is_combo from stg_markets
    union all by name
    select *, true as is_combo
    from stg_combo_markets as c
    where not exists (select 1 from stg_markets as m where m.ticker = c.ticker)
),

states as (
    select * from int_market_states
),

events as (
    select * from stg_events
),

series as (
    select * from stg_series
),

-- a market's first and last trade from its daily rows (fct_market_daily: min/max created_time per ticker and UTC
-- day, recomputed by day), the same as over stg_trades: a top-up reads a row per market and day, not every trade
trade_stats as (
    select ticker, min(first_trade_time) as first_trade_time, max(last_trade_time) as last_trade_time
    from fct_market_daily
    group by ticker
),

joined as (
    select
        m.ticker,
        m.event_ticker,
        coalesce(e.series_ticker, split_part(m.event_ticker, '-', 1)) as series_ticker,
        coalesce(s.category, e.category) as category,
        m.market_type,
        m.is_combo,
        m.title,
        m.yes_sub_title,
        m.no_sub_title,
        e.title as event_title,
        s.title as series_title,
        s.fee_type,
        s.fee_multiplier,
        m.status,
        v.is_determined,
        v.result,
        m.created_time,
        m.open_time,
        m.close_time,
        m.expected_expiration_time,
        m.latest_expiration_time,
        m.settlement_ts,
        v.settlement_value_dollars,
        v.last_price_dollars,
        m.volume_fp,
        m.open_interest_fp,
        t.first_trade_time,
        t.last_trade_time,
        m.updated_time,
        m._loaded_at as observed_at
    from markets as m
    inner join states as v on v.ticker = m.ticker
    left join events as e on e.event_ticker = m.event_ticker
    left join series as s on s.ticker = coalesce(e.series_ticker, split_part(m.event_ticker, '-', 1))
    left join trade_stats as t on t.ticker = m.ticker
),

final as (
    select * from joined
)

select * from final
