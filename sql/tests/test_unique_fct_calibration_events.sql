-- fct_calibration_events: key (event_ticker, horizon, market_class) unique and not null
select event_ticker, horizon, market_class, count(*) as n
from fct_calibration_events
group by all
having count(*) > 1
union all
select event_ticker, horizon, market_class, 1 as n
from fct_calibration_events
where event_ticker is null or horizon is null or market_class is null
