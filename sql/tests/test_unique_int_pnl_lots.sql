-- int_pnl_lots: key (account, subaccount_number, ticker, lot_start_fp) unique and not null
select account, subaccount_number, ticker, lot_start_fp, count(*) as n
from int_pnl_lots
group by all
having count(*) > 1
union all
select account, subaccount_number, ticker, lot_start_fp, 1 as n
from int_pnl_lots
where ticker is null or lot_start_fp is null
