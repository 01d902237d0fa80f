-- grain: one row per (account, ticker) present in fct_pnl, the latest positions snapshot or the settlements
-- purpose: our P&L against the exchange's own accounting, with differences:
--   realized_pnl vs positions.realized_pnl_dollars, fees vs positions.fees_paid_dollars, position vs position_fp,
--   cost basis vs market_exposure_dollars (all from the latest positions snapshot), and our settlement payout vs
--   settlements.revenue (integer cents / 100). The payout is compared as Kalshi pays it: our exact payout (e.g. 2.5
--   YES x 0.4567 = 1.14175) rounded down to the whole cent (1.14; the exchange charges the 0.00175 remainder as a
--   settlement fee: payout_rounding_dollars), against revenue, which is whole cents: equal to the cent. A position is comparable only when the exchange's own
--   `last_updated_ts` for it (else the snapshot time) is after our last fill (and our settlement time, for a
--   settled market): both are exchange-clock times, so an older snapshot is skipped, while a position the exchange
--   updated after our last fill (fills we have not pulled) is compared and fails loudly. Times are compared by
--   whole second (snapshot_ts comes from the exchange's `Date` header, whole seconds): a later second is
--   comparable; the same second is ambiguous (the snapshot may or may not include the fill), so it is compared
--   only when the exchange's position already equals ours (it includes the fill); an earlier second never.
--   A settlement record is always comparable.
--   Subaccounts: the lake's positions snapshots are subaccount 0 (the endpoint's default) while fills and
--   settlements cover every subaccount, and fct_pnl sums a market over all of them. A market with any fill in
--   another subaccount (subaccount_number <> 0; missing = 0) is therefore not compared against positions
--   (positions_note says so); its settlement payout still is (both sides cover all subaccounts).
--   positions_note: why a position is not compared (null when it is).
--   positions_check (comparable positions only), with tolerance_dollars = 0.0001 (the exchange keeps dollar amounts
--   to $0.0001; ours are exact, e.g. 2.5 x 0.0567 = 0.14175):
--     'mismatch'     position or fees differ at all, or the net cash of the fills differs beyond the tolerance:
--                    net_cash_diff_dollars = (our realized - our cost basis) - (exchange realized - exposure),
--                    which is the same under any way of matching lots (FIFO, average cost, LIFO): a real error;
--     'lot_matching' realized P&L and cost basis differ (beyond the tolerance) by amounts that cancel: only the
--                    assumption that Kalshi matches lots FIFO (never checked on a real account) can be wrong.
--                    Reported here, not a build failure;
--     'match'        everything within the tolerance;
--     'incomplete'   the snapshot lacks one of the four amounts (reported, not failed).
--   The build check sql/tests/test_pnl_reconciliation_zero.sql fails on 'mismatch' rows and on a settlement payout
--   that differs to the cent (payout_diff_dollars <> 0).
with ours as (
    select * from fct_pnl
),

positions as (
    select _account as account, * exclude (_account) from stg_positions where subaccount_number = 0
),

settlements as (
    -- the account's settlement of a market: summed over the subaccounts holding it (one value, one time)
    select
        _account as account,
        ticker,
        any_value(market_result) as market_result,
        any_value(value) as value,
        min(settled_time) as settled_time,
        cast(sum(revenue) as bigint) as revenue
    from stg_settlements
    group by _account, ticker
),

other_subaccounts as (
    select _account as account, ticker
    from stg_fills
    group by _account, ticker
    having bool_or(coalesce(subaccount_number, 0) <> 0)
),

keys as (
    select account, ticker from ours
    union
    select account, ticker from positions
    union
    select account, ticker from settlements
),

joined as (
    select
        k.account,
        k.ticker,
        o.ticker is not null as in_fills,
        p.ticker is not null as in_positions,
        s.ticker is not null as in_settlements,
        o.settled,
        p.snapshot_ts as positions_snapshot_ts,
        o.last_fill_time,
        coalesce(o.realized_pnl_dollars, 0) as our_realized_pnl_dollars,
        p.realized_pnl_dollars as exchange_realized_pnl_dollars,
        coalesce(o.fees_dollars, 0) as our_fees_dollars,
        p.fees_paid_dollars as exchange_fees_paid_dollars,
        coalesce(o.position_fp, 0) as our_position_fp,
        p.position_fp as exchange_position_fp,
        coalesce(o.cost_basis_dollars, 0) as our_cost_basis_dollars,
        p.market_exposure_dollars as exchange_market_exposure_dollars,
        coalesce(o.payout_dollars, 0) as our_payout_dollars,
        -- what Kalshi pays for it: rounded down to the whole cent (the remainder is a settlement fee)
        cast(cast(floor(coalesce(o.payout_dollars, 0) * 100) as decimal(20,0)) * cast(0.01 as decimal(3,2))
            as decimal(18,2)) as our_payout_paid_dollars,
        s.revenue as exchange_revenue_cents,
        p.last_updated_ts as positions_last_updated_ts,
        x.ticker is not null as has_other_subaccount_fills,
        p.ticker is not null
            and x.ticker is null
            and (o.last_fill_time is null
                 or date_trunc('second', coalesce(p.last_updated_ts, p.snapshot_ts))
                    > date_trunc('second', o.last_fill_time)
                 or (date_trunc('second', coalesce(p.last_updated_ts, p.snapshot_ts))
                     = date_trunc('second', o.last_fill_time)
                     and p.position_fp = coalesce(o.position_fp, 0)))
            and (not coalesce(o.settled, false) or o.settled_time is null
                 or date_trunc('second', coalesce(p.last_updated_ts, p.snapshot_ts))
                    > date_trunc('second', o.settled_time)
                 or (date_trunc('second', coalesce(p.last_updated_ts, p.snapshot_ts))
                     = date_trunc('second', o.settled_time)
                     and p.position_fp = coalesce(o.position_fp, 0)))
            as positions_comparable
    from keys as k
    left join ours as o on o.account = k.account and o.ticker = k.ticker
    left join positions as p on p.account = k.account and p.ticker = k.ticker
    left join settlements as s on s.account = k.account and s.ticker = k.ticker
    left join other_subaccounts as x on x.account = k.account and x.ticker = k.ticker
),

diffs as (
    select
        *,
        cast(our_realized_pnl_dollars - exchange_realized_pnl_dollars as decimal(18,6)) as realized_pnl_diff_dollars,
        cast(our_fees_dollars - exchange_fees_paid_dollars as decimal(18,6)) as fees_diff_dollars,
        cast(our_position_fp - exchange_position_fp as decimal(18,2)) as position_diff_fp,
        cast(our_cost_basis_dollars - exchange_market_exposure_dollars as decimal(18,6)) as cost_basis_diff_dollars,
        -- realized - cost basis is the same under any lot-matching method (it is the net cash of the fills)
        cast((our_realized_pnl_dollars - our_cost_basis_dollars)
            - (exchange_realized_pnl_dollars - exchange_market_exposure_dollars) as decimal(18,6))
            as net_cash_diff_dollars,
        cast(our_payout_dollars - our_payout_paid_dollars as decimal(18,6)) as payout_rounding_dollars,
        cast(our_payout_paid_dollars - cast(exchange_revenue_cents as decimal(20,0)) * cast(0.01 as decimal(3,2))
            as decimal(18,6)) as payout_diff_dollars,
        -- the exchange keeps dollar amounts to $0.0001; ours are exact (2.5 x 0.0567 = 0.14175)
        cast(0.0001 as decimal(18,6)) as tolerance_dollars
    from joined
),

final as (
    select
        *,
        case
            when not positions_comparable then null
            when exchange_realized_pnl_dollars is null or exchange_fees_paid_dollars is null
                or exchange_position_fp is null or exchange_market_exposure_dollars is null then 'incomplete'
            when position_diff_fp <> 0 or fees_diff_dollars <> 0 or abs(net_cash_diff_dollars) > tolerance_dollars
                then 'mismatch'
            when abs(realized_pnl_diff_dollars) > tolerance_dollars
                or abs(cost_basis_diff_dollars) > tolerance_dollars
                then 'lot_matching'
            else 'match'
        end as positions_check,
        case
            when positions_comparable then null
            when not in_positions then 'no positions snapshot'
            when has_other_subaccount_fills then 'fills in subaccounts other than 0; positions cover subaccount 0 only'
            else 'snapshot not after our last fill or settlement'
        end as positions_note
    from diffs
)

select * from final
