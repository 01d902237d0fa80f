-- grain: one row per (ticker, trade_date), UTC days
-- purpose: effective spreads per market and day: trade counts by taker side, mean, volume-weighted and median
-- effective spread over the trades that had a prevailing mid (exact decimal division).
with trades as (
    select * from fct_effective_spreads
),

daily as (
    select
        ticker,
        trade_date,
        count(*) as trade_count,
        count(effective_spread_dollars) as trades_with_mid,
        count(*) filter (where taker_book_side = 'bid') as taker_bid_trades,
        count(*) filter (where taker_book_side = 'ask') as taker_ask_trades,
        sum(count_fp) as volume_fp,
        sum(effective_spread_dollars) as spread_sum,
        sum(cast(effective_spread_dollars as decimal(38,6)) * count_fp) as spread_x_count,
        sum(count_fp) filter (where effective_spread_dollars is not null) as count_with_mid,
        median(effective_spread_dollars) as median_spread
    from trades
    group by ticker, trade_date
),

final as (
    select
        ticker,
        trade_date,
        trade_count,
        trades_with_mid,
        taker_bid_trades,
        taker_ask_trades,
        cast(volume_fp as decimal(18,2)) as volume_fp,
        cast(dec_div(spread_sum, trades_with_mid) as decimal(18,6)) as mean_effective_spread_dollars,
        cast(dec_div(spread_x_count, count_with_mid) as decimal(18,6)) as volume_weighted_effective_spread_dollars,
        cast(median_spread as decimal(18,6)) as median_effective_spread_dollars
    from daily
)

select * from final
