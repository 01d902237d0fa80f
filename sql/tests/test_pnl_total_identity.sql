-- total = realized + unrealized - fees; settled markets have a settlement value and carry no open position,
-- cost basis or unrealized P&L; a settled market has a settlement value unless it is void
select account, ticker, realized_pnl_dollars, unrealized_pnl_dollars, fees_dollars, total_pnl_dollars
from fct_pnl
where total_pnl_dollars <> realized_pnl_dollars + unrealized_pnl_dollars - fees_dollars
   or (settled and (position_fp <> 0 or cost_basis_dollars <> 0 or unrealized_pnl_dollars <> 0))
   or cost_basis_dollars < 0
   or (settled and settlement_value_dollars is null and not is_void)
