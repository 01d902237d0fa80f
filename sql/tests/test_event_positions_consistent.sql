-- an event listed more than once in one positions snapshot (on several pages) carries the same figures each
-- time; otherwise stg_event_positions would keep one of several partial rows
select _account, coalesce(subaccount_number, 0) as subaccount_number, event_ticker, snapshot_ts, count(distinct (
    total_cost_dollars, total_cost_shares_fp, event_exposure_dollars, realized_pnl_dollars, fees_paid_dollars
)) as versions
from src_event_positions
group by all
having versions > 1
