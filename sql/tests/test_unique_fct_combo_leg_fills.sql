-- fct_combo_leg_fills: key (_account, fill_id, leg_index) unique and not null
select _account, fill_id, leg_index, count(*) as n
from fct_combo_leg_fills
group by all
having count(*) > 1
union all
select _account, fill_id, leg_index, 1 as n
from fct_combo_leg_fills
where _account is null or fill_id is null or leg_index is null
