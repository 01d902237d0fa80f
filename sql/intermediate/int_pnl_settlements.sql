-- grain: one row per (account, ticker) the account has fills or a settlement in
-- purpose: whether the account's position in a market is settled, at what YES value and when.
-- Settled = the account has a settlement record, or the market is finalized (paid out) with a known value or void.
-- A market that is only `determined` is not settled yet (the exchange pays later); int_market_marks marks it at its
-- value (a void one: at cost, i.e. no unrealized P&L).
-- settlement value per YES contract = the market's exact settlement_value_dollars (int_market_states; fractional
-- for scalar markets, e.g. 0.4567), else the record's `value` (whole cents per YES contract: 46 for 0.4567, so only
-- a fallback when the lake has no market state), else 1/0 from the record's market_result yes/no.
-- is_void: the record's market_result or the market's result is `void`: open positions are returned at their
-- original cost (fct_pnl: payout = cost basis, no realized P&L on them); settlement_value_dollars is then null.
-- settled_time is null until settled; once settled: the record's settled_time, else the market's settlement_ts,
-- else its close_time (a finalized market with neither: the best bound the lake has, so the P&L lands on a day).
with keys as (
    select distinct _account as account, ticker from stg_fills
    union
    select distinct _account as account, ticker from stg_settlements
),

-- one market settles at one time and value for every subaccount holding it: the account's record sums the
-- subaccounts' revenue (stg_settlements has one row per subaccount)
settlements as (
    select
        _account,
        ticker,
        any_value(market_result) as market_result,
        any_value(value) as value,
        min(settled_time) as settled_time,
        cast(sum(revenue) as bigint) as revenue
    from stg_settlements
    group by _account, ticker
),

markets as (
    select * from int_market_states
),

resolved as (
    select
        k.account,
        k.ticker,
        coalesce(s.market_result = 'void', false) or coalesce(m.is_void, false) as is_void,
        s.ticker is not null
            or (m.status in ('finalized', 'settled')
                and (m.settlement_value_dollars is not null or coalesce(m.is_void, false))) as settled,
        cast(coalesce(
            m.settlement_value_dollars,
            cast(s.value as decimal(20,0)) * cast(0.01 as decimal(3,2)),
            case s.market_result when 'yes' then 1 when 'no' then 0 end
        ) as decimal(18,6)) as settlement_value_dollars,
        coalesce(s.settled_time, m.settlement_ts, m.close_time) as settle_or_close_time,
        s.revenue as exchange_revenue_cents,
        s.ticker is not null as has_settlement_record
    from keys as k
    left join settlements as s on s._account = k.account and s.ticker = k.ticker
    left join markets as m on m.ticker = k.ticker
),

final as (
    select
        account,
        ticker,
        settled,
        is_void,
        case when not is_void then settlement_value_dollars end as settlement_value_dollars,
        case when settled then settle_or_close_time end as settled_time,
        exchange_revenue_cents,
        has_settlement_record
    from resolved
)

select * from final
