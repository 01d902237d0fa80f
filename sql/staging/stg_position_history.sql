-- grain: one row per (_account, subaccount_number, ticker, snapshot_ts)
-- purpose: every positions snapshot the lake holds (snapshot_ts falls back to _loaded_at).
with source as (
    select
        * exclude (snapshot_ts, subaccount_number),
        coalesce(snapshot_ts, _loaded_at) as snapshot_ts,
        coalesce(subaccount_number, 0) as subaccount_number
    from src_positions
),

ranked as (
    select *, row_number() over (
        partition by _account, subaccount_number, ticker, snapshot_ts order by _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
