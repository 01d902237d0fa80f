-- grain: one row per event_ticker (the latest observed state)
-- purpose: multivariate (combo) events (GET /events/multivariate; /events leaves them out).
with source as (
    select * from src_mve_events
),

ranked as (
    select *, row_number() over (
        partition by event_ticker order by _loaded_at desc, last_updated_ts desc nulls last, _run_id desc
    ) as _rn
    from source
    where event_ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
