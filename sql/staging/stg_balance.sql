-- grain: one row per (_account, snapshot_ts)
-- purpose: balance and portfolio value (integer cents) over time, deduplicated.
with source as (
    select * exclude (snapshot_ts), coalesce(snapshot_ts, _loaded_at) as snapshot_ts from src_balance
),

ranked as (
    select *, row_number() over (partition by _account, snapshot_ts order by _loaded_at desc, _run_id desc) as _rn
    from source
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
