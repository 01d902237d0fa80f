-- grain: one row per (combo_ticker, leg_index)
-- purpose: the combo leg dimension: each leg of each combo market with the combo's state (status, result, close)
--   and what the lake knows of the leg's own market (title, status, result; leg_market_known = false when the
--   leg's market is not in stg_markets, e.g. it was not pulled). leg_resolved_to_side: the leg's market settled on
--   the leg's side (side yes: YES settlement value 1; side no: 0), null until the leg is determined. The combo
--   pays YES only when every leg resolves to its side. leg_event_consistent: the leg's event_ticker agrees with its
--   market's own event in stg_markets (true when the market is not known).
with legs as (
    select * from stg_combo_legs
),

combos as (
    select * from stg_combo_markets
),

markets as (
    select * from stg_markets
),

collections as (
    select * from stg_mve_collections
),

joined as (
    select
        l.combo_ticker,
        l.leg_index,
        l.combo_event_ticker,
        l.mve_collection_ticker,
        col.title as collection_title,
        c.title as combo_title,
        c.status as combo_status,
        nullif(c.result, '') as combo_result,
        c.close_time as combo_close_time,
        l.leg_count,
        l.leg_market_ticker,
        l.leg_event_ticker,
        coalesce(m.event_ticker, l.leg_event_ticker) is not distinct from l.leg_event_ticker as leg_event_consistent,
        l.leg_side,
        m.ticker is not null as leg_market_known,
        m.title as leg_market_title,
        m.status as leg_market_status,
        nullif(m.result, '') as leg_market_result,
        l.leg_yes_settlement_value_dollars,
        case
            when l.leg_yes_settlement_value_dollars is null then null
            when l.leg_side = 'yes' then l.leg_yes_settlement_value_dollars = 1
            when l.leg_side = 'no' then l.leg_yes_settlement_value_dollars = 0
        end as leg_resolved_to_side
    from legs as l
    inner join combos as c on c.ticker = l.combo_ticker
    left join markets as m on m.ticker = l.leg_market_ticker
    left join collections as col on col.collection_ticker = l.mve_collection_ticker
),

final as (
    select * from joined
)

select * from final
