-- grain: one row per trade_id
-- purpose: the public trade tape, deduplicated (a trade loaded twice keeps its first load).
with source as (
    select * from src_trades
),

ranked as (
    select *, row_number() over (partition by trade_id order by _loaded_at, _run_id) as _rn
    from source
    where trade_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
