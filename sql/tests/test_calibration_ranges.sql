-- calibration values are probabilities; bucket counts add up to the markets
select level, category, series_ticker, bucket, markets, mean_implied_probability, realized_frequency, brier_score
from fct_calibration
where bucket not between 0 and 9
   or mean_implied_probability < bucket_low or mean_implied_probability > bucket_high
   or realized_frequency not between 0 and 1 or brier_score not between 0 and 1
union all
select 'all', '', '', null, sum(markets), null, null, null
from fct_calibration where level = 'all'
having sum(markets) <> (select count(*) from fct_calibration_markets)
