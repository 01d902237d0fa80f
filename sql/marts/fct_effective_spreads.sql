-- grain: one row per trade_id
-- purpose: effective spread of every trade = 2 x |yes_price - prevailing mid|, where the prevailing mid is the
-- latest two-sided mid in fct_spreads at or before the trade (ASOF join; at the same instant an order-book snapshot wins
-- over a market snapshot, which wins over a candle close). signed_effective_spread_dollars is positive when the taker paid up
-- (taker_book_side bid = taker bought YES above mid; ask = taker sold YES below mid). Trades with no earlier mid
-- keep null spreads. mid_age_seconds says how stale the mid was.
-- A recorded WebSocket top (source ws_book) is preferred when it is fresh at the trade: the latest ws_book row at
-- or before the trade is known and two-sided; else the REST quotes as above. ws_book rows are on the recorder's
-- receive clock and trades on the exchange's: the book change a trade causes arrives after the trade, so the ASOF
-- lookup sees the book the trade met.
with trades as (
    select * from stg_trades
),

ws_tops as (
    select ticker, observed_at, mid_dollars from fct_spreads where source = 'ws_book'
),

mids as (
    select ticker, observed_at, mid_dollars, source
    from fct_spreads
    where mid_dollars is not null and source <> 'ws_book'
    qualify row_number() over (
        partition by ticker, observed_at order by case source when 'orderbook' then 0 when 'market' then 1 else 2 end
    ) = 1
),

joined as (
    select
        t.trade_id,
        t.ticker,
        t.created_time,
        utc_date(t.created_time) as trade_date,
        t.yes_price_dollars,
        t.count_fp,
        t.taker_outcome_side,
        t.taker_book_side,
        t.is_block_trade,
        case when w.mid_dollars is not null then w.mid_dollars else m.mid_dollars end as mid_dollars,
        case when w.mid_dollars is not null then 'ws_book' else m.source end as mid_source,
        case when w.mid_dollars is not null then w.observed_at else m.observed_at end as mid_observed_at
    from trades as t
    asof left join mids as m
        on m.ticker = t.ticker and t.created_time >= m.observed_at
    asof left join ws_tops as w
        on w.ticker = t.ticker and t.created_time >= w.observed_at
),

final as (
    select
        *,
        datediff('second', mid_observed_at, created_time) as mid_age_seconds,
        cast(2 * abs(yes_price_dollars - mid_dollars) as decimal(18,6)) as effective_spread_dollars,
        cast(2 * (yes_price_dollars - mid_dollars)
            * case taker_book_side when 'ask' then -1 else 1 end as decimal(18,6))
            as signed_effective_spread_dollars
    from joined
)

select * from final
