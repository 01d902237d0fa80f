-- fct_effective_spreads_by_close: key (ticker, close_bucket) unique and not null
select ticker, close_bucket, count(*) as n
from fct_effective_spreads_by_close
group by all
having count(*) > 1
union all
select ticker, close_bucket, 1 as n
from fct_effective_spreads_by_close
where ticker is null or close_bucket is null
