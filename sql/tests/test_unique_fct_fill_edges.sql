-- fct_fill_edges: key (account, fill_id) unique and not null
select account, fill_id, count(*) as n
from fct_fill_edges
group by all
having count(*) > 1
union all
select account, fill_id, 1 as n
from fct_fill_edges
where account is null or fill_id is null
