-- stg_fills: key (_account, fill_id) unique and not null
select _account, fill_id, count(*) as n
from stg_fills
group by all
having count(*) > 1
union all
select _account, fill_id, 1 as n
from stg_fills
where fill_id is null
