-- stg_settlements: key (_account, subaccount_number, ticker) unique and not null
select _account, subaccount_number, ticker, count(*) as n
from stg_settlements
group by all
having count(*) > 1
union all
select _account, subaccount_number, ticker, 1 as n
from stg_settlements
where ticker is null
