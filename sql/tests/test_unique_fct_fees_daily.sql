-- fct_fees_daily: key (account, ticker, fee_date) unique and not null
select account, ticker, fee_date, count(*) as n
from fct_fees_daily
group by all
having count(*) > 1
union all
select account, ticker, fee_date, 1 as n
from fct_fees_daily
where ticker is null or fee_date is null or account is null
