-- grain: one row per (account, subaccount_number, balance_date) with a balance snapshot: the day's last snapshot
-- purpose: explain each subaccount's cash balance (0 = the primary account, 1-63 numbered subaccounts: each is its
-- own book on the exchange, with its own cash, positions and FIFO lots). From the subaccount's previous snapshot
-- (the last one of an earlier day) to this one: expected = start balance + deposits - deposit fees - withdrawals
-- - withdrawal fees + transfers in - transfers out + realized P&L - trading fees - change in open-position cost;
-- difference = balance - expected, REPORTED, never a build failure.
-- Method. Trading moves cash by realized P&L minus the change in the cost of open lots (a buy of 1 YES at 0.40:
-- realized 0, open cost +0.40, cash -0.40; its sale at 0.60: realized +0.20, open cost -0.40, cash +0.60). Each
-- FIFO lot of int_pnl_lots is three dated amounts: its cost when opened (long: qty x buy price; short: qty x
-- (1 - sell price)), and when closed (the later fill) or settled (int_pnl_settlements) its realized P&L and its
-- cost released (void: realized 0, the cost returned). Fees = the fills' fee_cost at the fill's time. A market
-- with a settlement record but no fills in the lake (fct_pnl's 'settlement' source) counts the record: realized =
-- revenue/100 - yes/no total cost, cost released = yes + no total cost (so cash = revenue/100), fee = fee_cost.
-- Transfers between subaccounts (stg_subaccount_transfers) move cash out of from_subaccount and into to_subaccount at
-- created_ts. Fills, lots, fees and settlement records count in their own subaccount.
-- Each amount belongs to the subaccount's first snapshot at or after it, compared by whole second (snapshot_ts is the
-- exchange's Date header, whole seconds): an event in the snapshot's own second counts as before it.
-- Assumptions (also in the `assumptions` column):
--   * cash flows move the balance only when applied, at finalized_ts (else created_ts); pending, failed and
--     returned flows move nothing (pending_flows: those pending at a subaccount-0 snapshot). The spec does not say
--     whether fee_cents is inside amount_cents: here it is on top (a deposit credits amount - fee, a withdrawal
--     debits amount + fee), as the local exchange does;
--   * the balance is cash, not reduced by resting orders' collateral (as the local exchange reports it);
--   * FIFO lot matching (int_pnl_lots) and settlement at the exact value; Kalshi pays a settlement rounded down to
--     the cent and its balance shows whole cents, so |difference| < $0.01 is 'cent_rounding', not an error (fee
--     rounding needs no band: a fill's fee_cost is its net fee, trade + rounding - rebate, so fills explain the
--     balance exactly; several sub-cent scalar payouts in one interval can add up to 'unexplained');
--   * deposits and withdrawals move the primary account (subaccount 0): GET /portfolio/deposits and /withdrawals
--     take no subaccount parameter and are the member's history (spec v3.21); the local exchange does the same;
--   * a settlement record landed before settlements were pulled per subaccount (stg_settlements.subaccount_assumed)
--     is taken as subaccount 0's but may be another's: an interval where such a record counts (a market with no
--     fills in that subaccount, below) is 'not_comparable_subaccounts', as its subaccount is not known.
-- reconciliation: 'anchor' (the first snapshot: no start balance), 'match' (difference 0), 'cent_rounding',
-- 'unexplained' (|difference| >= $0.01: a flow, fill or settlement the lake lacks, or an assumption above is wrong),
-- 'not_comparable_subaccounts' (see above). cumulative_difference_dollars sums the differences since the subaccount's
-- anchor.
with snapshots as (
    select _account as account, subaccount_number, snapshot_ts, balance as balance_cents
    from stg_balance
    where balance is not null
),

day_close as (
    select
        account,
        subaccount_number,
        utc_date(snapshot_ts) as balance_date,
        max(snapshot_ts) as snapshot_ts,
        arg_max(balance_cents, snapshot_ts) as balance_cents
    from snapshots
    group by account, subaccount_number, utc_date(snapshot_ts)
),

intervals as (
    select
        *,
        lag(snapshot_ts) over w as start_snapshot_ts,
        lag(balance_cents) over w as start_balance_cents
    from day_close
    window w as (partition by account, subaccount_number order by snapshot_ts)
),

lots as (
    select
        l.*,
        s.settled_time,
        s.is_void,
        s.settlement_value_dollars,
        l.lot_state = 'open_long' or (l.lot_state = 'closed' and l.buy_time <= l.sell_time) as is_long
    from int_pnl_lots as l
    left join (select * from int_pnl_settlements where settled) as s on s.account = l.account and s.ticker = l.ticker
),

lot_costs as (
    select
        *,
        case when is_long then quantity_fp * buy_price_dollars else quantity_fp * (1 - sell_price_dollars) end
            as entry_cost,
        case when is_long then buy_time else sell_time end as opened_at
    from lots
),

settlement_only as (
    select s._account as account, s.*
    from stg_settlements as s
    where not exists (
        select 1 from stg_fills as f
        where f._account = s._account and f.subaccount_number = s.subaccount_number and f.ticker = s.ticker
    )
),

-- every dated amount: kind, amount (dollars); signs as they enter `expected`, except cost (subtracted)
events as (
    select account, subaccount_number, opened_at as event_time, 'open_cost' as kind, entry_cost as amount
    from lot_costs
    union all
    select account, subaccount_number, closed_time, 'realized', closed_pnl_dollars
    from lot_costs
    where lot_state = 'closed'
    union all
    select account, subaccount_number, closed_time, 'open_cost', -entry_cost from lot_costs where lot_state = 'closed'
    union all
    select
        account,
        subaccount_number,
        settled_time,
        'realized',
        case
            when is_void then 0
            when is_long then quantity_fp * (settlement_value_dollars - buy_price_dollars)
            else quantity_fp * (sell_price_dollars - settlement_value_dollars)
        end
    from lot_costs
    where lot_state <> 'closed' and settled_time is not null
    union all
    select account, subaccount_number, settled_time, 'open_cost', -entry_cost
    from lot_costs
    where lot_state <> 'closed' and settled_time is not null
    union all
    select _account, subaccount_number, coalesce(created_time, ts), 'fee', fee_cost
    from stg_fills
    where fee_cost is not null
    union all
    select account, subaccount_number, settled_time, 'assumed_subaccount', 0
    from settlement_only
    where subaccount_assumed
    union all
    select
        account,
        subaccount_number,
        settled_time,
        'realized',
        cast(revenue as decimal(20,0)) * cast(0.01 as decimal(3,2))
            - coalesce(yes_total_cost_dollars, 0) - coalesce(no_total_cost_dollars, 0)
    from settlement_only
    union all
    select
        account,
        subaccount_number,
        settled_time,
        'open_cost',
        -(coalesce(yes_total_cost_dollars, 0) + coalesce(no_total_cost_dollars, 0))
    from settlement_only
    union all
    select account, subaccount_number, settled_time, 'fee', fee_cost from settlement_only where fee_cost is not null
    union all
    -- deposits and withdrawals are the primary account's (subaccount 0): see the assumptions
    select _account, 0, flow_time, 'deposit', cast(amount_cents as decimal(20,0)) * cast(0.01 as decimal(3,2))
    from stg_deposits
    where status = 'applied'
    union all
    select _account, 0, flow_time, 'deposit_fee', cast(fee_cents as decimal(20,0)) * cast(0.01 as decimal(3,2))
    from stg_deposits
    where status = 'applied'
    union all
    select _account, 0, flow_time, 'withdrawal', cast(amount_cents as decimal(20,0)) * cast(0.01 as decimal(3,2))
    from stg_withdrawals
    where status = 'applied'
    union all
    select
        _account, 0, flow_time, 'withdrawal_fee', cast(fee_cents as decimal(20,0)) * cast(0.01 as decimal(3,2))
    from stg_withdrawals
    where status = 'applied'
    union all
    select _account, to_subaccount, created_ts, 'transfer_in', amount_dollars from stg_subaccount_transfers
    union all
    select _account, from_subaccount, created_ts, 'transfer_out', amount_dollars from stg_subaccount_transfers
),

-- each event belongs to the first snapshot at or after its second
placed as (
    select i.account, i.subaccount_number, i.snapshot_ts, e.kind, e.amount
    from events as e
    asof join intervals as i
        on i.account = e.account and i.subaccount_number = e.subaccount_number
        and i.snapshot_ts >= date_trunc('second', e.event_time)
    where e.event_time is not null
),

sums as (
    select
        account,
        subaccount_number,
        snapshot_ts,
        sum(amount) filter (where kind = 'deposit') as deposits,
        sum(amount) filter (where kind = 'deposit_fee') as deposit_fees,
        sum(amount) filter (where kind = 'withdrawal') as withdrawals,
        sum(amount) filter (where kind = 'withdrawal_fee') as withdrawal_fees,
        sum(amount) filter (where kind = 'transfer_in') as transfers_in,
        sum(amount) filter (where kind = 'transfer_out') as transfers_out,
        sum(amount) filter (where kind = 'realized') as realized,
        sum(amount) filter (where kind = 'fee') as fees,
        sum(amount) filter (where kind = 'open_cost') as open_cost_change,
        count(*) filter (where kind = 'assumed_subaccount') as assumed_subaccount_records
    from placed
    group by account, subaccount_number, snapshot_ts
),

pending as (
    select i.account, i.subaccount_number, i.snapshot_ts, count(f.id) as pending_flows
    from intervals as i
    join (
        select _account, id, created_ts from stg_deposits where status = 'pending'
        union all
        select _account, id, created_ts from stg_withdrawals where status = 'pending'
    ) as f on f._account = i.account and date_trunc('second', f.created_ts) <= i.snapshot_ts
    where i.subaccount_number = 0
    group by i.account, i.subaccount_number, i.snapshot_ts
),

joined as (
    select
        i.account,
        i.subaccount_number,
        i.balance_date,
        i.start_snapshot_ts,
        i.snapshot_ts,
        cast(cast(i.start_balance_cents as decimal(20,0)) * cast(0.01 as decimal(3,2)) as decimal(18,6))
            as start_balance_dollars,
        cast(coalesce(s.deposits, 0) as decimal(18,6)) as deposits_dollars,
        cast(coalesce(s.deposit_fees, 0) as decimal(18,6)) as deposit_fees_dollars,
        cast(coalesce(s.withdrawals, 0) as decimal(18,6)) as withdrawals_dollars,
        cast(coalesce(s.withdrawal_fees, 0) as decimal(18,6)) as withdrawal_fees_dollars,
        cast(coalesce(s.transfers_in, 0) as decimal(18,6)) as transfers_in_dollars,
        cast(coalesce(s.transfers_out, 0) as decimal(18,6)) as transfers_out_dollars,
        cast(coalesce(s.realized, 0) as decimal(18,6)) as realized_pnl_dollars,
        cast(coalesce(s.fees, 0) as decimal(18,6)) as fees_dollars,
        cast(coalesce(s.open_cost_change, 0) as decimal(18,6)) as open_cost_change_dollars,
        cast(cast(i.balance_cents as decimal(20,0)) * cast(0.01 as decimal(3,2)) as decimal(18,6))
            as balance_dollars,
        coalesce(s.assumed_subaccount_records, 0) as assumed_subaccount_records,
        coalesce(p.pending_flows, 0) as pending_flows
    from intervals as i
    left join sums as s
        on s.account = i.account and s.subaccount_number = i.subaccount_number and s.snapshot_ts = i.snapshot_ts
    left join pending as p
        on p.account = i.account and p.subaccount_number = i.subaccount_number and p.snapshot_ts = i.snapshot_ts
),

expected as (
    select
        *,
        cast(start_balance_dollars + deposits_dollars - deposit_fees_dollars - withdrawals_dollars
            - withdrawal_fees_dollars + transfers_in_dollars - transfers_out_dollars + realized_pnl_dollars - fees_dollars - open_cost_change_dollars
            as decimal(18,6)) as expected_balance_dollars
    from joined
),

final as (
    select
        *,
        cast(balance_dollars - expected_balance_dollars as decimal(18,6)) as difference_dollars,
        cast(sum(balance_dollars - expected_balance_dollars) over (
            partition by account, subaccount_number order by snapshot_ts rows between unbounded preceding and current row
        ) as decimal(18,6)) as cumulative_difference_dollars,
        case
            when start_snapshot_ts is null then 'anchor'
            when assumed_subaccount_records > 0 then 'not_comparable_subaccounts'
            when balance_dollars = expected_balance_dollars then 'match'
            when abs(balance_dollars - expected_balance_dollars) < 0.01 then 'cent_rounding'
            else 'unexplained'
        end as reconciliation,
        'applied flows only, at finalized_ts; fee_cents on top of amount_cents; balance excludes order collateral; '
        || 'FIFO lots per subaccount, exact settlement value; whole-cent balance (|diff| < 0.01 = cent_rounding); '
        || 'deposits and withdrawals in subaccount 0; transfers at created_ts'
            as assumptions
    from expected
)

select * from final
