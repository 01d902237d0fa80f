-- grain: one row per (session_id, "at")
-- purpose: one row per status line of a live or paper session (the meaning of bt_equity), written by kalshi_lake.live (kalshi-lake run), deduplicated.
with source as (
    select * from src_live_status
),

ranked as (
    select *, row_number() over (partition by session_id, "at" order by _loaded_at, _run_id) as _rn
    from source
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
