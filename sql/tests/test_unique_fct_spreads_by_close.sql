-- fct_spreads_by_close: key (ticker, close_bucket, source) unique and not null
select ticker, close_bucket, source, count(*) as n
from fct_spreads_by_close
group by all
having count(*) > 1
union all
select ticker, close_bucket, source, 1 as n
from fct_spreads_by_close
where ticker is null or close_bucket is null or source is null
