-- stg_historical_positions: key (_account, ticker) unique and not null
select _account, ticker, count(*) as n
from stg_historical_positions
group by all
having count(*) > 1
union all
select _account, ticker, 1 as n
from stg_historical_positions
where ticker is null
