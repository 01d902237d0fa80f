-- stg_deposits: key (_account, id) unique and not null
select _account, id, count(*) as n
from stg_deposits
group by all
having count(*) > 1
union all
select _account, id, 1 as n
from stg_deposits
where id is null
