-- grain: one row per (combo_ticker, leg_index): each selected leg of each combo market (latest observed state)
-- purpose: the leg table of the combo markets: which market (and event) each combo is built from, on which side.
--   A combo pays YES only when every leg resolves to its `leg_side` (Kalshi's `mve_selected_legs`, in the order
--   the API lists them: leg_index 1, 2, ...). `leg_yes_settlement_value_dollars` is the leg market's YES
--   settlement value, sent only once the leg is determined (null before). `leg_count` = legs of the combo.
--   Reads the stream directly (staging reads `src_` only), with the same latest-state rule as stg_combo_markets;
--   sql/tests/test_combo_legs_complete.sql fails if a combo market has no leg row.
with source as (
    select * from src_combo_markets
),

latest as (
    select *, row_number() over (
        partition by ticker order by _loaded_at desc, updated_time desc nulls last, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

combos as (
    select
        ticker as combo_ticker,
        event_ticker as combo_event_ticker,
        mve_collection_ticker,
        _loaded_at,
        _run_id,
        from_json(
            mve_selected_legs,
            '[{"event_ticker": "VARCHAR", "market_ticker": "VARCHAR", "side": "VARCHAR",
               "yes_settlement_value_dollars": "VARCHAR"}]'
        ) as legs
    from latest
    where _rn = 1
),

legs as (
    select
        combos.combo_ticker,
        combos.combo_event_ticker,
        combos.mve_collection_ticker,
        cast(u.leg_index as integer) as leg_index,
        cast(len(combos.legs) as integer) as leg_count,
        u.leg.market_ticker as leg_market_ticker,
        u.leg.event_ticker as leg_event_ticker,
        u.leg.side as leg_side,
        cast(u.leg.yes_settlement_value_dollars as decimal(18,6)) as leg_yes_settlement_value_dollars,
        combos._loaded_at,
        combos._run_id
    from combos, unnest(combos.legs) with ordinality as u(leg, leg_index)
),

final as (
    select * from legs
)

select * from final
