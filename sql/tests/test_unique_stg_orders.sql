-- stg_orders: key (_account, order_id) unique and not null
select _account, order_id, count(*) as n
from stg_orders
group by all
having count(*) > 1
union all
select _account, order_id, 1 as n
from stg_orders
where order_id is null
