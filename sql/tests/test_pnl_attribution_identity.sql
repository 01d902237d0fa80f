-- every market of fct_pnl has one attribution row, and its parts add up to fct_pnl's total exactly:
-- entry edge + price move + unattributed - fees = total_pnl_dollars (computed from the FIFO lots independently of
-- fct_pnl's own sums, so a difference means the two disagree on a lot's value)
select p.account, p.ticker, p.total_pnl_dollars as pnl_total, a.total_pnl_dollars as attributed_total,
    a.entry_edge_dollars, a.price_move_dollars, a.unattributed_pnl_dollars, a.fees_dollars
from fct_pnl as p
full outer join fct_pnl_attribution as a on a.account = p.account and a.ticker = p.ticker
where a.ticker is null
   or p.ticker is null
   or p.total_pnl_dollars <> a.entry_edge_dollars + a.price_move_dollars + a.unattributed_pnl_dollars
        - a.fees_dollars
   or a.unattributed_pnl_dollars is null
