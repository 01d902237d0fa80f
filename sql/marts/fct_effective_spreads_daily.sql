-- grain: one row per (ticker, trade_date), UTC days
-- purpose: effective spreads per market and day, over the trades with a fresh mid only (fct_effective_spreads:
-- mid_status 'matched'; the mid-age limit is max_mid_age_seconds). Every trade is counted: trades_with_mid
-- matched, trades_without_fresh_mid the rest (stale, one-sided or no quote). The cost a taker paid is the SIGNED
-- effective spread 2 D (P - M) (mean, volume-weighted, median); the absolute 2 |P - M| columns are kept for
-- reference. Realized spread and price impact (mean over the trades with a fresh mid at both ends) at +1 min,
-- +5 min, +1 h. Division is exact (dec_div). Source and age: mid_sources lists the sources of the matched mids,
-- median_mid_age_seconds / max_mid_age_used_seconds their age at the trade; max_mid_age_seconds is the limit.
-- incremental: day = trade_date
-- incremental: fct_effective_spreads by trade_date
with trades as (
    select * from fct_effective_spreads
),

daily as (
    select
        ticker,
        trade_date,
        count(*) as trade_count,
        count(*) filter (where mid_status = 'matched') as trades_with_mid,
        count(*) filter (where mid_status <> 'matched') as trades_without_fresh_mid,
        count(*) filter (where taker_book_side = 'bid') as taker_bid_trades,
        count(*) filter (where taker_book_side = 'ask') as taker_ask_trades,
        sum(count_fp) as volume_fp,
        sum(effective_spread_dollars) as spread_sum,
        sum(cast(effective_spread_dollars as decimal(38,6)) * count_fp) as spread_x_count,
        sum(signed_effective_spread_dollars) as signed_sum,
        count(signed_effective_spread_dollars) as signed_n,
        sum(cast(signed_effective_spread_dollars as decimal(38,6)) * count_fp) as signed_x_count,
        sum(count_fp) filter (where signed_effective_spread_dollars is not null) as count_signed,
        sum(count_fp) filter (where effective_spread_dollars is not null) as count_with_mid,
        median(effective_spread_dollars) as median_spread,
        median(signed_effective_spread_dollars) as median_signed,
        sum(realized_spread_1m_dollars) as rs1m, count(realized_spread_1m_dollars) as n1m,
        sum(price_impact_1m_dollars) as pi1m,
        sum(realized_spread_5m_dollars) as rs5m, count(realized_spread_5m_dollars) as n5m,
        sum(price_impact_5m_dollars) as pi5m,
        sum(realized_spread_1h_dollars) as rs1h, count(realized_spread_1h_dollars) as n1h,
        sum(price_impact_1h_dollars) as pi1h,
        array_to_string(quote_source_set(bit_or(quote_source_bit(mid_source)) filter (where mid_status = 'matched')), ',')
            as mid_sources,
        median(mid_age_seconds) filter (where mid_status = 'matched') as median_mid_age_seconds,
        max(mid_age_seconds) filter (where mid_status = 'matched') as max_mid_age_used_seconds
    from trades
    group by ticker, trade_date
),

final as (
    select
        ticker,
        trade_date,
        trade_count,
        trades_with_mid,
        trades_without_fresh_mid,
        taker_bid_trades,
        taker_ask_trades,
        cast(volume_fp as decimal(18,2)) as volume_fp,
        cast(dec_div_n(signed_sum, signed_n) as decimal(18,6)) as mean_signed_effective_spread_dollars,
        cast(dec_div(signed_x_count, count_signed) as decimal(18,6))
            as volume_weighted_signed_effective_spread_dollars,
        cast(median_signed as decimal(18,6)) as median_signed_effective_spread_dollars,
        cast(dec_div_n(spread_sum, trades_with_mid) as decimal(18,6)) as mean_effective_spread_dollars,
        cast(dec_div(spread_x_count, count_with_mid) as decimal(18,6)) as volume_weighted_effective_spread_dollars,
        cast(median_spread as decimal(18,6)) as median_effective_spread_dollars,
        n1m as trades_with_mid_1m,
        cast(dec_div_n(rs1m, n1m) as decimal(18,6)) as mean_realized_spread_1m_dollars,
        cast(dec_div_n(pi1m, n1m) as decimal(18,6)) as mean_price_impact_1m_dollars,
        n5m as trades_with_mid_5m,
        cast(dec_div_n(rs5m, n5m) as decimal(18,6)) as mean_realized_spread_5m_dollars,
        cast(dec_div_n(pi5m, n5m) as decimal(18,6)) as mean_price_impact_5m_dollars,
        n1h as trades_with_mid_1h,
        cast(dec_div_n(rs1h, n1h) as decimal(18,6)) as mean_realized_spread_1h_dollars,
        cast(dec_div_n(pi1h, n1h) as decimal(18,6)) as mean_price_impact_1h_dollars,
        max_mid_age_seconds() as max_mid_age_seconds,
        mid_sources,
        median_mid_age_seconds,
        max_mid_age_used_seconds
    from daily
)

select * from final
