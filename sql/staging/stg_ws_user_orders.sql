-- grain: one row per (_account, order_id) (latest known state)
-- purpose: the account's orders from the private `user_orders` channel, latest state (latest last_update_time,
--   then latest receipt). stg_orders merges them with the REST orders.
with source as (
    select * from src_ws_user_orders
),

ranked as (
    select *, row_number() over (
        partition by _account, order_id
        order by last_update_time desc nulls last, received_at desc nulls last, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where order_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
