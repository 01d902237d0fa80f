-- grain: one row per (_account, fill_id)
-- purpose: the account's own fills, deduplicated, with the signed YES-equivalent quantity
--   (book_side bid = +count at yes_price_dollars; ask = -count, i.e. buying NO at 1 - price).
with source as (
    select * from src_fills
),

ranked as (
    select *, row_number() over (partition by _account, fill_id order by _loaded_at, _run_id) as _rn
    from source
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
