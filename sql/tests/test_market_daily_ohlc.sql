-- OHLC ordering and VWAP inside the day's range; volume and counts positive
-- check: each row of fct_market_daily
select *
from fct_market_daily
where not (low_dollars <= open_dollars and open_dollars <= high_dollars)
   or not (low_dollars <= close_dollars and close_dollars <= high_dollars)
   or vwap_dollars < low_dollars or vwap_dollars > high_dollars
   or trade_count <= 0 or volume_fp < 0
