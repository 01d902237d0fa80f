-- grain: one row per ticker that has a mark
-- purpose: the mark used for unrealized P&L: the latest two-sided mid in fct_spreads (order book wins over a
-- market snapshot at the same instant), else the market's last trade price; mark_source says which.
with mids as (
    select ticker, observed_at, mid_dollars
    from fct_spreads
    where mid_dollars is not null
    qualify row_number() over (
        partition by ticker order by observed_at desc, case source when 'orderbook' then 0 else 1 end
    ) = 1
),

last_prices as (
    select ticker, last_price_dollars from dim_markets where last_price_dollars is not null
),

final as (
    select
        coalesce(m.ticker, l.ticker) as ticker,
        coalesce(m.mid_dollars, l.last_price_dollars) as mark_price_dollars,
        case when m.ticker is not null then 'mid' else 'last_price' end as mark_source,
        m.observed_at as mark_observed_at
    from mids as m
    full outer join last_prices as l on l.ticker = m.ticker
)

select * from final
