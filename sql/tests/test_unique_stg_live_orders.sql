-- stg_live_orders: key (event_id) unique and not null
select event_id, count(*) as n
from stg_live_orders
group by all
having count(*) > 1
union all
select event_id, 1 as n
from stg_live_orders
where event_id is null
