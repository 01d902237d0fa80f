-- stg_candlesticks: key (ticker, period_interval, end_period_ts) unique and not null
select ticker, period_interval, end_period_ts, count(*) as n
from stg_candlesticks
group by all
having count(*) > 1
union all
select ticker, period_interval, end_period_ts, 1 as n
from stg_candlesticks
where ticker is null or period_interval is null or end_period_ts is null
