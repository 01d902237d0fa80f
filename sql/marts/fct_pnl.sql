-- grain: one row per (account, ticker) the account has fills or a settlement in
-- purpose: the account's fee-aware FIFO P&L per market: the rollup of fct_pnl_subaccounts (the method is in that
-- model's header; lots are matched per subaccount, each its own book). Additive columns are summed, market-level
-- ones (settlement, mark) taken once; the mark is shown while the summed position is open. A market with fills in
-- the lake is booked from the fills (pnl_source 'fills'); a subaccount holding it with only a settlement record is
-- then not added (its lots are unknown), as before subaccounts.
with subs as (
    select * from fct_pnl_subaccounts
),

booked as (
    -- per (account, ticker): the fills rows when the lake has fills for the market, else the settlement rows
    select *
    from subs as s
    where s.pnl_source = 'fills'
        or not exists (
            select 1 from subs as f where f.account = s.account and f.ticker = s.ticker and f.pnl_source = 'fills'
        )
),

final as (
    select
        account,
        ticker,
        any_value(event_ticker) as event_ticker,
        any_value(series_ticker) as series_ticker,
        cast(sum(position_fp) as decimal(18,2)) as position_fp,
        cast(sum(settled_position_fp) as decimal(18,2)) as settled_position_fp,
        cast(sum(cost_basis_dollars) as decimal(18,6)) as cost_basis_dollars,
        cast(sum(realized_pnl_dollars) as decimal(18,6)) as realized_pnl_dollars,
        cast(sum(unrealized_pnl_dollars) as decimal(18,6)) as unrealized_pnl_dollars,
        cast(sum(fees_dollars) as decimal(18,6)) as fees_dollars,
        cast(sum(maker_fees_dollars) as decimal(18,6)) as maker_fees_dollars,
        cast(sum(taker_fees_dollars) as decimal(18,6)) as taker_fees_dollars,
        cast(sum(other_fees_dollars) as decimal(18,6)) as other_fees_dollars,
        cast(sum(total_pnl_dollars) as decimal(18,6)) as total_pnl_dollars,
        bool_or(settled) as settled,
        bool_or(is_void) as is_void,
        max(settlement_value_dollars) as settlement_value_dollars,
        max(settled_time) as settled_time,
        cast(sum(payout_dollars) as decimal(18,6)) as payout_dollars,
        case when sum(position_fp) <> 0 then max(mark_price_dollars) end as mark_price_dollars,
        case when sum(position_fp) <> 0 then max(mark_source) end as mark_source,
        case when sum(position_fp) <> 0 then max(mark_as_of) end as mark_as_of,
        case when sum(position_fp) <> 0 then max(mark_age_seconds) end as mark_age_seconds,
        max(lake_as_of) as lake_as_of,
        sum(fill_count) as fill_count,
        cast(sum(contracts_traded_fp) as decimal(18,2)) as contracts_traded_fp,
        cast(sum(yes_notional_dollars) as decimal(18,6)) as yes_notional_dollars,
        min(first_fill_time) as first_fill_time,
        max(last_fill_time) as last_fill_time,
        any_value(pnl_source) as pnl_source
    from booked
    group by account, ticker
)

select * from final
