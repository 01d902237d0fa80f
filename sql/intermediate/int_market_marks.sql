-- grain: one row per ticker that has a mark
-- purpose: the mark used for unrealized P&L: the settlement value once the market is determined, else the latest
-- two-sided mid in int_market_mids (order book wins over a market snapshot at the same instant), else the market's
-- last trade price; mark_source says which.
with mids as (
    select ticker, observed_at, mid_dollars
    from int_market_mids
    where mid_dollars is not null
    qualify row_number() over (
        partition by ticker order by observed_at desc, case source when 'orderbook' then 0 when 'market' then 1 else 2 end
    ) = 1
),

markets as (
    select ticker, last_price_dollars, settlement_value_dollars, observed_at
    from int_market_states
    where last_price_dollars is not null or settlement_value_dollars is not null
),

final as (
    select
        coalesce(m.ticker, d.ticker) as ticker,
        coalesce(d.settlement_value_dollars, m.mid_dollars, d.last_price_dollars) as mark_price_dollars,
        case
            when d.settlement_value_dollars is not null then 'settlement_value'
            when m.ticker is not null then 'mid'
            else 'last_price'
        end as mark_source,
        case when d.settlement_value_dollars is not null then d.observed_at else m.observed_at end
            as mark_observed_at
    from mids as m
    full outer join markets as d on d.ticker = m.ticker
)

select * from final
