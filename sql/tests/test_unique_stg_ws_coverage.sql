-- stg_ws_coverage: key (at, event, ticker, channel, sid, connection_id) unique; no row where at is null or event is null
select "at", event, ticker, channel, sid, connection_id, count(*) as n
from stg_ws_coverage
group by all
having count(*) > 1
union all
select "at", event, ticker, channel, sid, connection_id, 1 as n
from stg_ws_coverage
where "at" is null or event is null
