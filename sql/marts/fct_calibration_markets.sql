-- grain: one row per settled market with a known settlement value and at least one trade before close
-- purpose: implied probability (last YES trade price strictly before close_time, else before settlement) vs
-- outcome (settlement value per YES contract: 1/0 binary, fractional scalar), bucketed in tenths.
with markets as (
    select * from dim_markets where settlement_value_dollars is not null
),

last_trades as (
    select
        m.ticker,
        arg_max(t.yes_price_dollars, (t.created_time, t.trade_id)) as implied_probability,
        max(t.created_time) as last_trade_time
    from markets as m
    join stg_trades as t
        on t.ticker = m.ticker and t.created_time < coalesce(m.close_time, m.settlement_ts, t.created_time + interval 1 second)
    group by m.ticker
),

final as (
    select
        m.ticker,
        m.event_ticker,
        m.series_ticker,
        coalesce(m.category, '') as category,
        m.market_type,
        l.last_trade_time,
        cast(l.implied_probability as decimal(18,6)) as implied_probability,
        cast(m.settlement_value_dollars as decimal(18,6)) as outcome,
        cast(least(floor(l.implied_probability * 10), 9) as integer) as bucket,
        cast((l.implied_probability - m.settlement_value_dollars)
            * (l.implied_probability - m.settlement_value_dollars) as decimal(18,12)) as squared_error
    from markets as m
    join last_trades as l on l.ticker = m.ticker
)

select * from final
