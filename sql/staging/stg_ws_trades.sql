-- grain: one row per trade_id
-- purpose: trades from the WebSocket `trade` channel, deduplicated (the same trade recorded on two connections, or
--   landed twice, keeps its first receipt); taker_book_side falls back as in stg_trades. stg_trades merges these
--   with the REST tape.
with source as (
    select * from src_ws_trades
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
    select *, row_number() over (
        partition by trade_id order by received_at nulls last, _loaded_at, _run_id
    ) as _rn
    from normalized
    where trade_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
