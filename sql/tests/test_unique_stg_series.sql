-- stg_series: key (ticker) unique and not null
select ticker, count(*) as n
from stg_series
group by all
having count(*) > 1
union all
select ticker, 1 as n
from stg_series
where ticker is null
