-- grain: one row per scheduled event fee change id (latest loaded state)
-- purpose: event fee overrides over time, layered on the series terms; both overrides null = from scheduled_ts
-- on the override is cleared and the series terms apply again (clears_override).
with source as (
    select * from src_event_fee_changes
),

ranked as (
    select *, row_number() over (partition by id order by _loaded_at desc) as _rn
    from source
    where id is not null
),

final as (
    select
        * exclude (_rn),
        fee_type_override is null and fee_multiplier_override is null as clears_override
    from ranked
    where _rn = 1
)

select * from final
