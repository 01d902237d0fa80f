-- grain: one row per market ticker (the latest observed state)
-- purpose: current state of every market; history stays in stg_market_history.
-- incremental: day = all
-- incremental: src_markets by date, carry (ticker)
-- (a pull reads the new partitions and, per ticker, its rows of the last partition day before them: the
-- latest _loaded_at lies there, since a markets row's `date` partition is the UTC day of its _loaded_at)
with source as (
    select * from src_markets
),

ranked as (
    select *, row_number() over (
        partition by ticker order by _loaded_at desc, updated_time desc nulls last, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
