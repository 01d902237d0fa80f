-- grain: one row per (horizon, market_class)
-- purpose: one score line per horizon, binary and scalar markets apart: how many settled markets, how many priced
-- (and from a mid or a trade, median price age), events, Brier score with its Murphy decomposition over the
-- tenths buckets of fct_calibration_markets, and mean log loss.
-- Decomposition (N priced markets; bucket k holds n_k markets with mean forecast pbar_k and mean outcome obar_k;
-- obar = overall mean outcome):
--   reliability  = (1/N) sum_k n_k (pbar_k - obar_k)^2
--   resolution   = (1/N) sum_k n_k (obar_k - obar)^2
--   uncertainty  = (1/N) sum_i (o_i - obar)^2            (= obar (1 - obar) for binary outcomes)
--   within_bin_variance   = (1/N) sum_k sum_{i in k} (p_i - pbar_k)^2
--   within_bin_covariance = (1/N) sum_k sum_{i in k} (p_i - pbar_k)(o_i - obar_k)
--   brier_score = reliability - resolution + uncertainty + within_bin_variance - 2 within_bin_covariance, an
--   exact identity for forecasts binned this way (the textbook three-term form assumes one forecast value per bin;
--   the two within-bin terms are what binning continuous prices adds). Each term is exact decimal arithmetic
--   rounded to 6 dp, so the identity holds to a few 1e-6.
with markets as (
    select * from fct_calibration_markets
),

bins as (
    select
        horizon, market_class, bucket,
        count(*) as n,
        sum(implied_probability) as sp,
        sum(outcome) as so,
        sum(implied_probability * implied_probability) as spp,
        sum(outcome * outcome) as soo,
        sum(implied_probability * outcome) as spo
    from markets
    where implied_probability is not null
    group by all
),

totals as (
    select
        horizon, market_class,
        sum(n) as n_total,
        sum(so) as so_total,
        sum(soo) as soo_total,
        sum(spp) as spp_total,
        sum(spo) as spo_total,
        sum(dec_div((sp - so) * (sp - so), n)) as rel_n,
        sum(dec_div(so * so, n)) as so2_over_n,
        sum(dec_div(sp * sp, n)) as sp2_over_n,
        sum(dec_div(sp * so, n)) as spso_over_n
    from bins
    group by all
),

counts as (
    select
        horizon, market_class,
        count(*) as markets_settled,
        count(implied_probability) as markets_priced,
        count(*) filter (where price_source = 'none') as markets_without_price,
        count(*) filter (where price_source = 'mid') as markets_from_mid,
        count(*) filter (where price_source = 'trade') as markets_from_trade,
        count(distinct event_ticker) filter (where implied_probability is not null) as events_priced,
        cast(median(price_age_seconds) as decimal(18,3)) as median_price_age_seconds,
        cast(dec_div(sum(squared_error), count(implied_probability)) as decimal(18,6)) as brier_score,
        avg(log_loss) as log_loss,
        max(log_loss_clip) as log_loss_clip
    from markets
    group by all
),

final as (
    select
        c.horizon,
        c.market_class,
        c.markets_settled,
        c.markets_priced,
        c.markets_without_price,
        c.markets_from_mid,
        c.markets_from_trade,
        c.events_priced,
        c.median_price_age_seconds,
        c.brier_score,
        cast(dec_div(t.rel_n, t.n_total) as decimal(18,6)) as reliability,
        cast(dec_div(t.so2_over_n - dec_div(t.so_total * t.so_total, t.n_total), t.n_total) as decimal(18,6))
            as resolution,
        cast(dec_div(t.soo_total - dec_div(t.so_total * t.so_total, t.n_total), t.n_total) as decimal(18,6))
            as uncertainty,
        cast(dec_div(t.spp_total - t.sp2_over_n, t.n_total) as decimal(18,6)) as within_bin_variance,
        cast(dec_div(t.spo_total - t.spso_over_n, t.n_total) as decimal(18,6)) as within_bin_covariance,
        c.log_loss,
        c.log_loss_clip
    from counts as c
    left join totals as t on t.horizon = c.horizon and t.market_class = c.market_class
)

select * from final
