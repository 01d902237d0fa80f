-- FIFO lots add up per subaccount: open lot quantity = |net position| with the right direction, and closed
-- quantity = min(bought, sold)
with fills as (
    select _account as account, subaccount_number, ticker,
        coalesce(sum(yes_qty_fp) filter (where yes_qty_fp > 0), 0) as bought,
        coalesce(-sum(yes_qty_fp) filter (where yes_qty_fp < 0), 0) as sold
    from stg_fills group by all
),
lots as (
    select account, subaccount_number, ticker,
        coalesce(sum(quantity_fp) filter (where lot_state = 'closed'), 0) as closed,
        coalesce(sum(quantity_fp) filter (where lot_state = 'open_long'), 0) as open_long,
        coalesce(sum(quantity_fp) filter (where lot_state = 'open_short'), 0) as open_short
    from int_pnl_lots group by all
)
select f.*, l.closed, l.open_long, l.open_short
from fills as f
left join lots as l using (account, subaccount_number, ticker)
where coalesce(l.closed, 0) <> least(f.bought, f.sold)
   or coalesce(l.open_long, 0) <> greatest(f.bought - f.sold, 0)
   or coalesce(l.open_short, 0) <> greatest(f.sold - f.bought, 0)
