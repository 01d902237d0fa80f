-- fct_pnl_subaccounts: key (account, subaccount_number, ticker) unique and not null
select account, subaccount_number, ticker, count(*) as n
from fct_pnl_subaccounts
group by all
having count(*) > 1
union all
select account, subaccount_number, ticker, 1 as n
from fct_pnl_subaccounts
where ticker is null or subaccount_number is null
