-- fct_effective_spreads_by_close_daily: key (ticker, bucket_order, trade_date) unique and not null
select ticker, bucket_order, trade_date, count(*) as n
from fct_effective_spreads_by_close_daily
group by all
having count(*) > 1
union all
select ticker, bucket_order, trade_date, 1 as n
from fct_effective_spreads_by_close_daily
where ticker is null or bucket_order is null or trade_date is null
