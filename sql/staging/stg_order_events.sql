-- grain: one row per event_id
-- purpose: the order journal written by kalshi_extract.orders.front, deduplicated.
with source as (
    select * from src_order_events
),

ranked as (
    select *, row_number() over (partition by event_id order by _loaded_at, _run_id) as _rn
    from source
    where event_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
