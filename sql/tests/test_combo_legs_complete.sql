-- every combo market has its legs in stg_combo_legs (none dropped), each with a market, an event and a side
select c.ticker, 'no leg rows' as problem
from stg_combo_markets as c
where not exists (select 1 from stg_combo_legs as l where l.combo_ticker = c.ticker)
union all
select combo_ticker, 'leg without market, event or side' as problem
from stg_combo_legs
where leg_market_ticker is null or leg_event_ticker is null or leg_side not in ('yes', 'no')
