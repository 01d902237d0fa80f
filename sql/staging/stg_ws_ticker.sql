-- grain: one row per (connection_id, sid, ticker, received_at): one `ticker` channel message (the channel has no
--   seq; a message is identified by its connection, subscription, market and arrival instant)
-- purpose: recorded ticker updates (best bid/ask as the exchange summarises them, last trade, volume), deduplicated.
with source as (
    select * from src_ws_ticker
),

ranked as (
    select *, row_number() over (
        partition by connection_id, sid, ticker, received_at order by _loaded_at, _run_id
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
