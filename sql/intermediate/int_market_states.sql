-- grain: one row per market ticker (its latest observed state, as stg_markets), combo markets included
-- purpose: what the P&L needs to know about a market, and the one place its settlement value is resolved:
-- settlement_value_dollars = the market's settlement_value_dollars, else 1/0 from result yes/no, once the market
-- is determined/finalized/settled/amended (the YES payout per contract; fractional for scalar markets), else null.
-- is_void: the market resolved `void` (positions are returned at their original cost; no settlement value).
-- last_price_dollars is null when the market has not traded (Kalshi reports 0).
-- Combo (multivariate) markets land in stg_combo_markets (same columns; the markets stream excludes them): they are
-- included with is_combo = true; a ticker in both keeps its stg_markets row (dim_markets unions the same way).
with markets as (
    select *, false as is_combo from stg_markets
    union all by name
    select *, true as is_combo
    from stg_combo_markets as c
    where not exists (select 1 from stg_markets as m where m.ticker = c.ticker)
),

final as (
    select
        ticker,
        is_combo,
        status,
        status in ('determined', 'finalized', 'settled', 'amended') as is_determined,
        nullif(result, '') as result,
        coalesce(result = 'void', false) as is_void,
        case
            when status not in ('determined', 'finalized', 'settled', 'amended') then null
            when result = 'void' then null
            when settlement_value_dollars is not null then settlement_value_dollars
            when result = 'yes' then cast(1 as decimal(18,6))
            when result = 'no' then cast(0 as decimal(18,6))
        end as settlement_value_dollars,
        nullif(last_price_dollars, 0) as last_price_dollars,
        close_time,
        settlement_ts,
        _loaded_at as observed_at
    from markets
)

select * from final
