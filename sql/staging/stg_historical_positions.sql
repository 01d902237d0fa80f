-- grain: one row per (_account, ticker) (latest loaded state)
-- purpose: settled market positions Kalshi archived before the historical cutoff (GET /historical/positions);
-- together with stg_positions the account's whole position history.
with source as (
    select * from src_historical_positions
),

ranked as (
    select *, row_number() over (
        partition by _account, ticker order by _loaded_at desc, last_updated_ts desc nulls last
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
