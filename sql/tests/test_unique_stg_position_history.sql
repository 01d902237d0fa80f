-- stg_position_history: key (_account, subaccount_number, ticker, snapshot_ts) unique and not null
select _account, subaccount_number, ticker, snapshot_ts, count(*) as n
from stg_position_history
group by all
having count(*) > 1
union all
select _account, subaccount_number, ticker, snapshot_ts, 1 as n
from stg_position_history
where ticker is null or snapshot_ts is null
