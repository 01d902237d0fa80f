-- grain: one row per collection_ticker (the latest observed state)
-- purpose: multivariate event collections (GET /multivariate_event_collections): the templates combos are made from.
with source as (
    select * from src_mve_collections
),

ranked as (
    select *, row_number() over (
        partition by collection_ticker order by _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where collection_ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
