-- grain: one row per scheduled series fee change id (latest loaded state)
-- purpose: a series' fee terms over time: from scheduled_ts on, the series trades at fee_type × fee_multiplier
-- (until its next change). A change Kalshi withdraws keeps its last landed state here.
with source as (
    select * from src_series_fee_changes
),

ranked as (
    select *, row_number() over (partition by id order by _loaded_at desc) as _rn
    from source
    where id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
