-- grain: one row per (_account, id) (latest loaded state of a withdrawal)
-- purpose: the account's withdrawals (GET /portfolio/withdrawals), integer cents as sent; each status change lands as
-- a new lake row (pending -> applied | failed | returned) and this keeps the latest. applied = funds have left the
-- balance (spec); flow_time = finalized_ts, else created_ts.
with source as (
    select * from src_withdrawals
),

ranked as (
    select *, row_number() over (
        partition by _account, id order by _loaded_at desc, finalized_ts desc nulls last
    ) as _rn
    from source
    where id is not null
),

final as (
    select
        * exclude (_rn),
        coalesce(finalized_ts, created_ts) as flow_time
    from ranked
    where _rn = 1
)

select * from final
