-- trades have a positive count and a YES price in (0, 1) with yes + no = 1
-- check: each row of stg_trades
select trade_id, ticker, count_fp, yes_price_dollars, no_price_dollars
from stg_trades
where count_fp is null or count_fp <= 0 or ticker is null or created_time is null
   or yes_price_dollars is null or yes_price_dollars <= 0 or yes_price_dollars >= 1
   or (no_price_dollars is not null and yes_price_dollars + no_price_dollars <> 1)
