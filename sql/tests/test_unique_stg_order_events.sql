-- stg_order_events: key (event_id) unique and not null
select event_id, count(*) as n
from stg_order_events
group by all
having count(*) > 1
union all
select event_id, 1 as n
from stg_order_events
where event_id is null
