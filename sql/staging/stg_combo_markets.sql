-- grain: one row per ticker (the latest observed state)
-- purpose: combo markets (GET /markets?mve_filter=only), current state; their legs are in stg_combo_legs.
with source as (
    select * from src_combo_markets
),

ranked as (
    select *, row_number() over (
        partition by ticker order by _loaded_at desc, updated_time desc nulls last, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
