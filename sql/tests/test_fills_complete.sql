-- every fill can be booked: a known direction, a positive count, a price in (0, 1) with yes + no = 1, a fee
-- (a fill failing here would silently drop out of fct_pnl)
select _account, fill_id, ticker, book_side, count_fp, yes_price_dollars, no_price_dollars, fee_cost
from stg_fills
where yes_qty_fp is null or count_fp <= 0 or ticker is null or created_time is null
   or yes_price_dollars is null or yes_price_dollars <= 0 or yes_price_dollars >= 1
   or (no_price_dollars is not null and yes_price_dollars + no_price_dollars <> 1)
   or fee_cost is null or fee_cost < 0
