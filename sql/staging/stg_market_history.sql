-- grain: one row per (ticker, _loaded_at): every observed market state, duplicates within one load removed
-- purpose: the full market history (prices, status) for spreads and lifecycle analysis.
-- incremental: day = utc_date(_loaded_at)
-- incremental: instant = _loaded_at
-- incremental: src_markets by date
with source as (
    select * from src_markets
),

ranked as (
    select *, row_number() over (
        partition by ticker, _loaded_at order by updated_time desc nulls last, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
