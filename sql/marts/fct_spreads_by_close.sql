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

windows as (
    select
        i.*,
        b.bucket_order,
        b.close_bucket,
        case when b.hi_seconds is not null then i.close_time - to_seconds(b.hi_seconds) end as window_start,
        case when b.lo_seconds is not null then i.close_time - to_seconds(b.lo_seconds) end as window_end
    from intervals as i
    join buckets as b on (i.close_time is null) = (b.close_bucket = 'no_close_time')
),

pieces as (
    select
        *,
        (window_start is null or observed_at >= window_start) and (window_end is null or observed_at < window_end)
            as observed_in_window,
        greatest(0, date_diff(
            'microsecond',
            case when window_start is null then observed_at else greatest(observed_at, window_start) end,
            case when window_end is null then held_until else least(held_until, window_end) end
        )) as held_us,
        date_diff('second', observed_at,
            case when window_end is null then held_until else least(held_until, window_end) end) as age_at_end
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
                case source when 'ws_book' then 0 when 'orderbook' then 1 when 'market' then 2 else 3 end
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
