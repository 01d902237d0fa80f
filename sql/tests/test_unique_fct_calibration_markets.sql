-- fct_calibration_markets: key (ticker) unique and not null
select ticker, count(*) as n
from fct_calibration_markets
group by all
having count(*) > 1
union all
select ticker, 1 as n
from fct_calibration_markets
where ticker is null
