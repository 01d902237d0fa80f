-- grain: one row per (_account, ticker) (the latest snapshot)
-- purpose: what the exchange reports now for each market position (for reconciliation).
with source as (
    select * exclude (snapshot_ts), coalesce(snapshot_ts, _loaded_at) as snapshot_ts from src_positions
),

ranked as (
    select *, row_number() over (
        partition by _account, ticker order by snapshot_ts desc, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
