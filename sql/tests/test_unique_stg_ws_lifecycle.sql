-- stg_ws_lifecycle: key (connection_id, sid, type, event_type, ticker, event_ticker, received_at) unique; no row without a type
select connection_id, sid, type, event_type, ticker, event_ticker, received_at, count(*) as n
from stg_ws_lifecycle
group by all
having count(*) > 1
union all
select connection_id, sid, type, event_type, ticker, event_ticker, received_at, 1 as n
from stg_ws_lifecycle
where type is null
