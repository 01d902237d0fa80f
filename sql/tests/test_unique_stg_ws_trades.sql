-- stg_ws_trades: key (trade_id) unique; no row where trade_id is null
select trade_id, count(*) as n
from stg_ws_trades
group by all
having count(*) > 1
union all
select trade_id, 1 as n
from stg_ws_trades
where trade_id is null
