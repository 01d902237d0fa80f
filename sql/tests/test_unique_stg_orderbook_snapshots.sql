-- stg_orderbook_snapshots: key (ticker, snapshot_ts, side, coalesce(level, -1)) unique and not null
select ticker, snapshot_ts, side, coalesce(level, -1), count(*) as n
from stg_orderbook_snapshots
group by all
having count(*) > 1
union all
select ticker, snapshot_ts, side, coalesce(level, -1), 1 as n
from stg_orderbook_snapshots
where ticker is null or snapshot_ts is null or side is null
