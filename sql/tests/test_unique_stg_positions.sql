-- stg_positions: key (_account, subaccount_number, ticker) unique and not null
select _account, subaccount_number, ticker, count(*) as n
from stg_positions
group by all
having count(*) > 1
union all
select _account, subaccount_number, ticker, 1 as n
from stg_positions
where ticker is null
