-- grain: one row per (ticker, trade_date), UTC calendar days
-- purpose: daily OHLC of the YES trade price, VWAP, volume and trade count from the trade tape.
-- Note: Kalshi's own daily candlesticks (period_interval 1440) close on US/Eastern boundaries; these days are UTC,
-- so they differ from the API's candles; use stg_candlesticks for Kalshi's ET candles.
-- incremental: day = trade_date
-- incremental: stg_trades by created_time
with trades as (
    select *, utc_date(created_time) as trade_date from stg_trades
),

daily as (
    select
        ticker,
        trade_date,
        arg_min(yes_price_dollars, (created_time, trade_id)) as open_dollars,
        max(yes_price_dollars) as high_dollars,
        min(yes_price_dollars) as low_dollars,
        arg_max(yes_price_dollars, (created_time, trade_id)) as close_dollars,
        sum(cast(yes_price_dollars as decimal(38,6)) * count_fp) as notional,
        sum(count_fp) as volume,
        count(*) as trade_count,
        count(*) filter (where is_block_trade) as block_trade_count,
        min(created_time) as first_trade_time,
        max(created_time) as last_trade_time
    from trades
    group by ticker, trade_date
),

final as (
    select
        ticker,
        trade_date,
        open_dollars,
        high_dollars,
        low_dollars,
        close_dollars,
        cast(dec_div(notional, volume) as decimal(18,6)) as vwap_dollars,
        cast(volume as decimal(18,2)) as volume_fp,
        cast(notional as decimal(18,6)) as notional_dollars,
        trade_count,
        block_trade_count,
        first_trade_time,
        last_trade_time
    from daily
)

select * from final
