-- stg_market_history: key (ticker, _loaded_at) unique and not null
select ticker, _loaded_at, count(*) as n
from stg_market_history
group by all
having count(*) > 1
union all
select ticker, _loaded_at, 1 as n
from stg_market_history
where ticker is null or _loaded_at is null
