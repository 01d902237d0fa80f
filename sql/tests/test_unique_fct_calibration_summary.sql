-- fct_calibration_summary: key (horizon, market_class) unique and not null
select horizon, market_class, count(*) as n
from fct_calibration_summary
group by all
having count(*) > 1
union all
select horizon, market_class, 1 as n
from fct_calibration_summary
where horizon is null or market_class is null
