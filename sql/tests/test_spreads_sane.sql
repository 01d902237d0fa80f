-- quotes are prices in (0, 1); an order-book snapshot is never crossed; spread and mid only for two-sided books
-- check: each row of fct_spreads
select ticker, observed_at, source, yes_bid_dollars, yes_ask_dollars, spread_dollars, book_state
from fct_spreads
where yes_bid_dollars <= 0 or yes_bid_dollars >= 1
   or yes_ask_dollars <= 0 or yes_ask_dollars >= 1
   or (source in ('orderbook', 'ws_book') and spread_dollars < 0)
   or ((book_state = 'two_sided') <> (spread_dollars is not null))
   or ((book_state = 'two_sided') <> (mid_dollars is not null))
