-- stg_ws_positions: key (_account, ticker, subaccount) unique; no row where ticker is null
select _account, ticker, subaccount, count(*) as n
from stg_ws_positions
group by all
having count(*) > 1
union all
select _account, ticker, subaccount, 1 as n
from stg_ws_positions
where ticker is null
