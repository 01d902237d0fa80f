-- fct_calibration_prices: key (ticker, horizon) unique and not null
select ticker, horizon, count(*) as n
from fct_calibration_prices
group by all
having count(*) > 1
union all
select ticker, horizon, 1 as n
from fct_calibration_prices
where ticker is null or horizon is null
