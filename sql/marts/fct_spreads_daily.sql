-- grain: one row per (ticker, observed_date, source), UTC days
-- purpose: daily quoted-spread summary. Time weighting: each observation holds until the next observation of the
-- same ticker and source, cut at the end of its UTC day; the last observation of a ticker has no known duration
-- (weight 0). time_weighted_spread_dollars = sum(spread x held) / sum(held) over two-sided time (the plain mean of
-- the two-sided spreads when no two-sided time is known); median over two-sided observations. Division is exact
-- (dec_div), never DOUBLE.
with spreads as (
    select * from fct_spreads
),

held as (
    select
        *,
        datediff(
            'microsecond',
            observed_at,
            least(
                coalesce(lead(observed_at) over (partition by ticker, source order by observed_at), observed_at),
                cast(observed_date + interval 1 day as timestamptz)
            )
        ) as held_us
    from spreads
),

daily as (
    select
        ticker,
        observed_date,
        source,
        count(*) as observations,
        count(*) filter (where book_state = 'two_sided') as two_sided_observations,
        count(*) filter (where book_state in ('bid_only', 'ask_only')) as one_sided_observations,
        count(*) filter (where book_state = 'empty') as empty_observations,
        sum(held_us) as observed_us,
        coalesce(sum(held_us) filter (where book_state = 'two_sided'), 0) as two_sided_us,
        sum(cast(spread_dollars as decimal(38,6)) * held_us) filter (where book_state = 'two_sided')
            as spread_x_us,
        sum(spread_dollars) as spread_sum,
        median(spread_dollars) as median_spread_dollars,
        min(spread_dollars) as min_spread_dollars,
        max(spread_dollars) as max_spread_dollars
    from held
    group by ticker, observed_date, source
),

final as (
    select
        ticker,
        observed_date,
        source,
        observations,
        two_sided_observations,
        one_sided_observations,
        empty_observations,
        observed_us // 1000000 as observed_seconds,
        two_sided_us // 1000000 as two_sided_seconds,
        cast(case
            when two_sided_us > 0 then dec_div(spread_x_us, two_sided_us)
            else dec_div(spread_sum, two_sided_observations)
        end as decimal(18,6)) as time_weighted_spread_dollars,
        cast(dec_div(spread_sum, two_sided_observations) as decimal(18,6)) as mean_spread_dollars,
        cast(median_spread_dollars as decimal(18,6)) as median_spread_dollars,
        min_spread_dollars,
        max_spread_dollars
    from daily
)

select * from final
