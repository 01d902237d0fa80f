-- stg_event_positions: key (_account, subaccount_number, event_ticker) unique and not null
select _account, subaccount_number, event_ticker, count(*) as n
from stg_event_positions
group by all
having count(*) > 1
union all
select _account, subaccount_number, event_ticker, 1 as n
from stg_event_positions
where event_ticker is null
