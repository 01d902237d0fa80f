-- int_pnl_settlements: key (account, ticker) unique and not null
select account, ticker, count(*) as n
from int_pnl_settlements
group by all
having count(*) > 1
union all
select account, ticker, 1 as n
from int_pnl_settlements
where ticker is null
