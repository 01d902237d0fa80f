-- fct_event_probability_sums: key (event_ticker, horizon) unique and not null
select event_ticker, horizon, count(*) as n
from fct_event_probability_sums
group by all
having count(*) > 1
union all
select event_ticker, horizon, 1 as n
from fct_event_probability_sums
where event_ticker is null or horizon is null
