-- stg_combo_legs: key (combo_ticker, leg_index) unique and not null
select combo_ticker, leg_index, count(*) as n
from stg_combo_legs
group by all
having count(*) > 1
union all
select combo_ticker, leg_index, 1 as n
from stg_combo_legs
where combo_ticker is null or leg_index is null
