-- stg_mve_events: key (event_ticker) unique and not null
select event_ticker, count(*) as n
from stg_mve_events
group by all
having count(*) > 1
union all
select event_ticker, 1 as n
from stg_mve_events
where event_ticker is null
