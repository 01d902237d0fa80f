-- our P&L agrees with the exchange's own accounting wherever the lot-matching method cannot explain a difference
-- (method and tolerance: sql/marts/fct_pnl_reconciliation.sql): comparable positions snapshots agree on position
-- and fees exactly and on net cash (realized - cost basis) within tolerance_dollars ('mismatch' rows fail; a
-- realized P&L that differs only as lot matching would, 'lot_matching', is reported in the mart, not failed);
-- settlements agree on payout to the cent, ours rounded down as Kalshi pays.
select account, ticker, positions_check, realized_pnl_diff_dollars, fees_diff_dollars, position_diff_fp,
    cost_basis_diff_dollars, net_cash_diff_dollars, payout_diff_dollars, our_realized_pnl_dollars,
    exchange_realized_pnl_dollars
from fct_pnl_reconciliation
where positions_check = 'mismatch'
   or (in_settlements and payout_diff_dollars <> 0)
