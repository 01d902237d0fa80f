-- fct_effective_spreads_daily: key (ticker, trade_date) unique and not null
select ticker, trade_date, count(*) as n
from fct_effective_spreads_daily
group by all
having count(*) > 1
union all
select ticker, trade_date, 1 as n
from fct_effective_spreads_daily
where ticker is null or trade_date is null
