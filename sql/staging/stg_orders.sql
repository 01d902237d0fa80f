-- grain: one row per (_account, order_id) (latest known state)
-- purpose: the account's orders, latest state, from the REST `orders` stream and the WebSocket `user_orders`
--   channel (`ws_user_orders`, same order_id): the latest last_update_time wins, the REST row at a tie;
--   order_source = rest | ws says which. A ws row has no no_price_dollars in the message: 1 - yes_price.
with rest as (
    select *, 'rest' as order_source from src_orders
),

ws as (
    select
        *,
        cast(1 - yes_price_dollars as decimal(18,6)) as no_price_dollars,
        'ws' as order_source
    from src_ws_user_orders
),

source as (
    select * from rest
    union all by name
    select * from ws
),

ranked as (
    select *, row_number() over (
        partition by _account, order_id
        order by last_update_time desc nulls last, case order_source when 'rest' then 0 else 1 end,
            _loaded_at desc, _run_id desc, received_at desc
    ) as _rn
    from source
    where order_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
