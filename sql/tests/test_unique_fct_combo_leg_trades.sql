-- fct_combo_leg_trades: key (trade_id, leg_index) unique and not null
select trade_id, leg_index, count(*) as n
from fct_combo_leg_trades
group by all
having count(*) > 1
union all
select trade_id, leg_index, 1 as n
from fct_combo_leg_trades
where trade_id is null or leg_index is null
