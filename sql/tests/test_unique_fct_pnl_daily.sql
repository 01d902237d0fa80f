-- fct_pnl_daily: key (account, pnl_date) unique and not null
select account, pnl_date, count(*) as n
from fct_pnl_daily
group by all
having count(*) > 1
union all
select account, pnl_date, 1 as n
from fct_pnl_daily
where pnl_date is null
