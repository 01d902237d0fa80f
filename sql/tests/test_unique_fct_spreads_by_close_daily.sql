-- fct_spreads_by_close_daily: key (ticker, source, bucket_order, piece_date) unique and not null
select ticker, source, bucket_order, piece_date, count(*) as n
from fct_spreads_by_close_daily
group by all
having count(*) > 1
union all
select ticker, source, bucket_order, piece_date, 1 as n
from fct_spreads_by_close_daily
where ticker is null or source is null or bucket_order is null or piece_date is null
