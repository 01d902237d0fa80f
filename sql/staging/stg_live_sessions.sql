-- grain: one row per (session_id, event, "at")
-- purpose: one row per runner start or stop, written by kalshi_lake.live (kalshi-lake run), deduplicated.
with source as (
    select * from src_live_sessions
),

ranked as (
    select *, row_number() over (partition by session_id, event, "at" order by _loaded_at, _run_id) as _rn
    from source
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
