-- grain: one row per (event_id)
-- purpose: one row per step of a live or paper order (decided, refused, sent, resting, filled, canceled), written by kalshi_lake.live (kalshi-lake run), deduplicated.
with source as (
    select * from src_live_orders
),

ranked as (
    select *, row_number() over (partition by event_id order by _loaded_at, _run_id) as _rn
    from source
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
