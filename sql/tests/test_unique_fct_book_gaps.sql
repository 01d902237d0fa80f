-- fct_book_gaps: key (ticker, detected_at) unique; ticker never null
select ticker, detected_at, count(*) as n
from fct_book_gaps
group by all
having count(*) > 1
union all
select ticker, detected_at, 1 as n
from fct_book_gaps
where ticker is null
