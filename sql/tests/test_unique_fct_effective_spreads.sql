-- fct_effective_spreads: key (trade_id) unique and not null
select trade_id, count(*) as n
from fct_effective_spreads
group by all
having count(*) > 1
union all
select trade_id, 1 as n
from fct_effective_spreads
where trade_id is null
