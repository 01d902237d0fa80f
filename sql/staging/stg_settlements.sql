-- grain: one row per (_account, ticker)
-- purpose: the account's settlements (revenue and value in integer cents), deduplicated.
with source as (
    select * from src_settlements
),

ranked as (
    select *, row_number() over (partition by _account, ticker order by _loaded_at desc, _run_id desc) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
