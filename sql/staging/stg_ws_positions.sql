-- grain: one row per (_account, ticker, subaccount) (latest known state; subaccount null = the primary account)
-- purpose: the account's positions from the private `market_positions` channel, latest state (latest exchange
--   ts, then latest receipt).
with source as (
    select * from src_ws_positions
),

ranked as (
    select *, row_number() over (
        partition by _account, ticker, subaccount
        order by ts desc nulls last, received_at desc nulls last, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
