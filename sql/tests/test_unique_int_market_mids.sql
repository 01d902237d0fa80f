-- int_market_mids: key (ticker, observed_at, source) unique and not null
select ticker, observed_at, source, count(*) as n
from int_market_mids
group by all
having count(*) > 1
union all
select ticker, observed_at, source, 1 as n
from int_market_mids
where ticker is null or observed_at is null or source is null
