-- fct_pnl_reconciliation: key (account, ticker) unique and not null
select account, ticker, count(*) as n
from fct_pnl_reconciliation
group by all
having count(*) > 1
union all
select account, ticker, 1 as n
from fct_pnl_reconciliation
where ticker is null
