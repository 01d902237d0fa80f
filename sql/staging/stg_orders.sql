-- grain: one row per (_account, order_id) (latest known state)
-- purpose: the account's orders, latest state.
with source as (
    select * from src_orders
),

ranked as (
    select *, row_number() over (
        partition by _account, order_id order by last_update_time desc nulls last, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where order_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
