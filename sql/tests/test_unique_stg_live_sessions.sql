-- stg_live_sessions: key (session_id, event, "at") unique and not null
select session_id, event, "at", count(*) as n
from stg_live_sessions
group by all
having count(*) > 1
union all
select session_id, event, "at", 1 as n
from stg_live_sessions
where session_id is null or event is null or "at" is null
