-- int_book_whole: key (ticker, whole_from, connection_id) unique; ticker never null
select ticker, whole_from, connection_id, count(*) as n
from int_book_whole
group by all
having count(*) > 1
union all
select ticker, whole_from, connection_id, 1 as n
from int_book_whole
where ticker is null
