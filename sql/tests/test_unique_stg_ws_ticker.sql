-- stg_ws_ticker: key (connection_id, sid, ticker, received_at) unique; no row where ticker is null
select connection_id, sid, ticker, received_at, count(*) as n
from stg_ws_ticker
group by all
having count(*) > 1
union all
select connection_id, sid, ticker, received_at, 1 as n
from stg_ws_ticker
where ticker is null
