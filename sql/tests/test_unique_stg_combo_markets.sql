-- stg_combo_markets: key (ticker) unique and not null
select ticker, count(*) as n
from stg_combo_markets
group by all
having count(*) > 1
union all
select ticker, 1 as n
from stg_combo_markets
where ticker is null
