-- calibration values are probabilities; intervals hold the frequency; bucket counts add up to the priced markets;
-- every market (combos aside: not calibrated) has a row per horizon; the prices read at a horizon are not after it;
-- the Brier score equals its decomposition (to rounding)
select 'bucket' as check_, horizon, market_class, cast(bucket as varchar) as detail
from fct_calibration
where bucket not between 0 and 9
   or mean_implied_probability < bucket_low or mean_implied_probability > bucket_high
   or realized_frequency not between 0 and 1 or brier_score not between 0 and 1
   or events > markets or events < 1
   or (market_class = 'binary' and not (realized_frequency between wilson_low and wilson_high
       and wilson_low_events <= wilson_low and wilson_high_events >= wilson_high
       and wilson_low >= 0 and wilson_high <= 1))
union all
select 'bucket_total', c.horizon, c.market_class, cast(c.n as varchar)
from (
    select horizon, market_class, sum(markets) as n from fct_calibration where level = 'all' group by all
) as c
full join (
    select horizon, market_class, count(*) as n
    from fct_calibration_markets where implied_probability is not null group by all
) as m on m.horizon = c.horizon and m.market_class = c.market_class
where c.n is distinct from m.n
union all
select 'horizon_rows', 'all', '', cast(count(*) as varchar)
from fct_calibration_prices
having count(*) <> 4 * (select count(*) from dim_markets where not is_combo)
union all
select 'price_after_as_of', horizon, ticker, cast(price_observed_at as varchar)
from fct_calibration_prices
where price_observed_at > as_of or price_age_seconds < 0
   or (price_source = 'none') <> (implied_probability is null)
   or implied_probability not between 0 and 1
union all
select 'murphy', horizon, market_class, cast(brier_score as varchar)
from fct_calibration_summary
where abs(brier_score - (reliability - resolution + uncertainty + within_bin_variance - 2 * within_bin_covariance))
    > 0.00002
   or markets_priced + markets_without_price <> markets_settled
