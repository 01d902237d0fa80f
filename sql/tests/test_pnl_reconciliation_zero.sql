-- our FIFO P&L equals the exchange's own accounting to the cent (where a comparison is possible):
-- comparable positions snapshots agree on realized P&L, fees, position and cost basis; settlements agree on payout.
select account, ticker, realized_pnl_diff_dollars, fees_diff_dollars, position_diff_fp, cost_basis_diff_dollars,
    payout_diff_dollars, our_realized_pnl_dollars, exchange_realized_pnl_dollars
from fct_pnl_reconciliation
where (positions_comparable and (
        realized_pnl_diff_dollars <> 0 or fees_diff_dollars <> 0 or position_diff_fp <> 0
        or cost_basis_diff_dollars <> 0))
   or (in_settlements and payout_diff_dollars <> 0)
