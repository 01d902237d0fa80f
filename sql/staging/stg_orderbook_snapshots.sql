-- grain: one row per (ticker, snapshot_ts, side, level); an empty side is one row with null price, count, level
-- purpose: order-book levels (bids only, as the API gives them), deduplicated.
-- How (#20): only the keys loaded more than once are ranked; the others (almost every level) pass through without
-- the sort a window over every row costs.
-- incremental: day = utc_date(snapshot_ts)
-- incremental: instant = snapshot_ts
-- incremental: src_orderbook_snapshots by date
with source as (
    select * from src_orderbook_snapshots
    where ticker is not null and snapshot_ts is not null
),

repeated as (
    select ticker, snapshot_ts, side, coalesce(level, -1) as level_key
    from source
    group by ticker, snapshot_ts, side, coalesce(level, -1)
    having count(*) > 1
),

loaded_once as (
    select s.*
    from source as s
    anti join repeated as r
        on r.ticker = s.ticker
        and r.snapshot_ts = s.snapshot_ts
        and r.side is not distinct from s.side
        and r.level_key = coalesce(s.level, -1)
),

latest_of_repeated as (
    select s.*
    from source as s
    semi join repeated as r
        on r.ticker = s.ticker
        and r.snapshot_ts = s.snapshot_ts
        and r.side is not distinct from s.side
        and r.level_key = coalesce(s.level, -1)
    qualify row_number() over (
        partition by s.ticker, s.snapshot_ts, s.side, coalesce(s.level, -1) order by s._loaded_at desc, s._run_id desc
    ) = 1
),

final as (
    select * from loaded_once
    union all
    select * from latest_of_repeated
)

select * from final
