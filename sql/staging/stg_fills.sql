-- grain: one row per (_account, fill_id)
-- purpose: the account's own fills, deduplicated, with the signed YES-equivalent quantity
--   (book_side bid = +count at yes_price_dollars; ask = -count, i.e. buying NO at 1 - price).
--   Older fills without book_side: outcome_side yes = bid, no = ask ("buy-yes and sell-no produce yes"); before
--   that the legacy side/action (buy yes, sell no = bid; buy no, sell yes = ask). ticker falls back to
--   market_ticker.
--   Fills recorded from the WebSocket `fill` channel (`ws_fills`) join them: their trade_id is the REST fill_id;
--   created_time is the message's exchange `ts` (the channel has no created_time), no_price = 1 - yes_price. The
--   REST row wins when both exist; fill_source = rest | ws says which.
--   subaccount_number: the fill's subaccount (0 = primary); a fill without one (the spec sends it "for direct
--   users"; a WebSocket fill without `subaccount`) is the primary account's.
with rest as (
    select *, 'rest' as fill_source from src_fills
),

ws as (
    select
        trade_id as fill_id,
        trade_id,
        order_id,
        ticker,
        outcome_side,
        book_side,
        side,
        action,
        count_fp,
        yes_price_dollars,
        cast(1 - yes_price_dollars as decimal(18,6)) as no_price_dollars,
        is_taker,
        ts as created_time,
        fee_cost,
        subaccount as subaccount_number,
        ts,
        received_at,
        connection_id,
        _loaded_at,
        _run_id,
        _extra,
        _account,
        'ws' as fill_source
    from src_ws_fills
),

source as (
    select * from rest
    union all by name
    select * from ws
),

normalized as (
    select
        * replace (
            coalesce(ticker, market_ticker) as ticker,
            coalesce(
                book_side,
                case outcome_side when 'yes' then 'bid' when 'no' then 'ask' end,
                case
                    when (action = 'buy' and side = 'yes') or (action = 'sell' and side = 'no') then 'bid'
                    when (action = 'buy' and side = 'no') or (action = 'sell' and side = 'yes') then 'ask'
                end
            ) as book_side
        )
    from source
),

ranked as (
    select *, row_number() over (
        partition by _account, fill_id
        order by case fill_source when 'rest' then 0 else 1 end, received_at nulls first, _loaded_at, _run_id
    ) as _rn
    from normalized
    where fill_id is not null
),

final as (
    select
        * exclude (_rn) replace (coalesce(subaccount_number, 0) as subaccount_number),
        case book_side when 'bid' then count_fp when 'ask' then -count_fp end as yes_qty_fp
    from ranked
    where _rn = 1
)

select * from final
