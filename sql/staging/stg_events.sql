-- grain: one row per event ticker (latest loaded state)
-- purpose: events with their series and category, deduplicated.
with source as (
    select * from src_events
),

ranked as (
    select *, row_number() over (
        partition by event_ticker order by _loaded_at desc, last_updated_ts desc nulls last
    ) as _rn
    from source
    where event_ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
