-- a replayed book is never crossed (best YES bid below the YES ask), a known top has sizes where it has prices,
-- and no applied level of a recorded book goes below zero
select ticker, observed_at, 'crossed or sizes missing' as problem
from fct_book_top
where spread_dollars <= 0
   or (yes_bid_dollars is not null and not (yes_bid_size_fp > 0))
   or (yes_ask_dollars is not null and not (yes_ask_size_fp > 0))
union all
select ticker, max(received_at), 'negative level' as problem
from (
    select
        ticker, received_at,
        sum(quantity_fp) over (
            partition by epoch_id, side, price_dollars order by seq rows unbounded preceding
        ) as quantity
    from int_book_events
    where status = 'applied' and side is not null
)
where quantity < 0
group by ticker
