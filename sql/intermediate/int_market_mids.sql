-- grain: one row per (ticker, observed_at, source); source = 'ws_book' (every change of the top of the book
--   recorded from the WebSocket, int_book_top), 'orderbook' (orderbook_snapshots), 'market'
--   (market snapshots of active markets, observed at their _loaded_at) or 'candle' (the best bid / ask at the
--   close of each candlestick, observed at end_period_ts; the shortest period wins when several end together):
--   candles give backfilled history a quote, the snapshots only exist from the first pull on
-- purpose: every observed YES quote of a market and its mid: the one place quotes are read from staging (the
-- fct_spreads mart and the P&L marks, int_market_marks and fct_pnl_daily, all start here). The book holds bids
-- only: yes_ask = 1 - best NO bid, yes_ask size = size of that NO bid. best = max(price) per side (never the list
-- order). A side with no levels (the null row the lake writes for an empty side) has null price and zero depth;
-- a market snapshot's side is absent when its price is <= 0 (or >= 1 for the ask) or its size is 0 (a candle's
-- side: price <= 0, or >= 1 for the ask; no sizes).
-- mid_dollars = (bid + ask) / 2, only for two-sided quotes.
-- quote_known = false only on ws_book rows where the recorded book stops being known whole (a gap, a lost
-- connection, the recorder stopping or dying): its quote ends there. A ws_book row holds until the next ws_book row
-- of its ticker (current_until; null for the last); a REST row (orderbook, market, candle) is current at its
-- observed_at only (current_until = observed_at). Readers prefer the ws_book quote when it is known and two-sided
-- at the instant they look (fresh), else fall back to the latest REST quote, and report the quote's source and
-- age (int_market_marks, fct_effective_spreads, fct_pnl_daily).
-- incremental: day = utc_date(observed_at)
-- incremental: instant = observed_at
-- incremental: stg_orderbook_snapshots by snapshot_ts
-- incremental: stg_market_history by _loaded_at
-- incremental: stg_candlesticks by end_period_ts
-- incremental: int_book_top rebuild
with levels as (
    select ticker, snapshot_ts, side, price_dollars, count_fp from stg_orderbook_snapshots
),

books as (
    select
        ticker,
        snapshot_ts as observed_at,
        'orderbook' as source,
        max(price_dollars) filter (where side = 'yes') as yes_bid_dollars,
        max(price_dollars) filter (where side = 'no') as best_no_bid_dollars,
        coalesce(arg_max(count_fp, price_dollars) filter (where side = 'yes' and price_dollars is not null), 0)
            as yes_bid_size_fp,
        coalesce(arg_max(count_fp, price_dollars) filter (where side = 'no' and price_dollars is not null), 0)
            as yes_ask_size_fp,
        coalesce(sum(count_fp) filter (where side = 'yes'), 0) as yes_bid_depth_fp,
        coalesce(sum(count_fp) filter (where side = 'no'), 0) as no_bid_depth_fp
    from levels
    group by ticker, snapshot_ts
),

book_quotes as (
    select
        ticker, observed_at, source,
        yes_bid_dollars,
        cast(1 - best_no_bid_dollars as decimal(18,6)) as yes_ask_dollars,
        cast(yes_bid_size_fp as decimal(18,2)) as yes_bid_size_fp,
        cast(yes_ask_size_fp as decimal(18,2)) as yes_ask_size_fp,
        cast(yes_bid_depth_fp as decimal(18,2)) as yes_bid_depth_fp,
        cast(no_bid_depth_fp as decimal(18,2)) as no_bid_depth_fp
    from books
),

market_quotes as (
    select
        ticker,
        _loaded_at as observed_at,
        'market' as source,
        case when yes_bid_dollars > 0 and coalesce(yes_bid_size_fp, 1) > 0 then yes_bid_dollars end
            as yes_bid_dollars,
        case when yes_ask_dollars > 0 and yes_ask_dollars < 1 and coalesce(yes_ask_size_fp, 1) > 0
            then yes_ask_dollars end as yes_ask_dollars,
        yes_bid_size_fp,
        yes_ask_size_fp,
        cast(null as decimal(18,2)) as yes_bid_depth_fp,
        cast(null as decimal(18,2)) as no_bid_depth_fp
    from stg_market_history
    where status in ('active', 'open')
),

candle_quotes as (
    select
        ticker,
        end_period_ts as observed_at,
        'candle' as source,
        case when yes_bid_close_dollars > 0 and yes_bid_close_dollars < 1 then yes_bid_close_dollars end
            as yes_bid_dollars,
        case when yes_ask_close_dollars > 0 and yes_ask_close_dollars < 1 then yes_ask_close_dollars end
            as yes_ask_dollars,
        cast(null as decimal(18,2)) as yes_bid_size_fp,
        cast(null as decimal(18,2)) as yes_ask_size_fp,
        cast(null as decimal(18,2)) as yes_bid_depth_fp,
        cast(null as decimal(18,2)) as no_bid_depth_fp
    from stg_candlesticks
    qualify row_number() over (partition by ticker, end_period_ts order by period_interval) = 1
),

ws_quotes as (
    select
        ticker,
        observed_at,
        'ws_book' as source,
        yes_bid_dollars,
        yes_ask_dollars,
        case when book_known then coalesce(yes_bid_size_fp, 0) end as yes_bid_size_fp,
        case when book_known then coalesce(yes_ask_size_fp, 0) end as yes_ask_size_fp,
        cast(null as decimal(18,2)) as yes_bid_depth_fp,
        cast(null as decimal(18,2)) as no_bid_depth_fp,
        book_known as quote_known,
        -- a ws_book row holds until the next ws_book row of its ticker (#20: the window sorts these rows only)
        lead(observed_at) over (partition by ticker order by observed_at) as current_until
    from int_book_top
),

unioned as (
    select *, true as quote_known, observed_at as current_until from book_quotes
    union all
    select *, true as quote_known, observed_at as current_until from candle_quotes
    union all
    select
        ticker, observed_at, source, yes_bid_dollars, yes_ask_dollars,
        case when yes_bid_dollars is null then 0 else yes_bid_size_fp end,
        case when yes_ask_dollars is null then 0 else yes_ask_size_fp end,
        yes_bid_depth_fp, no_bid_depth_fp, true as quote_known, observed_at as current_until
    from market_quotes
    union all
    select * from ws_quotes
),

final as (
    select
        ticker,
        observed_at,
        source,
        yes_bid_dollars,
        yes_ask_dollars,
        cast((yes_bid_dollars + yes_ask_dollars) * 0.5 as decimal(18,6)) as mid_dollars,
        yes_bid_size_fp,
        yes_ask_size_fp,
        yes_bid_depth_fp,
        no_bid_depth_fp,
        quote_known,
        current_until
    from unioned
)

select * from final
