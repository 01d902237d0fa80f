-- stg_exchange_status: key (snapshot_ts) unique and not null
select snapshot_ts, count(*) as n
from stg_exchange_status
group by all
having count(*) > 1
union all
select snapshot_ts, 1 as n
from stg_exchange_status
where snapshot_ts is null
