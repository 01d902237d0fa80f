-- grain: one row per (_account, trade_id); the WebSocket fill's trade_id is the REST fill_id
-- purpose: the account's fills from the private `fill` channel, deduplicated (first receipt). stg_fills merges
--   them with the REST fills.
with source as (
    select * from src_ws_fills
),

ranked as (
    select *, row_number() over (
        partition by _account, trade_id order by received_at nulls last, _loaded_at, _run_id
    ) as _rn
    from source
    where trade_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
