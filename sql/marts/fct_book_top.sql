-- grain: one row per (ticker, observed_at): every change of a market's top of book recorded from the WebSocket
-- purpose: best YES bid / ask (ask = 1 - best NO bid), their sizes, mid and spread at every change of the top, with
--   the connection (and sid, seq) whose message changed it; observed_at on the recorder's clock, exchange_ts the
--   exchange's time of the delta (null for a snapshot). book_state = two_sided | bid_only | ask_only | empty, or
--   unknown from the instant the book stops being known whole (a gap, a lost connection, the recorder stopping
--   or dying; see fct_book_gaps) until it is whole again: a quote stands only until the next row.
with tops as (
    select * from int_book_top
),

final as (
    select
        ticker,
        observed_at,
        utc_date(observed_at) as observed_date,
        exchange_ts,
        connection_id,
        sid,
        seq,
        case
            when not book_known then 'unknown'
            when yes_bid_dollars is not null and yes_ask_dollars is not null then 'two_sided'
            when yes_bid_dollars is not null then 'bid_only'
            when yes_ask_dollars is not null then 'ask_only'
            else 'empty'
        end as book_state,
        yes_bid_dollars,
        yes_bid_size_fp,
        yes_ask_dollars,
        yes_ask_size_fp,
        cast((yes_bid_dollars + yes_ask_dollars) * 0.5 as decimal(18,6)) as mid_dollars,
        cast(yes_ask_dollars - yes_bid_dollars as decimal(18,6)) as spread_dollars
    from tops
)

select * from final
