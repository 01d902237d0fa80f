-- grain: one row per (_account, subaccount_number) (latest loaded state)
-- purpose: each subaccount's cash balance as GET /portfolio/subaccounts/balances reports it (0 = the primary
-- account, 1-63 numbered subaccounts; `balance` in dollars, the spec's FixedPointDollars, staged as
-- balance_dollars). The lake keeps every
-- observed state (src_subaccount_balances); this keeps the latest by updated_ts, then load time.
with source as (
    select * from src_subaccount_balances
),

ranked as (
    select *, row_number() over (
        partition by _account, subaccount_number order by updated_ts desc nulls last, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where subaccount_number is not null
),

final as (
    -- the API's `balance` is dollars here (cents in /portfolio/balance): named balance_dollars, as the lake's rule
    select * exclude (_rn, balance), balance as balance_dollars from ranked where _rn = 1
)

select * from final
