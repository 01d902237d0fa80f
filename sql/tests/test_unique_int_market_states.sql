-- int_market_states: key (ticker) unique and not null
select ticker, count(*) as n
from int_market_states
group by all
having count(*) > 1
union all
select ticker, 1 as n
from int_market_states
where ticker is null
