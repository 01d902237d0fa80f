-- grain: one row per (_account, fill_id, leg_index) for every fill of the account on a combo market
-- purpose: attributes the account's combo fills to their legs. yes_qty_fp is the fill's signed combo quantity
--   (stg_fills: bid = +count bought YES, ask = -count); leg_exposure_fp = yes_qty_fp on every leg: long the combo
--   (> 0) = needs the leg to resolve to leg_side, short (< 0) = gains if any leg fails. Price and fee are the
--   combo fill's and are repeated on each leg row (sum them over distinct fill_id, not over rows); they are not
--   split among the legs (no unique split exists). Combo detection and unknown legs as in fct_combo_leg_trades:
--   a fill whose legs are not in the lake keeps one row, leg_index 0, legs_known = false.
with fills as (
    select * from stg_fills
),

legs as (
    select * from stg_combo_legs
),

combo_fills as (
    select f.*
    from fills as f
    where f.ticker like 'KXMVE%' or f.ticker in (select combo_ticker from legs)
),

attributed as (
    select
        f._account,
        f.fill_id,
        f.order_id,
        f.created_time,
        f.ticker as combo_ticker,
        coalesce(l.leg_index, 0) as leg_index,
        l.leg_index is not null as legs_known,
        l.combo_event_ticker,
        l.leg_count,
        l.leg_market_ticker,
        l.leg_event_ticker,
        l.leg_side,
        f.book_side,
        f.count_fp,
        f.yes_qty_fp,
        f.yes_qty_fp as leg_exposure_fp,
        f.yes_price_dollars,
        f.is_taker,
        f.fee_cost,
        f.subaccount_number,
        f.fill_source
    from combo_fills as f
    left join legs as l on l.combo_ticker = f.ticker
),

final as (
    select * from attributed
)

select * from final
