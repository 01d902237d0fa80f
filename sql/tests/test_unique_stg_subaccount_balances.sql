-- stg_subaccount_balances: key (_account, subaccount_number) unique and not null
select _account, subaccount_number, count(*) as n
from stg_subaccount_balances
group by all
having count(*) > 1
union all
select _account, subaccount_number, 1 as n
from stg_subaccount_balances
where subaccount_number is null
