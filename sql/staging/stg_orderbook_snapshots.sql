-- grain: one row per (ticker, snapshot_ts, side, level); an empty side is one row with null price, count, level
-- purpose: order-book levels (bids only, as the API gives them), deduplicated.
-- incremental: day = utc_date(snapshot_ts)
-- incremental: src_orderbook_snapshots by date
with source as (
    select * from src_orderbook_snapshots
),

ranked as (
    select *, row_number() over (
        partition by ticker, snapshot_ts, side, coalesce(level, -1) order by _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null and snapshot_ts is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
