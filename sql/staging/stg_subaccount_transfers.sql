-- grain: one row per (_account, transfer_id)
-- purpose: transfers of cash between the account's subaccounts (GET /portfolio/subaccounts/transfers), integer
-- cents as sent, with amount_dollars; a transfer never changes, so a repeat landing is the same row.
with source as (
    select * from src_subaccount_transfers
),

ranked as (
    select *, row_number() over (partition by _account, transfer_id order by _loaded_at desc, _run_id desc) as _rn
    from source
    where transfer_id is not null
),

final as (
    select
        * exclude (_rn),
        cast(amount_cents as decimal(20,0)) * cast(0.01 as decimal(3,2)) as amount_dollars
    from ranked
    where _rn = 1
)

select * from final
