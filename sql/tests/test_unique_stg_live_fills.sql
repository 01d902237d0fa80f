-- stg_live_fills: key (session_id, fill_seq) unique and not null
select session_id, fill_seq, count(*) as n
from stg_live_fills
group by all
having count(*) > 1
union all
select session_id, fill_seq, 1 as n
from stg_live_fills
where session_id is null or fill_seq is null
