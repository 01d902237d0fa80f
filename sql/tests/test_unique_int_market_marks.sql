-- int_market_marks: key (ticker) unique and not null
select ticker, count(*) as n
from int_market_marks
group by all
having count(*) > 1
union all
select ticker, 1 as n
from int_market_marks
where ticker is null
