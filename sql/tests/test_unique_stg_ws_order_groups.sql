-- stg_ws_order_groups: key (_account, order_group_id, event_type, contracts_limit_fp, ts) unique; no row where
-- order_group_id is null
select _account, order_group_id, event_type, contracts_limit_fp, ts, count(*) as n
from stg_ws_order_groups
group by all
having count(*) > 1
union all
select _account, order_group_id, event_type, contracts_limit_fp, ts, 1 as n
from stg_ws_order_groups
where order_group_id is null
