-- stg_balance: key (_account, subaccount_number, snapshot_ts) unique and not null
select _account, subaccount_number, snapshot_ts, count(*) as n
from stg_balance
group by all
having count(*) > 1
union all
select _account, subaccount_number, snapshot_ts, 1 as n
from stg_balance
where snapshot_ts is null
