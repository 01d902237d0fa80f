-- stg_ws_fills: key (_account, trade_id) unique; no row where trade_id is null
select _account, trade_id, count(*) as n
from stg_ws_fills
group by all
having count(*) > 1
union all
select _account, trade_id, 1 as n
from stg_ws_fills
where trade_id is null
