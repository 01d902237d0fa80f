-- a combo's legs are the markets and sides its custom_strike names ("Associated Markets", "Associated Market
-- Sides", in the same order), where the market carries a custom_strike
with strikes as (
    select
        ticker,
        json_extract_string(custom_strike, '$."Associated Markets"') as markets,
        json_extract_string(custom_strike, '$."Associated Market Sides"') as sides
    from stg_combo_markets
    where json_extract_string(custom_strike, '$."Associated Markets"') is not null
),

legs as (
    select
        combo_ticker,
        string_agg(leg_market_ticker, ',' order by leg_index) as markets,
        string_agg(leg_side, ',' order by leg_index) as sides
    from stg_combo_legs
    group by combo_ticker
)

select s.ticker, s.markets, l.markets as leg_markets, s.sides, l.sides as leg_sides
from strikes as s
left join legs as l on l.combo_ticker = s.ticker
where l.markets is distinct from s.markets or l.sides is distinct from s.sides
