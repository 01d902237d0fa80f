-- grain: one row per (_account, order_group_id, event_type, contracts_limit_fp, ts) (one order-group message;
--   the same message recorded twice, e.g. by two recorders on one key, lands once: its first receipt)
-- purpose: the account's order-group history from the private `order_group_updates` channel: created,
--   limit_updated (with the new `contracts_limit_fp`), triggered, reset, deleted, in exchange time.
with source as (
    select * from src_ws_order_groups
),

ranked as (
    select *, row_number() over (
        partition by _account, order_group_id, event_type, contracts_limit_fp, ts
        order by received_at nulls last, _loaded_at, _run_id
    ) as _rn
    from source
    where order_group_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
