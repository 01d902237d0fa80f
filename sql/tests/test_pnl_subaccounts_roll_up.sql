-- fct_pnl is the rollup of fct_pnl_subaccounts: per (account, ticker) the additive columns of the subaccount rows
-- of the same pnl_source sum to the account's row exactly. (A market where one subaccount has fills and another
-- only a settlement record is booked from the fills in fct_pnl: its settlement-only subaccount rows are not part
-- of the rollup.)
with subs as (
    select
        account,
        ticker,
        pnl_source,
        sum(position_fp) as position_fp,
        sum(settled_position_fp) as settled_position_fp,
        sum(cost_basis_dollars) as cost_basis_dollars,
        sum(realized_pnl_dollars) as realized_pnl_dollars,
        sum(unrealized_pnl_dollars) as unrealized_pnl_dollars,
        sum(fees_dollars) as fees_dollars,
        sum(total_pnl_dollars) as total_pnl_dollars,
        sum(payout_dollars) as payout_dollars,
        sum(fill_count) as fill_count
    from fct_pnl_subaccounts
    group by all
)
select p.account, p.ticker, p.pnl_source
from fct_pnl as p
left join subs as s using (account, ticker, pnl_source)
where s.account is null
   or p.position_fp <> s.position_fp
   or p.settled_position_fp <> s.settled_position_fp
   or p.cost_basis_dollars <> s.cost_basis_dollars
   or p.realized_pnl_dollars <> s.realized_pnl_dollars
   or p.unrealized_pnl_dollars <> s.unrealized_pnl_dollars
   or p.fees_dollars <> s.fees_dollars
   or p.total_pnl_dollars <> s.total_pnl_dollars
   or p.payout_dollars <> s.payout_dollars
   or p.fill_count <> s.fill_count
