-- stg_live_status: key (session_id, "at") unique and not null
select session_id, "at", count(*) as n
from stg_live_status
group by all
having count(*) > 1
union all
select session_id, "at", 1 as n
from stg_live_status
where session_id is null or "at" is null
