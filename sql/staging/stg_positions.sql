-- grain: one row per (_account, subaccount_number, ticker) (the latest snapshot)
-- subaccount_number: the subaccount the snapshot was read for (the pull reads every subaccount; rows landed
-- before that are subaccount 0, the endpoint's default)
-- purpose: what the exchange reports now for each market position (for reconciliation).
with source as (
    select
        * exclude (snapshot_ts, subaccount_number),
        coalesce(snapshot_ts, _loaded_at) as snapshot_ts,
        coalesce(subaccount_number, 0) as subaccount_number
    from src_positions
),

ranked as (
    select *, row_number() over (
        partition by _account, subaccount_number, ticker order by snapshot_ts desc, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
