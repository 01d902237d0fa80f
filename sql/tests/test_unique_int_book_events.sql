-- int_book_events: key (connection_id, sid, seq, kind, side, price_dollars) unique; connection_id never null
select connection_id, sid, seq, kind, side, price_dollars, count(*) as n
from int_book_events
group by all
having count(*) > 1
union all
select connection_id, sid, seq, kind, side, price_dollars, 1 as n
from int_book_events
where connection_id is null
