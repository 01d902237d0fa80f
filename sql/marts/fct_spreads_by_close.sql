-- grain: one row per (ticker, close_bucket, source): every bucket of time before (and after) the market's close in
--   which a quote of that source was observed or held (close_buckets() in macros.sql: 7d+, 1d-7d, 6h-1d, 1h-6h,
--   15m-1h, 0-15m, after_close; 'no_close_time' when the market has none)
-- purpose: quoted spread by time to close. Each quote of fct_spreads holds from its observed_at until the next quote
-- of the same ticker and source (a REST quote at most 24 h, as fct_spreads_daily); the ticker's last quote of a
-- source holds to the close when it came before it (open_ended_seconds says how much time rests on that), else
-- nowhere. The held time is cut at the bucket boundaries.
--   time_weighted_spread_dollars / time_weighted_relative_spread: sum(spread x held) / two-sided time (relative =
--   spread / mid); time_weighted_bid_size_fp / ask_size_fp: size at the best levels over two-sided time where sizes
--   are known (not candles); observations counts the quotes observed in the bucket.
--   Source and age: source is in the grain; is_preferred_source marks the row to read for the bucket (ws_book when
--   the recording covers any of it, else order book over market snapshot over candle); max_quote_age_seconds is the
--   oldest a quote got while it was used in the bucket (time since it was observed; for ws_book, since the book
--   last changed, which is not staleness: a recorded top is current until it changes).
-- Incremental by ticker (`day = all` with a key): a row has no day (a bucket sums the market's whole history of
--   fct_spreads; '7d+', 'after_close' and 'no_close_time' are unbounded in time), so a top-up recomputes only the
--   tickers with fct_spreads rows in the dirty days or whose close_time changed (int_market_states diff), reading
--   those tickers' rows whole and replacing only their rows.
-- incremental: day = all
-- incremental: key = ticker
-- incremental: fct_spreads by observed_date
-- incremental: int_market_states diff (ticker, close_time)
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
        dec_div(s.spread_dollars, s.mid_dollars) as relative_spread,
        s.yes_bid_size_fp,
        s.yes_ask_size_fp,
        m.close_time,
        lead(s.observed_at) over w is null as is_last,
        least(
            coalesce(lead(s.observed_at) over w, greatest(s.observed_at, coalesce(m.close_time, s.observed_at))),
            case when s.source = 'ws_book' then null else s.observed_at + interval 1 day end
        ) as held_until
    from spreads as s
    left join markets as m on m.ticker = s.ticker
    window w as (partition by s.ticker, s.source order by s.observed_at)
),

buckets as (
    select * from close_buckets()
    union all
    select 0, 'no_close_time', null, null
),

-- an instant t is in the bucket whose lo < close_time - t <= hi (microseconds). Buckets run in time order
-- (bucket_order 1 = 7d+ ... 6 = 0-15m, 7 = after_close, each lo the next one's hi), so an interval [observed_at,
-- held_until) lies in the buckets from its first instant's to its last instant's: only those are joined (a piece
-- outside them has no held time and no observation; the 7-way cross join this replaces kept the same pieces).
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
        case when close_time is null then 0 when first_us > lo1 then 1 when first_us > lo2 then 2
            when first_us > lo3 then 3 when first_us > lo4 then 4 when first_us > lo5 then 5
            when first_us > lo6 then 6 else 7 end as first_order,
        case when close_time is null then 0 when last_us > lo1 then 1 when last_us > lo2 then 2
            when last_us > lo3 then 3 when last_us > lo4 then 4 when last_us > lo5 then 5
            when last_us > lo6 then 6 else 7 end as last_order
    from spans
),

windows as (
    select
        i.* exclude (first_us, last_us, first_order, last_order, in_order),
        b.bucket_order,
        b.close_bucket,
        case when b.hi_seconds is not null then i.close_time - to_seconds(b.hi_seconds) end as window_start,
        case when b.lo_seconds is not null then i.close_time - to_seconds(b.lo_seconds) end as window_end
    from (
        select *, unnest(range(first_order, last_order + 1)) as in_order from spans2
    ) as i
    join buckets as b on b.bucket_order = i.in_order
),

pieces as (
    select
        *,
        (window_start is null or observed_at >= window_start) and (window_end is null or observed_at < window_end)
            as observed_in_window,
        greatest(0,
            epoch_us(case when window_end is null then held_until else least(held_until, window_end) end)
            - epoch_us(case when window_start is null then observed_at else greatest(observed_at, window_start) end)
        ) as held_us,
        -- whole seconds crossed, as date_diff('second', ...) (epoch_us is cheaper than its time-zone path)
        epoch_us(case when window_end is null then held_until else least(held_until, window_end) end) // 1000000
            - epoch_us(observed_at) // 1000000 as age_at_end
    from windows
),

kept as (
    select * from pieces where observed_in_window or held_us > 0
),

per_bucket as (
    select
        ticker,
        close_bucket,
        any_value(bucket_order) as bucket_order,
        source,
        count(*) filter (where observed_in_window) as observations,
        count(*) filter (where observed_in_window and book_state = 'two_sided') as two_sided_observations,
        sum(held_us) as held_us,
        coalesce(sum(held_us) filter (where is_last), 0) as open_ended_us,
        coalesce(sum(held_us) filter (where book_state = 'two_sided'), 0) as two_sided_us,
        sum(cast(spread_dollars as decimal(38,6)) * held_us) filter (where book_state = 'two_sided') as spread_x_us,
        sum(cast(relative_spread as decimal(38,6)) * held_us) filter (where book_state = 'two_sided') as rel_x_us,
        coalesce(sum(held_us) filter (where book_state = 'two_sided' and yes_bid_size_fp is not null), 0)
            as sized_us,
        sum(cast(yes_bid_size_fp as decimal(38,2)) * held_us)
            filter (where book_state = 'two_sided' and yes_bid_size_fp is not null) as bid_size_x_us,
        sum(cast(yes_ask_size_fp as decimal(38,2)) * held_us)
            filter (where book_state = 'two_sided' and yes_ask_size_fp is not null) as ask_size_x_us,
        max(case when held_us > 0 then age_at_end end) as max_quote_age_seconds
    from kept
    group by ticker, close_bucket, source
),

preferred as (
    select
        *,
        row_number() over (
            partition by ticker, close_bucket
            order by held_us > 0 desc,
                quote_source_rank(source)
        ) = 1 as is_preferred_source
    from per_bucket
),

final as (
    select
        ticker,
        close_bucket,
        bucket_order,
        source,
        is_preferred_source,
        observations,
        two_sided_observations,
        held_us // 1000000 as observed_seconds,
        two_sided_us // 1000000 as two_sided_seconds,
        open_ended_us // 1000000 as open_ended_seconds,
        cast(dec_div(spread_x_us, two_sided_us) as decimal(18,6)) as time_weighted_spread_dollars,
        cast(dec_div(rel_x_us, two_sided_us) as decimal(18,6)) as time_weighted_relative_spread,
        cast(dec_div(bid_size_x_us, sized_us) as decimal(18,2)) as time_weighted_bid_size_fp,
        cast(dec_div(ask_size_x_us, sized_us) as decimal(18,2)) as time_weighted_ask_size_fp,
        max_quote_age_seconds
    from preferred
)

select * from final
