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
-- How: the per-day sums of fct_spreads_by_close_daily re-summed per bucket (a top-up reads the days before its
--   window folded by spreads_by_close_fold in macros.sql, the same sums; exact: integer microseconds and
--   DECIMAL sums of sums), plus each (ticker, source)'s last quote held to the close (its last_* columns), cut at the
--   buckets here. Its bucket 1 holds every quote of a market without a close_time: here 'no_close_time'.
-- Incremental by ticker (`day = all` with a key): a row has no day (a bucket sums the market's whole history;
--   '7d+', 'after_close' and 'no_close_time' are unbounded in time), so a top-up re-sums only the tickers with
--   partial rows in the dirty days or whose close_time changed (int_market_states diff), from their daily rows.
-- incremental: day = all
-- incremental: key = ticker
-- incremental: fct_spreads_by_close_daily by piece_date, fold spreads_by_close_fold
-- incremental: int_market_states diff (ticker, close_time)
with partials as (
    select * from fct_spreads_by_close_daily
),

markets as (
    select ticker, close_time from int_market_states
),

buckets as (
    select * from close_buckets()
    union all
    select 0, 'no_close_time', null, null
),

-- each (ticker, source)'s last quote, held from its observed_at to the close (a REST quote at most 24 h); nowhere
-- when it came at or after the close or the market has no close_time
tails as (
    select
        p.ticker,
        p.source,
        p.last_observed_at as observed_at,
        p.last_book_state as book_state,
        p.last_spread_dollars as spread_dollars,
        p.last_relative_spread as relative_spread,
        p.last_yes_bid_size_fp as yes_bid_size_fp,
        p.last_yes_ask_size_fp as yes_ask_size_fp,
        m.close_time,
        least(
            greatest(p.last_observed_at, coalesce(m.close_time, p.last_observed_at)),
            case when p.source = 'ws_book' then null else p.last_observed_at + interval 1 day end
        ) as held_until
    from partials as p
    left join markets as m on m.ticker = p.ticker
    where p.last_observed_at is not null and m.close_time > p.last_observed_at
),

-- an instant t is in the bucket whose lo < close_time - t <= hi (microseconds); buckets run in time order, so the
-- held interval lies in the buckets from its first instant's to its last instant's: only those are joined
bounds as (
    select * from close_bucket_bounds()
),

spans as (
    select
        t.*,
        epoch_us(t.close_time) - epoch_us(t.observed_at) as first_us,
        epoch_us(t.close_time) - epoch_us(t.held_until - interval 1 microsecond) as last_us,
        b.*
    from tails as t
    cross join bounds as b
),

spans2 as (
    select
        * exclude (lo1, lo2, lo3, lo4, lo5, lo6),
        close_bucket_order(first_us, lo1, lo2, lo3, lo4, lo5, lo6) as first_order,
        close_bucket_order(last_us, lo1, lo2, lo3, lo4, lo5, lo6) as last_order
    from spans
),

tail_pieces as (
    select
        i.ticker,
        i.source,
        b.bucket_order,
        i.book_state,
        i.spread_dollars,
        i.relative_spread,
        i.yes_bid_size_fp,
        i.yes_ask_size_fp,
        i.observed_at,
        case when b.hi_seconds is not null then i.close_time - to_seconds(b.hi_seconds) end as window_start,
        case when b.lo_seconds is not null then least(i.held_until, i.close_time - to_seconds(b.lo_seconds))
            else i.held_until end as piece_end
    from (
        select *, unnest(range(first_order, last_order + 1)) as in_order from spans2
    ) as i
    join close_buckets() as b on b.bucket_order = i.in_order
),

tail_held as (
    select
        *,
        greatest(0,
            epoch_us(piece_end)
            - epoch_us(case when window_start is null then observed_at else greatest(observed_at, window_start) end)
        ) as held_us,
        epoch_us(piece_end) // 1000000 - epoch_us(observed_at) // 1000000 as age_at_end
    from tail_pieces
),

tail_sums as (
    select
        ticker,
        source,
        bucket_order,
        0 as observations,
        0 as two_sided_observations,
        held_us,
        held_us as open_ended_us,
        case when book_state = 'two_sided' then held_us else 0 end as two_sided_us,
        case when book_state = 'two_sided' then cast(spread_dollars as decimal(38,6)) * held_us end as spread_x_us,
        case when book_state = 'two_sided' then cast(relative_spread as decimal(38,6)) * held_us end as rel_x_us,
        case when book_state = 'two_sided' and yes_bid_size_fp is not null then held_us else 0 end as sized_us,
        case when book_state = 'two_sided' and yes_bid_size_fp is not null
            then cast(yes_bid_size_fp as decimal(38,2)) * held_us end as bid_size_x_us,
        case when book_state = 'two_sided' and yes_ask_size_fp is not null
            then cast(yes_ask_size_fp as decimal(38,2)) * held_us end as ask_size_x_us,
        age_at_end as max_quote_age_seconds
    from tail_held
    where held_us > 0
),

all_sums as (
    select
        p.ticker,
        p.source,
        case when m.close_time is null then 0 else p.bucket_order end as bucket_order,
        p.observations,
        p.two_sided_observations,
        p.held_us,
        0 as open_ended_us,
        p.two_sided_us,
        p.spread_x_us,
        p.rel_x_us,
        p.sized_us,
        p.bid_size_x_us,
        p.ask_size_x_us,
        p.max_quote_age_seconds
    from partials as p
    left join markets as m on m.ticker = p.ticker
    union all
    select * from tail_sums
),

per_bucket as (
    select
        s.ticker,
        b.close_bucket,
        s.bucket_order,
        s.source,
        cast(sum(s.observations) as bigint) as observations,
        cast(sum(s.two_sided_observations) as bigint) as two_sided_observations,
        sum(s.held_us) as held_us,
        sum(s.open_ended_us) as open_ended_us,
        sum(s.two_sided_us) as two_sided_us,
        sum(s.spread_x_us) as spread_x_us,
        sum(s.rel_x_us) as rel_x_us,
        sum(s.sized_us) as sized_us,
        sum(s.bid_size_x_us) as bid_size_x_us,
        sum(s.ask_size_x_us) as ask_size_x_us,
        max(s.max_quote_age_seconds) as max_quote_age_seconds
    from all_sums as s
    join buckets as b on b.bucket_order = s.bucket_order
    group by s.ticker, b.close_bucket, s.bucket_order, s.source
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
        cast(dec_div_n(spread_x_us, two_sided_us) as decimal(18,6)) as time_weighted_spread_dollars,
        cast(dec_div_n(rel_x_us, two_sided_us) as decimal(18,6)) as time_weighted_relative_spread,
        cast(dec_div_n(bid_size_x_us, sized_us) as decimal(18,2)) as time_weighted_bid_size_fp,
        cast(dec_div_n(ask_size_x_us, sized_us) as decimal(18,2)) as time_weighted_ask_size_fp,
        max_quote_age_seconds
    from preferred
)

select * from final
