-- grain: one row per (trade_id, leg_index) for every public trade on a combo market
-- purpose: attributes combo trades to their legs: each combo contract traded depends on every leg once, so a trade
--   of count_fp combo contracts puts count_fp contracts of combo volume on each leg's market (on the leg's side).
--   The price is the combo's and is not split among the legs (no unique split exists).
--   A trade is on a combo when its ticker is in stg_combo_markets or, by Kalshi's naming, starts with KXMVE (an
--   assumption, used only when the combo's metadata is missing). A combo trade whose legs are not in the lake
--   keeps one row with leg_index 0 and legs_known = false (pull the `combo_markets` stream to attribute it):
--   no trade is dropped.
-- incremental: day = utc_date(created_time)
-- incremental: stg_trades by created_time
-- incremental: stg_combo_legs rebuild
with trades as (
    select * from stg_trades
),

legs as (
    select * from stg_combo_legs
),

combo_trades as (
    select t.*
    from trades as t
    where t.ticker like 'KXMVE%' or t.ticker in (select combo_ticker from legs)
),

attributed as (
    select
        t.trade_id,
        t.created_time,
        t.ticker as combo_ticker,
        coalesce(l.leg_index, 0) as leg_index,
        l.leg_index is not null as legs_known,
        l.combo_event_ticker,
        l.mve_collection_ticker,
        l.leg_count,
        l.leg_market_ticker,
        l.leg_event_ticker,
        l.leg_side,
        t.count_fp,
        t.yes_price_dollars,
        t.no_price_dollars,
        t.taker_book_side,
        t.trade_source
    from combo_trades as t
    left join legs as l on l.combo_ticker = t.ticker
),

final as (
    select * from attributed
)

select * from final
