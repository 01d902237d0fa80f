-- fct_pnl: key (account, ticker) unique and not null
select account, ticker, count(*) as n
from fct_pnl
group by all
having count(*) > 1
union all
select account, ticker, 1 as n
from fct_pnl
where ticker is null
