-- stg_settlements: key (_account, ticker) unique and not null
select _account, ticker, count(*) as n
from stg_settlements
group by all
having count(*) > 1
union all
select _account, ticker, 1 as n
from stg_settlements
where ticker is null
