-- stg_ws_book: key (connection_id, sid, seq, kind, side, price_dollars) unique; no row where ticker is null
select connection_id, sid, seq, kind, side, price_dollars, count(*) as n
from stg_ws_book
group by all
having count(*) > 1
union all
select connection_id, sid, seq, kind, side, price_dollars, 1 as n
from stg_ws_book
where ticker is null
