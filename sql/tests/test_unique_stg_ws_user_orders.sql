-- stg_ws_user_orders: key (_account, order_id) unique; no row where order_id is null
select _account, order_id, count(*) as n
from stg_ws_user_orders
group by all
having count(*) > 1
union all
select _account, order_id, 1 as n
from stg_ws_user_orders
where order_id is null
