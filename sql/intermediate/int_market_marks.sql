-- grain: one row per ticker that has a mark
-- purpose: the mark used for unrealized P&L: the settlement value once the market is determined, else the most
-- recently current two-sided mid in int_market_mids, else the market's last trade price; mark_source says which.
-- "Most recently current": a recorded WebSocket top (ws_book) is current until the next change of its book
-- (current_until), a REST quote at its observed_at; the latest wins, ws_book at a tie, then order book over market
-- snapshot over candle. mid_source names the quote's source, mid_current_until the last instant it was known
-- current (its age is measured from there); without WebSocket data this is the latest REST mid, as before.
-- A market determined `void` has no mark (mark_source 'void'): its positions come back at cost, unrealized 0.
with mids as (
    select ticker, observed_at, mid_dollars, source, current_until
    from int_market_mids
    where mid_dollars is not null
    qualify row_number() over (
        partition by ticker
        order by coalesce(current_until, observed_at) desc,
            case source when 'ws_book' then 0 when 'orderbook' then 1 when 'market' then 2 else 3 end
    ) = 1
),

markets as (
    select ticker, last_price_dollars, settlement_value_dollars, is_determined and is_void as is_void, observed_at
    from int_market_states
    where last_price_dollars is not null or settlement_value_dollars is not null or is_void
),

final as (
    select
        coalesce(m.ticker, d.ticker) as ticker,
        case when not coalesce(d.is_void, false)
            then coalesce(d.settlement_value_dollars, m.mid_dollars, d.last_price_dollars) end as mark_price_dollars,
        case
            when d.is_void then 'void'
            when d.settlement_value_dollars is not null then 'settlement_value'
            when m.ticker is not null then 'mid'
            else 'last_price'
        end as mark_source,
        case when d.settlement_value_dollars is not null or d.is_void then d.observed_at else m.observed_at end
            as mark_observed_at,
        case when d.settlement_value_dollars is null and not coalesce(d.is_void, false) then m.source end
            as mid_source,
        case when d.settlement_value_dollars is null and not coalesce(d.is_void, false)
            then coalesce(m.current_until, m.observed_at) end as mid_current_until
    from mids as m
    full outer join markets as d on d.ticker = m.ticker
)

select * from final
