-- int_book_epochs: key (ticker, connection_id, sid, snapshot_seq) unique; ticker never null
select ticker, connection_id, sid, snapshot_seq, count(*) as n
from int_book_epochs
group by all
having count(*) > 1
union all
select ticker, connection_id, sid, snapshot_seq, 1 as n
from int_book_epochs
where ticker is null
