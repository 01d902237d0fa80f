-- fct_book_top: key (ticker, observed_at) unique; ticker never null
select ticker, observed_at, count(*) as n
from fct_book_top
group by all
having count(*) > 1
union all
select ticker, observed_at, 1 as n
from fct_book_top
where ticker is null
