-- the daily P&L adds up to fct_pnl's realized P&L and fees per account
with daily as (
    select account, sum(realized_pnl_dollars) as realized, sum(fees_dollars) as fees from fct_pnl_daily group by all
),
pnl as (
    select account, sum(realized_pnl_dollars) as realized, sum(fees_dollars) as fees from fct_pnl group by all
)
select p.account, p.realized, d.realized as daily_realized, p.fees, d.fees as daily_fees
from pnl as p
left join daily as d using (account)
where d.account is null or abs(p.realized - d.realized) > 0.00001 or p.fees <> d.fees
