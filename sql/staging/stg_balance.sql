-- grain: one row per (_account, subaccount_number, snapshot_ts)
-- purpose: balance and portfolio value (integer cents) over time per subaccount, deduplicated. The pull reads
-- the balance of every subaccount (the endpoint defaults to 0); rows landed before that are subaccount 0.
with source as (
    select
        * exclude (snapshot_ts, subaccount_number),
        coalesce(snapshot_ts, _loaded_at) as snapshot_ts,
        coalesce(subaccount_number, 0) as subaccount_number
    from src_balance
),

ranked as (
    select *, row_number() over (
        partition by _account, subaccount_number, snapshot_ts order by _loaded_at desc, _run_id desc
    ) as _rn
    from source
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
