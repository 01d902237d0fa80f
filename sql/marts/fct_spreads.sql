-- grain: one row per (ticker, observed_at, source); source = 'ws_book', 'orderbook', 'market' or 'candle' (see
--   int_market_mids, which reads the quotes)
-- purpose: quoted spread over time: bid, ask, spread and mid of every observed quote, size at best (zero for an
-- absent side; candles have no sizes), depth and the book's state. spread, mid and relative_spread (spread / mid)
-- exist only for two-sided books. A quote row is its own observation: its age is 0 at observed_at (fct_spreads_daily
-- and fct_spreads_by_close say how long each was held). Depth at the best levels (REST order books only, the
-- recorded WebSocket top has no depth): yes_bid_depth_2c_fp = YES bids within 2c of the best bid,
-- yes_ask_depth_2c_fp = NO bids within 2c of the best NO bid, i.e. YES asks within 2c of the best ask; 0 for an
-- empty side; yes_bid_depth_fp / no_bid_depth_fp the whole book.
-- book_state 'unknown' (ws_book only): from here the recorded book is not known whole; no quote until the next row.
-- Incremental from an instant: a row reads the quotes and order-book levels of its own instant only.
-- incremental: day = observed_date
-- incremental: instant = observed_at
-- incremental: int_market_mids by observed_at
-- incremental: stg_orderbook_snapshots by snapshot_ts
with quotes as (
    select * from int_market_mids
),

-- the best bids of each REST order book, from its quote (#20: not a max() over every level again); best NO bid =
-- 1 - yes_ask, exactly
best_bids as (
    select ticker, observed_at, yes_bid_dollars, 1 - yes_ask_dollars as best_no_bid_dollars
    from quotes
    where source = 'orderbook'
),

levels as (
    select ticker, snapshot_ts, side, price_dollars, count_fp from stg_orderbook_snapshots
),

near_best as (
    select
        l.ticker,
        l.snapshot_ts as observed_at,
        'orderbook' as source,
        coalesce(sum(l.count_fp) filter (where l.side = 'yes' and l.price_dollars >= b.yes_bid_dollars - 0.02), 0)
            as yes_bid_depth_2c_fp,
        coalesce(sum(l.count_fp) filter (where l.side = 'no' and l.price_dollars >= b.best_no_bid_dollars - 0.02), 0)
            as yes_ask_depth_2c_fp
    from levels as l
    join best_bids as b on b.ticker = l.ticker and b.observed_at = l.snapshot_ts
    group by l.ticker, l.snapshot_ts
),

final as (
    select
        q.ticker,
        q.observed_at,
        utc_date(q.observed_at) as observed_date,
        q.source,
        yes_bid_dollars,
        yes_ask_dollars,
        cast(yes_ask_dollars - yes_bid_dollars as decimal(18,6)) as spread_dollars,
        mid_dollars,
        cast(dec_div_6dp(yes_ask_dollars - yes_bid_dollars, mid_dollars) as decimal(18,6)) as relative_spread,
        case when q.source <> 'candle' and quote_known then coalesce(yes_bid_size_fp, 0) end as yes_bid_size_fp,
        case when q.source <> 'candle' and quote_known then coalesce(yes_ask_size_fp, 0) end as yes_ask_size_fp,
        q.yes_bid_depth_fp,
        q.no_bid_depth_fp,
        cast(n.yes_bid_depth_2c_fp as decimal(18,2)) as yes_bid_depth_2c_fp,
        cast(n.yes_ask_depth_2c_fp as decimal(18,2)) as yes_ask_depth_2c_fp,
        case
            when not quote_known then 'unknown'
            when yes_bid_dollars is not null and yes_ask_dollars is not null then 'two_sided'
            when yes_bid_dollars is not null then 'bid_only'
            when yes_ask_dollars is not null then 'ask_only'
            else 'empty'
        end as book_state
    from quotes as q
    left join near_best as n on n.ticker = q.ticker and n.observed_at = q.observed_at and n.source = q.source
)

select * from final
