-- stg_subaccount_transfers: key (_account, transfer_id) unique and not null
select _account, transfer_id, count(*) as n
from stg_subaccount_transfers
group by all
having count(*) > 1
union all
select _account, transfer_id, 1 as n
from stg_subaccount_transfers
where transfer_id is null
