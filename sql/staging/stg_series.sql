-- grain: one row per series ticker (latest loaded state)
-- purpose: series metadata (category, fee schedule), deduplicated.
with source as (
    select * from src_series
),

ranked as (
    select *, row_number() over (
        partition by ticker order by _loaded_at desc, last_updated_ts desc nulls last
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
