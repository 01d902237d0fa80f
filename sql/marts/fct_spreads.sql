-- grain: one row per (ticker, observed_at, source); source = 'ws_book', 'orderbook', 'market' or 'candle' (see
--   int_market_mids, which reads the quotes)
-- purpose: quoted spread over time: bid, ask, spread and mid of every observed quote, size at best (zero for an
-- absent side; candles have no sizes), depth and the book's state. spread and mid exist only for two-sided books.
-- book_state 'unknown' (ws_book only): from here the recorded book is not known whole; no quote until the next row.
-- incremental: day = observed_date
-- incremental: int_market_mids by observed_at
with quotes as (
    select * from int_market_mids
),

final as (
    select
        ticker,
        observed_at,
        utc_date(observed_at) as observed_date,
        source,
        yes_bid_dollars,
        yes_ask_dollars,
        cast(yes_ask_dollars - yes_bid_dollars as decimal(18,6)) as spread_dollars,
        mid_dollars,
        case when source <> 'candle' and quote_known then coalesce(yes_bid_size_fp, 0) end as yes_bid_size_fp,
        case when source <> 'candle' and quote_known then coalesce(yes_ask_size_fp, 0) end as yes_ask_size_fp,
        yes_bid_depth_fp,
        no_bid_depth_fp,
        case
            when not quote_known then 'unknown'
            when yes_bid_dollars is not null and yes_ask_dollars is not null then 'two_sided'
            when yes_bid_dollars is not null then 'bid_only'
            when yes_ask_dollars is not null then 'ask_only'
            else 'empty'
        end as book_state
    from quotes
)

select * from final
