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

intervals as (
    select
        s.*,
        lead(s.observed_at) over (partition by s.ticker, s.source order by s.observed_at) is null as is_last,
        least(
            coalesce(
                lead(s.observed_at) over (partition by s.ticker, s.source order by s.observed_at),
                greatest(s.observed_at, least(
                    cast(s.observed_date + interval 1 day as timestamptz),
                    coalesce(m.close_time, cast(s.observed_date + interval 1 day as timestamptz))
                ))
            ),
            case when s.source = 'ws_book' then null else s.observed_at + interval 1 day end
        ) as held_until
    from spreads as s
    left join markets as m on m.ticker = s.ticker
),

pieces as (
    select
        i.*,
        cast(d.day as date) as piece_date,
        -- microseconds on the epoch (#20: datediff and date -> timestamptz casts went through the time zone per row)
        least(epoch_us(i.held_until), (cast(cast(d.day as date) - date '1970-01-01' as bigint) + 1) * 86400000000)
            - greatest(epoch_us(i.observed_at), cast(cast(d.day as date) - date '1970-01-01' as bigint) * 86400000000)
            as held_us
    from intervals as i,
        lateral (
            select unnest(generate_series(
                i.observed_date,
                greatest(i.observed_date, utc_date(i.held_until - interval 1 microsecond)),
                interval 1 day
            )) as day
        ) as d
),

held as (
    select * exclude (observed_date), piece_date as observed_date, observed_date = piece_date as observed_that_day
    from pieces
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
        median(spread_dollars) filter (where observed_that_day) as median_spread_dollars,
        min(spread_dollars) filter (where observed_that_day) as min_spread_dollars,
        max(spread_dollars) filter (where observed_that_day) as max_spread_dollars,
        max(case when held_us > 0 then date_diff('second', observed_at, least(
            held_until, cast(observed_date + interval 1 day as timestamptz)
        )) end) as max_quote_age_seconds
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
            when two_sided_us > 0 then dec_div(spread_x_us, two_sided_us)
            else dec_div(spread_sum, two_sided_observations)
        end as decimal(18,6)) as time_weighted_spread_dollars,
        cast(dec_div(relative_x_us, two_sided_us) as decimal(18,6)) as time_weighted_relative_spread,
        cast(dec_div(spread_sum, two_sided_observations) as decimal(18,6)) as mean_spread_dollars,
        cast(median_spread_dollars as decimal(18,6)) as median_spread_dollars,
        min_spread_dollars,
        max_spread_dollars,
        max_quote_age_seconds,
        is_preferred_source
    from preferred
)

select * from final
