-- grain: one row per (ticker, observed_date, source), UTC days
-- purpose: daily quoted-spread summary. Time weighting: each observation holds from its observed_at until the next
-- observation of the same ticker and source, ACROSS midnight: a day starts with the quote prevailing at 00:00 UTC
-- (the previous day's last one), so midnight -> first quote counts (it was dropped before #15). The ticker's last
-- observation of a source has no known end: it is assumed to hold to the end of its UTC day, or to the market's
-- close_time if earlier (before #15 it had weight 0); open_ended_seconds says how much of the day's time rests on
-- that assumption. A REST quote (polled, not change-driven) holds at most 24 h: a longer gap in the polling is not
-- read as an unchanged quote; a ws_book top holds until the recorded book changes or stops being known. A day that only carries a quote from before midnight (no observation that day) has a row with
-- observations 0. time_weighted_spread_dollars = sum(spread x held) / sum(held) over two-sided time (the plain mean
-- of the two-sided spreads when no two-sided time is known); time_weighted_relative_spread the same over
-- fct_spreads.relative_spread (spread / mid; null without two-sided time); mean / median / min / max over the day's own
-- two-sided observations. Division is exact (dec_div), never DOUBLE. Source and age: source is in the grain;
-- is_preferred_source marks the row to read for the day (ws_book where the recording holds a quote that day, else
-- order book over market snapshot over candle); max_quote_age_seconds is the oldest a quote got while it was used
-- that day (time since observed; for ws_book since the book last changed, which is not staleness).
-- incremental: day = observed_date
-- incremental: fct_spreads by observed_at, carry (ticker, source), held
-- incremental: int_market_states diff (ticker, close_time) at utc_date(close_time)
with spreads as (
    select * from fct_spreads
),

markets as (
    select ticker, close_time from int_market_states
),

-- instants as epoch microseconds (#20: timestamptz arithmetic and date -> timestamptz casts go through the time zone
-- per row); a UTC day n (days since 1970-01-01) spans [n * 86400000000, (n + 1) * 86400000000)
intervals as (
    select
        s.*,
        epoch_us(s.observed_at) as observed_us_at,
        lead(s.observed_at) over w is null as is_last,
        least(
            coalesce(
                epoch_us(lead(s.observed_at) over w),
                greatest(epoch_us(s.observed_at), least(
                    (s.observed_date - date '1970-01-01' + 1) * 86400000000,
                    coalesce(epoch_us(m.close_time), (s.observed_date - date '1970-01-01' + 1) * 86400000000)
                ))
            ),
            case when s.source = 'ws_book' then null else epoch_us(s.observed_at) + 86400000000 end
        ) as held_until_us
    from spreads as s
    left join markets as m on m.ticker = s.ticker
    window w as (partition by s.ticker, s.source order by s.observed_at)
),

-- each interval cut at UTC midnight: the days from observed_date to the day of its last instant
days as (
    select
        *,
        unnest(range(
            observed_us_at // 86400000000,
            greatest(observed_us_at // 86400000000, (held_until_us - 1) // 86400000000) + 1
        )) as day_n
    from intervals
),

pieces as (
    select
        *,
        cast(date '1970-01-01' + cast(day_n as integer) as date) as piece_date,
        least(held_until_us, (day_n + 1) * 86400000000) - greatest(observed_us_at, day_n * 86400000000) as held_us,
        -- whole seconds crossed to the end of the piece, as date_diff('second', ...)
        least(held_until_us, (day_n + 1) * 86400000000) // 1000000 - observed_us_at // 1000000 as age_at_end
    from days
),

held as (
    select * exclude (observed_date), piece_date as observed_date, observed_date = piece_date as observed_that_day
    from pieces
),

-- the median of each day's observed spreads, grouped apart from the pieces: each quote is observed once, on its own
-- day, so these are fct_spreads' rows. median() in the group by of the pieces below (every quote once per day it
-- holds into, with a dozen other aggregates) cost 8 of 12 s and +1.1 GB at 2,000 markets x 180 days, and a year of
-- them spilled past 50 GB of temp files
medians as (
    select ticker, observed_date, source, median(spread_dollars) as med
    from spreads
    group by all
),

daily as (
    select
        ticker,
        observed_date,
        source,
        count(*) filter (where observed_that_day) as observations,
        count(*) filter (where observed_that_day and book_state = 'two_sided') as two_sided_observations,
        count(*) filter (where observed_that_day and book_state in ('bid_only', 'ask_only')) as one_sided_observations,
        count(*) filter (where observed_that_day and book_state = 'empty') as empty_observations,
        sum(held_us) as observed_us,
        coalesce(sum(held_us) filter (where is_last), 0) as open_ended_us,
        coalesce(sum(held_us) filter (where book_state = 'two_sided'), 0) as two_sided_us,
        sum(cast(spread_dollars as decimal(38,6)) * held_us) filter (where book_state = 'two_sided')
            as spread_x_us,
        sum(cast(relative_spread as decimal(38,6)) * held_us) filter (where book_state = 'two_sided')
            as relative_x_us,
        sum(spread_dollars) filter (where observed_that_day) as spread_sum,
        min(spread_dollars) filter (where observed_that_day) as min_spread_dollars,
        max(spread_dollars) filter (where observed_that_day) as max_spread_dollars,
        max(case when held_us > 0 then age_at_end end) as max_quote_age_seconds
    from held
    group by ticker, observed_date, source
),

preferred as (
    select
        *,
        row_number() over (
            partition by ticker, observed_date
            order by observed_us > 0 desc,
                quote_source_rank(source)
        ) = 1 as is_preferred_source
    from daily
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
        open_ended_us // 1000000 as open_ended_seconds,
        cast(case
            when two_sided_us > 0 then dec_div_n(spread_x_us, two_sided_us)
            else dec_div_n(spread_sum, two_sided_observations)
        end as decimal(18,6)) as time_weighted_spread_dollars,
        cast(dec_div_n(relative_x_us, two_sided_us) as decimal(18,6)) as time_weighted_relative_spread,
        cast(dec_div_n(spread_sum, two_sided_observations) as decimal(18,6)) as mean_spread_dollars,
        cast(md.med as decimal(18,6)) as median_spread_dollars,
        min_spread_dollars,
        max_spread_dollars,
        max_quote_age_seconds,
        is_preferred_source
    from preferred
    left join medians as md using (ticker, observed_date, source)
)

select * from final
