-- grain: one row per trade_id
-- purpose: the public trade tape, deduplicated (a trade loaded twice keeps its first load); taker_book_side falls
--   back to taker_outcome_side, then the legacy taker_side (yes = bid, no = ask).
with source as (
    select * from src_trades
),

normalized as (
    select
        * replace (
            coalesce(
                taker_book_side,
                case coalesce(taker_outcome_side, taker_side) when 'yes' then 'bid' when 'no' then 'ask' end
            ) as taker_book_side
        )
    from source
),

ranked as (
    select *, row_number() over (partition by trade_id order by _loaded_at, _run_id) as _rn
    from normalized
    where trade_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
