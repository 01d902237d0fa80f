-- grain: one row per (account, subaccount_number, ticker) the subaccount has fills or a settlement in
-- Subaccounts (0 = the primary account, 1-63 numbered ones): each is its own book on the exchange (its own cash and
-- positions), so its FIFO lots (int_pnl_lots), fees and settlement records are its own; fct_pnl is the account's
-- rollup of these rows. A fill without subaccount_number is the primary account's (stg_fills); a settlement record
-- landed before settlements were pulled per subaccount is subaccount 0 (stg_settlements.subaccount_assumed).
-- purpose: fee-aware FIFO P&L per market. Lots come from int_pnl_lots (FIFO by interval overlap of cumulative
-- YES-equivalent quantities; see that model). realized = closed lots (sell - buy price) plus, once settled, the
-- open lots closed at the settlement value (long: value - buy price; short: sell price - value). Open lots of an
-- unsettled market: cost basis long = qty x price, short = qty x (1 - price); unrealized at the mark
-- (int_market_marks: the newer of the latest mid and the last trade, else last price; 0 when there is no mark).
-- mark_as_of = when the mark was last known current; mark_age_seconds = lake_as_of - mark_as_of, where lake_as_of
-- is the latest observation in the lake (quotes, trades, market snapshots, fills): how stale the mark is at the
-- end of the data, not at the time the build runs. fees = sum of the fills' fee_cost, split by liquidity:
-- maker_fees (is_taker false), taker_fees (is_taker true), other_fees (is_taker unknown; a settlement record's fee).
-- A void market (int_pnl_settlements.is_void) returns open lots at their original cost: payout = cost basis, no
-- realized or unrealized P&L on them (lots closed before stand; fees are not assumed refunded).
-- total = realized + unrealized - fees. position_fp is the open signed position (0 once settled);
-- settled_position_fp is what was held into settlement; payout_dollars what settlement paid for it.
-- A market with a settlement record but no fills in the lake (e.g. fills older than what was pulled) gets its P&L
-- from the record instead (pnl_source = 'settlement'): realized = revenue/100 - yes_total_cost - no_total_cost,
-- fees = the record's fee_cost. It cannot see lots closed before settlement; reconciliation will say so.
with lots as (
    select * from int_pnl_lots
),

fills as (
    select
        _account as account,
        subaccount_number,
        ticker,
        count(*) as fill_count,
        cast(sum(count_fp) as decimal(18,2)) as contracts_traded_fp,
        cast(sum(cast(count_fp as decimal(38,2)) * yes_price_dollars) as decimal(18,6)) as yes_notional_dollars,
        cast(sum(fee_cost) as decimal(18,6)) as fees_dollars,
        cast(coalesce(sum(fee_cost) filter (where is_taker = false), 0) as decimal(18,6)) as maker_fees_dollars,
        cast(coalesce(sum(fee_cost) filter (where is_taker), 0) as decimal(18,6)) as taker_fees_dollars,
        cast(coalesce(sum(fee_cost) filter (where is_taker is null), 0) as decimal(18,6)) as other_fees_dollars,
        cast(sum(yes_qty_fp) as decimal(18,2)) as net_position_fp,
        min(created_time) as first_fill_time,
        max(created_time) as last_fill_time
    from stg_fills
    group by _account, subaccount_number, ticker
),

settle as (
    select * from int_pnl_settlements
),

marks as (
    select * from int_market_marks
),

lake_end as (
    select max(t) as lake_as_of
    from (
        select max(coalesce(current_until, observed_at)) as t from int_market_mids
        union all
        select max(created_time) from stg_trades
        union all
        select max(observed_at) from int_market_states
        union all
        select max(created_time) from stg_fills
    )
),

markets as (
    select * from dim_markets
),

lot_values as (
    select
        l.account,
        l.subaccount_number,
        l.ticker,
        l.lot_state,
        l.quantity_fp,
        coalesce(st.settled, false) as settled,
        case
            when l.lot_state = 'closed' then l.closed_pnl_dollars
            when not coalesce(st.settled, false) or st.is_void then 0
            when l.lot_state = 'open_long' then l.quantity_fp * (st.settlement_value_dollars - l.buy_price_dollars)
            else l.quantity_fp * (l.sell_price_dollars - st.settlement_value_dollars)
        end as realized,
        case
            when l.lot_state = 'closed' or coalesce(st.settled, false) or mk.mark_price_dollars is null
                or coalesce(st.is_void, false) then 0
            when l.lot_state = 'open_long' then l.quantity_fp * (mk.mark_price_dollars - l.buy_price_dollars)
            else l.quantity_fp * (l.sell_price_dollars - mk.mark_price_dollars)
        end as unrealized,
        case
            when l.lot_state = 'closed' or coalesce(st.settled, false) then 0
            when l.lot_state = 'open_long' then l.quantity_fp * l.buy_price_dollars
            else l.quantity_fp * (1 - l.sell_price_dollars)
        end as cost_basis,
        case
            when l.lot_state = 'closed' or not coalesce(st.settled, false) then 0
            when st.is_void and l.lot_state = 'open_long' then l.quantity_fp * l.buy_price_dollars
            when st.is_void then l.quantity_fp * (1 - l.sell_price_dollars)
            when l.lot_state = 'open_long' then l.quantity_fp * st.settlement_value_dollars
            else l.quantity_fp * (1 - st.settlement_value_dollars)
        end as payout
    from lots as l
    left join settle as st on st.account = l.account and st.ticker = l.ticker
    left join marks as mk on mk.ticker = l.ticker
),

per_market as (
    select
        account,
        subaccount_number,
        ticker,
        sum(realized) as realized,
        sum(unrealized) as unrealized,
        sum(cost_basis) as cost_basis,
        sum(payout) as payout
    from lot_values
    group by account, subaccount_number, ticker
),

from_fills as (
    select
        'fills' as pnl_source,
        f.account,
        f.subaccount_number,
        f.ticker,
        d.event_ticker,
        coalesce(d.series_ticker, split_part(d.event_ticker, '-', 1)) as series_ticker,
        case when coalesce(st.settled, false) then cast(0 as decimal(18,2)) else f.net_position_fp end
            as position_fp,
        case when coalesce(st.settled, false) then f.net_position_fp else cast(0 as decimal(18,2)) end
            as settled_position_fp,
        cast(coalesce(p.cost_basis, 0) as decimal(18,6)) as cost_basis_dollars,
        cast(coalesce(p.realized, 0) as decimal(18,6)) as realized_pnl_dollars,
        cast(coalesce(p.unrealized, 0) as decimal(18,6)) as unrealized_pnl_dollars,
        f.fees_dollars,
        f.maker_fees_dollars,
        f.taker_fees_dollars,
        f.other_fees_dollars,
        cast(coalesce(p.realized, 0) + coalesce(p.unrealized, 0) - f.fees_dollars as decimal(18,6))
            as total_pnl_dollars,
        coalesce(st.settled, false) as settled,
        coalesce(st.is_void, false) as is_void,
        st.settlement_value_dollars,
        st.settled_time,
        cast(coalesce(p.payout, 0) as decimal(18,6)) as payout_dollars,
        case when coalesce(st.settled, false) or f.net_position_fp = 0 then null else mk.mark_price_dollars end
            as mark_price_dollars,
        case when coalesce(st.settled, false) or f.net_position_fp = 0 then null
            else coalesce(mk.mark_source, 'none') end as mark_source,
        case when coalesce(st.settled, false) or f.net_position_fp = 0 then null else mk.mark_as_of end
            as mark_as_of,
        case when coalesce(st.settled, false) or f.net_position_fp = 0 or mk.mark_as_of is null then null
            else date_diff('second', mk.mark_as_of, le.lake_as_of) end as mark_age_seconds,
        le.lake_as_of,
        f.fill_count,
        f.contracts_traded_fp,
        f.yes_notional_dollars,
        f.first_fill_time,
        f.last_fill_time
    from fills as f
    left join per_market as p
        on p.account = f.account and p.subaccount_number = f.subaccount_number and p.ticker = f.ticker
    left join settle as st on st.account = f.account and st.ticker = f.ticker
    left join marks as mk on mk.ticker = f.ticker
    left join markets as d on d.ticker = f.ticker
    cross join lake_end as le
),

from_settlements as (
    select
        'settlement' as pnl_source,
        s._account as account,
        s.subaccount_number,
        s.ticker,
        coalesce(d.event_ticker, s.event_ticker) as event_ticker,
        coalesce(d.series_ticker, split_part(coalesce(d.event_ticker, s.event_ticker), '-', 1)) as series_ticker,
        cast(0 as decimal(18,2)) as position_fp,
        cast(coalesce(s.yes_count_fp, 0) - coalesce(s.no_count_fp, 0) as decimal(18,2)) as settled_position_fp,
        cast(0 as decimal(18,6)) as cost_basis_dollars,
        cast(cast(s.revenue as decimal(20,0)) * cast(0.01 as decimal(3,2))
            - coalesce(s.yes_total_cost_dollars, 0) - coalesce(s.no_total_cost_dollars, 0) as decimal(18,6))
            as realized_pnl_dollars,
        cast(0 as decimal(18,6)) as unrealized_pnl_dollars,
        cast(coalesce(s.fee_cost, 0) as decimal(18,6)) as fees_dollars,
        cast(0 as decimal(18,6)) as maker_fees_dollars,
        cast(0 as decimal(18,6)) as taker_fees_dollars,
        cast(coalesce(s.fee_cost, 0) as decimal(18,6)) as other_fees_dollars,
        cast(cast(s.revenue as decimal(20,0)) * cast(0.01 as decimal(3,2))
            - coalesce(s.yes_total_cost_dollars, 0) - coalesce(s.no_total_cost_dollars, 0)
            - coalesce(s.fee_cost, 0) as decimal(18,6)) as total_pnl_dollars,
        true as settled,
        coalesce(st.is_void, false) as is_void,
        st.settlement_value_dollars,
        st.settled_time,
        cast(cast(s.revenue as decimal(20,0)) * cast(0.01 as decimal(3,2)) as decimal(18,6)) as payout_dollars,
        cast(null as decimal(18,6)) as mark_price_dollars,
        cast(null as varchar) as mark_source,
        cast(null as timestamptz) as mark_as_of,
        cast(null as bigint) as mark_age_seconds,
        (select lake_as_of from lake_end) as lake_as_of,
        0 as fill_count,
        cast(0 as decimal(18,2)) as contracts_traded_fp,
        cast(0 as decimal(18,6)) as yes_notional_dollars,
        cast(null as timestamptz) as first_fill_time,
        cast(null as timestamptz) as last_fill_time
    from stg_settlements as s
    left join settle as st on st.account = s._account and st.ticker = s.ticker
    left join markets as d on d.ticker = s.ticker
    where not exists (
        select 1 from fills as f
        where f.account = s._account and f.subaccount_number = s.subaccount_number and f.ticker = s.ticker
    )
),

final as (
    select * exclude (pnl_source), pnl_source from from_fills
    union all by name
    select * exclude (pnl_source), pnl_source from from_settlements
)

select * from final
