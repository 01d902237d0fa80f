-- stg_event_fee_changes: key (id) unique and not null
select id, count(*) as n
from stg_event_fee_changes
group by all
having count(*) > 1
union all
select id, 1 as n
from stg_event_fee_changes
where id is null
