-- fct_spreads_daily: key (ticker, observed_date, source) unique and not null
select ticker, observed_date, source, count(*) as n
from fct_spreads_daily
group by all
having count(*) > 1
union all
select ticker, observed_date, source, 1 as n
from fct_spreads_daily
where ticker is null or observed_date is null or source is null
