-- fct_pnl_attribution: key (account, ticker) unique and not null
select account, ticker, count(*) as n
from fct_pnl_attribution
group by all
having count(*) > 1
union all
select account, ticker, 1 as n
from fct_pnl_attribution
where account is null or ticker is null
