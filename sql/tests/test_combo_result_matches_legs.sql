-- a determined combo pays YES exactly when every leg resolved to its side (checked where every leg's settlement
-- value is known)
with per_combo as (
    select
        combo_ticker,
        combo_result,
        count(*) as legs,
        count(leg_resolved_to_side) as legs_known,
        bool_and(leg_resolved_to_side) as every_leg_won
    from dim_combo_legs
    group by combo_ticker, combo_result
)

select *
from per_combo
where combo_result in ('yes', 'no') and legs_known = legs and (combo_result = 'yes') <> every_leg_won
