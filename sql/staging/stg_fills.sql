-- grain: one row per (_account, fill_id)
-- purpose: the account's own fills, deduplicated, with the signed YES-equivalent quantity
--   (book_side bid = +count at yes_price_dollars; ask = -count, i.e. buying NO at 1 - price).
--   Older fills without book_side: outcome_side yes = bid, no = ask ("buy-yes and sell-no produce yes"); before
--   that the legacy side/action (buy yes, sell no = bid; buy no, sell yes = ask). ticker falls back to
--   market_ticker.
with source as (
    select * from src_fills
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
    select *, row_number() over (partition by _account, fill_id order by _loaded_at, _run_id) as _rn
    from normalized
    where fill_id is not null
),

final as (
    select
        * exclude (_rn),
        case book_side when 'bid' then count_fp when 'ask' then -count_fp end as yes_qty_fp
    from ranked
    where _rn = 1
)

select * from final
