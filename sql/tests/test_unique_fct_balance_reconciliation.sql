-- fct_balance_reconciliation: key (account, subaccount_number, balance_date) unique and not null
select account, subaccount_number, balance_date, count(*) as n
from fct_balance_reconciliation
group by all
having count(*) > 1
union all
select account, subaccount_number, balance_date, 1 as n
from fct_balance_reconciliation
where account is null or subaccount_number is null or balance_date is null
