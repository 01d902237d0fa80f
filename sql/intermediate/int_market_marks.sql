-- grain: one row per ticker that has a mark
-- purpose: the mark used for unrealized P&L, and how old it is. The settlement value once the market is
-- determined; else the NEWER of (a) the most recently current two-sided mid in int_market_mids and (b) the last
-- trade with a price (stg_trades: the latest created_time, the highest trade_id at it; a trade without a time or a
-- price is never the last trade), the mid at a tie; else the market's last price (whose trade time the lake does not
-- know).
-- A 3-day-old mid no longer beats a later trade (#15). mark_source says which ('settlement_value', 'mid',
-- 'last_trade', 'last_price'; 'void' for a market determined void: no mark, its positions come back at cost).
-- "Most recently current" mid: a recorded WebSocket top (ws_book) is current until the next change of its book
-- (current_until), a REST quote at its observed_at; the latest wins, ws_book at a tie, then order book over market
-- snapshot over candle. mid_source names the quote's source, mid_current_until the last instant it was known
-- current.
-- mark_as_of = the last instant the mark was known current (the mid's current_until / observed_at, the trade's
-- created_time, the market snapshot's observed_at for a settlement value or last price). fct_pnl measures
-- mark_age_seconds from there to lake_as_of (the latest observation in the lake: quotes, trades, market snapshots).
-- incremental: day = all
-- incremental: int_market_mids by observed_at, carry (ticker, source, mid_dollars is null)
-- incremental: stg_trades by created_time, carry (ticker, yes_price_dollars is null)
-- incremental: int_market_states whole
with latest_mids as (
    select
        ticker,
        arg_max(
            {'observed_at': observed_at, 'mid_dollars': mid_dollars, 'source': source, 'current_until': current_until},
            quote_recency_key(coalesce(current_until, observed_at), source)
        ) as mid
    from int_market_mids
    where mid_dollars is not null
    group by ticker
),

mids as (
    select
        ticker,
        mid.observed_at,
        mid.mid_dollars,
        mid.source,
        mid.current_until,
        coalesce(mid.current_until, mid.observed_at) as known_at
    from latest_mids
),

-- each market's last priced instant, then the trades at it (#20: ranking every trade by (instant, trade_id) cost
-- ~0.3 s at 10M trades)
last_instants as (
    select ticker, max(created_time) as trade_time
    from stg_trades
    where yes_price_dollars is not null
    group by ticker
),

trades as (
    select l.ticker, l.trade_time, arg_max(t.yes_price_dollars, t.trade_id) as price
    from last_instants as l
    join stg_trades as t on t.ticker = l.ticker and t.created_time = l.trade_time
    group by all
),

markets as (
    select ticker, last_price_dollars, settlement_value_dollars, is_determined and is_void as is_void, observed_at
    from int_market_states
    where last_price_dollars is not null or settlement_value_dollars is not null or is_void
),

keys as (
    select ticker from mids union select ticker from trades union select ticker from markets
),

joined as (
    select
        k.ticker,
        d.settlement_value_dollars,
        coalesce(d.is_void, false) as is_void,
        d.last_price_dollars,
        d.observed_at as market_observed_at,
        m.mid_dollars,
        m.source as mid_source,
        m.known_at as mid_known_at,
        m.observed_at as mid_observed_at,
        t.price as trade_price,
        t.trade_time,
        case
            when d.is_void then 'void'
            when d.settlement_value_dollars is not null then 'settlement_value'
            when m.ticker is not null and (t.ticker is null or m.known_at >= t.trade_time) then 'mid'
            when t.ticker is not null then 'last_trade'
            when d.last_price_dollars is not null then 'last_price'
        end as mark_source
    from keys as k
    left join mids as m on m.ticker = k.ticker
    left join trades as t on t.ticker = k.ticker
    left join markets as d on d.ticker = k.ticker
),

final as (
    select
        ticker,
        cast(case mark_source
            when 'settlement_value' then settlement_value_dollars
            when 'mid' then mid_dollars
            when 'last_trade' then trade_price
            when 'last_price' then last_price_dollars
        end as decimal(18,6)) as mark_price_dollars,
        mark_source,
        case mark_source
            when 'mid' then mid_observed_at
            when 'last_trade' then trade_time
            else market_observed_at
        end as mark_observed_at,
        case mark_source
            when 'mid' then mid_known_at
            when 'last_trade' then trade_time
            else market_observed_at
        end as mark_as_of,
        case when mark_source = 'mid' then mid_source end as mid_source,
        case when mark_source = 'mid' then mid_known_at end as mid_current_until
    from joined
    where mark_source is not null
)

select * from final
