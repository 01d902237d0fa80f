-- grain: one row per snapshot_ts
-- purpose: exchange / trading active flags over time.
with source as (
    select * from src_exchange_status
),

ranked as (
    select *, row_number() over (partition by snapshot_ts order by _loaded_at desc, _run_id desc) as _rn
    from source
    where snapshot_ts is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
