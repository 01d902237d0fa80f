-- fct_calibration: key (horizon, market_class, level, category, series_ticker, bucket) unique and not null
select horizon, market_class, level, category, series_ticker, bucket, count(*) as n
from fct_calibration
group by all
having count(*) > 1
union all
select horizon, market_class, level, category, series_ticker, bucket, 1 as n
from fct_calibration
where horizon is null or market_class is null or level is null or category is null or series_ticker is null
   or bucket is null
