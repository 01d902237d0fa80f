-- fct_calibration: key (level, category, series_ticker, bucket) unique and not null
select level, category, series_ticker, bucket, count(*) as n
from fct_calibration
group by all
having count(*) > 1
union all
select level, category, series_ticker, bucket, 1 as n
from fct_calibration
where level is null or category is null or series_ticker is null or bucket is null
