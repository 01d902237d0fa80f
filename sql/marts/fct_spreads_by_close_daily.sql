-- grain: one row per (ticker, source, bucket_order, piece_date): the partial sums of fct_spreads_by_close over one
--   UTC day of one market's quotes of one source in one time-to-close bucket (close_buckets() in macros.sql)
-- purpose: lets fct_spreads_by_close re-sum a market's whole history from a few rows per day, so a top-up only
-- recomputes the days the pull touched. Each quote of fct_spreads holds from its observed_at until the next quote
-- of the same ticker and source (a REST quote at most 24 h), cut at the buckets and at UTC midnight; the sums are
-- those of the mart (observations in the piece holding the observed instant; held, two-sided and sized time in
-- microseconds; DECIMAL sums of spread x time...), so the mart's sums of them are exact. max_quote_age_seconds: the
-- oldest a quote got at the end of a piece (the last piece of a quote ends where the mart's piece ends).
-- The ticker's last quote of a source is only counted as observed here (held 0): how long it holds depends on the
-- close_time alone (to the close), so the mart adds it from last_* (set on the row holding that observation) and
-- a day's row changes only when its own quotes do. bucket_order 1 ('7d+') also holds every quote of a market
-- without a close_time (or not in int_market_states): the mart reads them as 'no_close_time'; so a close_time that
-- appears, disappears or moves changes only the days from 7 days before the close on (the `diff ... at` below).
-- incremental: day = piece_date
-- incremental: fct_spreads by observed_at, carry (ticker, source), held
-- incremental: int_market_states diff (ticker, close_time) at coalesce(utc_date(close_time) - 7, date '9999-12-31')
with spreads as (
    select * from fct_spreads
),

markets as (
    select ticker, close_time from int_market_states
),

intervals as (
    select
        s.ticker,
        s.source,
        s.observed_at,
        s.book_state,
        s.spread_dollars,
        -- fct_spreads' relative_spread is dec_div(spread, mid) already (dec_div_6dp: the same value, DECIMAL(18,6))
        cast(s.relative_spread as decimal(38,6)) as relative_spread,
        s.yes_bid_size_fp,
        s.yes_ask_size_fp,
        m.close_time,
        lead(s.observed_at) over w is null as is_last,
        -- the last quote: held 0 here (the mart holds it to the close)
        least(
            coalesce(lead(s.observed_at) over w, s.observed_at),
            case when s.source = 'ws_book' then null else s.observed_at + interval 1 day end
        ) as held_until
    from spreads as s
    left join markets as m on m.ticker = s.ticker
    window w as (partition by s.ticker, s.source order by s.observed_at)
),

-- an instant t is in the bucket whose lo < close_time - t <= hi (microseconds). Buckets run in time order
-- (bucket_order 1 = 7d+ ... 6 = 0-15m, 7 = after_close, each lo the next one's hi), so an interval [observed_at,
-- held_until) lies in the buckets from its first instant's to its last instant's: only those are joined
bounds as (
    select * from close_bucket_bounds()
),

spans as (
    select
        i.*,
        epoch_us(i.close_time) - epoch_us(i.observed_at) as first_us,
        epoch_us(i.close_time) - epoch_us(greatest(i.observed_at, i.held_until - interval 1 microsecond)) as last_us,
        b.*
    from intervals as i
    cross join bounds as b
),

spans2 as (
    select
        * exclude (lo1, lo2, lo3, lo4, lo5, lo6),
        case when close_time is null then 1 else close_bucket_order(first_us, lo1, lo2, lo3, lo4, lo5, lo6) end as first_order,
        case when close_time is null then 1 else close_bucket_order(last_us, lo1, lo2, lo3, lo4, lo5, lo6) end as last_order
    from spans
),

windows as (
    select
        i.* exclude (first_us, last_us, first_order, last_order, in_order),
        b.bucket_order,
        case when b.hi_seconds is not null then i.close_time - to_seconds(b.hi_seconds) end as window_start,
        case when b.lo_seconds is not null then i.close_time - to_seconds(b.lo_seconds) end as window_end
    from (
        select *, unnest(range(first_order, last_order + 1)) as in_order from spans2
    ) as i
    join close_buckets() as b on b.bucket_order = i.in_order
),

-- a bucket's piece [piece_start, piece_end), cut at UTC midnight: the days from piece_start's to (piece_end - 1 µs)'s
cut as (
    select
        *,
        (window_start is null or observed_at >= window_start) and (window_end is null or observed_at < window_end)
            as observed_in_window,
        epoch_us(case when window_start is null then observed_at else greatest(observed_at, window_start) end)
            as piece_start,
        epoch_us(case when window_end is null then held_until else least(held_until, window_end) end) as piece_end
    from windows
),

days as (
    select
        *,
        unnest(range(
            piece_start // 86400000000,
            greatest(piece_start // 86400000000, (piece_end - 1) // 86400000000) + 1
        )) as day_n
    from cut
    where piece_end >= piece_start
),

pieces as (
    select
        *,
        cast(date '1970-01-01' + cast(day_n as integer) as date) as piece_date,
        epoch_us(observed_at) // 86400000000 = day_n and observed_in_window as observed_here,
        greatest(0, least(piece_end, (day_n + 1) * 86400000000) - greatest(piece_start, day_n * 86400000000))
            as held_us,
        -- whole seconds crossed, as date_diff('second', ...) (epoch_us is cheaper than its time-zone path)
        least(piece_end, (day_n + 1) * 86400000000) // 1000000 - epoch_us(observed_at) // 1000000 as age_at_end
    from days
),

kept as (
    select * from pieces where observed_here or held_us > 0
),

final as (
    select
        ticker,
        source,
        bucket_order,
        piece_date,
        count(*) filter (where observed_here) as observations,
        count(*) filter (where observed_here and book_state = 'two_sided') as two_sided_observations,
        sum(held_us) as held_us,
        coalesce(sum(held_us) filter (where book_state = 'two_sided'), 0) as two_sided_us,
        sum(cast(spread_dollars as decimal(38,6)) * held_us) filter (where book_state = 'two_sided') as spread_x_us,
        sum(cast(relative_spread as decimal(38,6)) * held_us) filter (where book_state = 'two_sided') as rel_x_us,
        coalesce(sum(held_us) filter (where book_state = 'two_sided' and yes_bid_size_fp is not null), 0)
            as sized_us,
        sum(cast(yes_bid_size_fp as decimal(38,2)) * held_us)
            filter (where book_state = 'two_sided' and yes_bid_size_fp is not null) as bid_size_x_us,
        sum(cast(yes_ask_size_fp as decimal(38,2)) * held_us)
            filter (where book_state = 'two_sided' and yes_ask_size_fp is not null) as ask_size_x_us,
        max(case when held_us > 0 then age_at_end end) as max_quote_age_seconds,
        -- the last quote of (ticker, source), on the row of its observation: the mart holds it to the close
        any_value(observed_at) filter (where is_last and observed_here) as last_observed_at,
        any_value(book_state) filter (where is_last and observed_here) as last_book_state,
        any_value(spread_dollars) filter (where is_last and observed_here) as last_spread_dollars,
        any_value(relative_spread) filter (where is_last and observed_here) as last_relative_spread,
        any_value(yes_bid_size_fp) filter (where is_last and observed_here) as last_yes_bid_size_fp,
        any_value(yes_ask_size_fp) filter (where is_last and observed_here) as last_yes_ask_size_fp
    from kept
    group by ticker, source, bucket_order, piece_date
)

select * from final
