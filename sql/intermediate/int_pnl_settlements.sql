-- grain: one row per (account, ticker) the account has fills or a settlement in
-- purpose: whether the account's position in a market is settled, at what YES value and when.
-- Settled = the account has a settlement record, or the market is finalized (paid out) with a known value. A market
-- that is only `determined` is not settled yet (the exchange pays later); int_market_marks marks it at its value.
-- settlement value per YES contract = settlement `value` cents / 100, else 1/0 from `market_result` yes/no,
-- else int_market_states.settlement_value_dollars (fractional for scalar markets).
-- settled_time is null until settled; once settled: the record's settled_time, else the market's settlement_ts,
-- else its close_time (a finalized market with neither: the best bound the lake has, so the P&L lands on a day).
with keys as (
    select distinct _account as account, ticker from stg_fills
    union
    select distinct _account as account, ticker from stg_settlements
),

settlements as (
    select * from stg_settlements
),

markets as (
    select * from int_market_states
),

resolved as (
    select
        k.account,
        k.ticker,
        s.ticker is not null
            or (m.settlement_value_dollars is not null and m.status in ('finalized', 'settled')) as settled,
        cast(coalesce(
            cast(s.value as decimal(20,0)) * cast(0.01 as decimal(3,2)),
            case s.market_result when 'yes' then 1 when 'no' then 0 end,
            m.settlement_value_dollars
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
        settlement_value_dollars,
        case when settled then settle_or_close_time end as settled_time,
        exchange_revenue_cents,
        has_settlement_record
    from resolved
)

select * from final
