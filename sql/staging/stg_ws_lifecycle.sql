-- grain: one row per (connection_id, sid, type, event_type, ticker, event_ticker, received_at): one lifecycle
--   message (market_lifecycle_v2, event_lifecycle, event_fee_update ...; the channel has no seq)
-- purpose: recorded market and event lifecycle messages (open, close, determination, settlement, fee changes),
--   deduplicated.
with source as (
    select * from src_ws_lifecycle
),

ranked as (
    select *, row_number() over (
        partition by connection_id, sid, type, event_type, ticker, event_ticker, received_at
        order by _loaded_at, _run_id
    ) as _rn
    from source
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
