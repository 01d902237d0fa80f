-- grain: one row per (account, ticker, fee_date): every UTC day on which the account had a fill in the market, or
--   a settlement record without fills in the lake (fct_pnl pnl_source 'settlement')
-- purpose: fees split by liquidity: maker (fills with is_taker = false), taker (is_taker = true), other (fills whose
-- is_taker is unknown, and the fee_cost of a settlement record standing in for fills the lake does not have: that
-- fee cannot be split). maker + taker + other = fees_dollars, exactly; summed over days they equal fct_pnl's
-- fees_dollars for the market (test_fees_split). Counts and contracts are split the same way.
with fills as (
    select
        _account as account,
        ticker,
        utc_date(created_time) as fee_date,
        is_taker,
        count_fp,
        fee_cost
    from stg_fills
),

settlement_only as (
    select account, ticker, utc_date(settled_time) as fee_date, fees_dollars
    from fct_pnl
    where pnl_source = 'settlement'
),

from_fills as (
    select
        account,
        ticker,
        fee_date,
        count(*) as fill_count,
        count(*) filter (where is_taker = false) as maker_fill_count,
        count(*) filter (where is_taker) as taker_fill_count,
        count(*) filter (where is_taker is null) as unknown_liquidity_fill_count,
        coalesce(sum(count_fp) filter (where is_taker = false), 0) as maker_contracts_fp,
        coalesce(sum(count_fp) filter (where is_taker), 0) as taker_contracts_fp,
        coalesce(sum(fee_cost) filter (where is_taker = false), 0) as maker_fees,
        coalesce(sum(fee_cost) filter (where is_taker), 0) as taker_fees,
        coalesce(sum(fee_cost) filter (where is_taker is null), 0) as other_fees,
        coalesce(sum(fee_cost), 0) as fees
    from fills
    group by account, ticker, fee_date
),

from_settlements as (
    select
        account,
        ticker,
        fee_date,
        0 as fill_count,
        0 as maker_fill_count,
        0 as taker_fill_count,
        0 as unknown_liquidity_fill_count,
        0 as maker_contracts_fp,
        0 as taker_contracts_fp,
        0 as maker_fees,
        0 as taker_fees,
        fees_dollars as other_fees,
        fees_dollars as fees
    from settlement_only
),

final as (
    select
        account,
        ticker,
        fee_date,
        fill_count,
        maker_fill_count,
        taker_fill_count,
        unknown_liquidity_fill_count,
        cast(maker_contracts_fp as decimal(18,2)) as maker_contracts_fp,
        cast(taker_contracts_fp as decimal(18,2)) as taker_contracts_fp,
        cast(maker_fees as decimal(18,6)) as maker_fees_dollars,
        cast(taker_fees as decimal(18,6)) as taker_fees_dollars,
        cast(other_fees as decimal(18,6)) as other_fees_dollars,
        cast(fees as decimal(18,6)) as fees_dollars
    from (select * from from_fills union all by name select * from from_settlements)
)

select * from final
