-- grain: one row per (ticker, horizon) for every market and each horizon 'open', '7d', '24h', '1h' (none dropped:
--   a market without a price at a horizon has price_source 'none')
-- purpose: the YES price of a market at a fixed instant before close (#15: "the last trade before close" was on
--   average 1.5 min before close and flattered calibration). as_of = close_time - horizon for '7d', '24h', '1h';
--   for 'open' it is the first instant at or after open_time (and before close_time) at which the market has a
--   trade or a two-sided mid. as_of is null (price_source 'none') when close_time is unknown, or when
--   close_time - horizon falls before open_time (the market was not open yet).
-- The price at as_of, in order of preference:
--   * 'mid' from int_market_mids when fresh at as_of: the latest ws_book row at or before as_of known whole and
--     two-sided (current until its book changes, however old), else the latest REST quote at or before as_of
--     (order book over market snapshot over candle at one instant) when two-sided and at most
--     max_mid_age_seconds() old (macros.sql, default 60 s; the value used is in max_mid_age_seconds);
--   * else 'trade': the last trade at or before as_of (any age: price_age_seconds says how old);
--   * else 'none'.
-- quote_source names the quote's origin ('ws_book', 'orderbook', 'market', 'candle', 'trade');
-- price_observed_at is when that quote / trade was observed, price_age_seconds = as_of - price_observed_at.
-- market_class: 'scalar' when market_type = 'scalar', else 'binary' (kept apart in every calibration mart).
-- Combo (multivariate) markets (dim_markets.is_combo) are left out, as they were before dim_markets included them.
-- Incremental by the instant a row's price is taken at: a row reads only trades and quotes at or before its as_of
-- (every lookup looks back; the first instant after open is the least one seen), so its day is as_of's day, and
-- new rows change only the rows whose as_of is on or after their day (a market still open: its as_of are ahead).
-- A row without an as_of (no close_time, or nothing seen since open) takes the close day, else the last day.
-- A market whose dates change moves its rows: from the earliest day any of them can have (its open day or a week
-- before its close).
-- incremental: day = coalesce(utc_date(as_of), utc_date(close_time), date '9999-12-31')
-- incremental: key = ticker
-- incremental: dim_markets diff (ticker, event_ticker, series_ticker, category, market_type, open_time, close_time, is_combo) at coalesce(least(utc_date(open_time), utc_date(close_time - interval 7 days)), date '9999-12-31')
-- incremental: stg_trades whole
-- incremental: int_market_mids whole
with markets as (
    select
        ticker, event_ticker, series_ticker, coalesce(category, '') as category, market_type,
        case when market_type = 'scalar' then 'scalar' else 'binary' end as market_class,
        open_time, close_time
    from dim_markets
    where not is_combo
),

-- not materialized: read twice, but a copy of 10M trades costs more than scanning their columns again (#20)
trades as not materialized (
    select ticker, created_time, trade_id, yes_price_dollars from stg_trades where created_time is not null
),

-- the REST quotes; at one instant the best-ranked source's is the quote (order book over market snapshot over
-- candle), mid or not. #20: not deduplicated per instant up front (a sort of every quote): the lookups below pick
-- the best-ranked quote themselves
rest as (
    select ticker, observed_at, source, mid_dollars, quote_source_rank(source) as source_rank
    from int_market_mids
    where source <> 'ws_book'
),

-- instants whose best-ranked REST quote has no mid: a lower-ranked source's mid there is not the quote
rest_unpriced as (
    select ticker, observed_at, min(source_rank) as source_rank
    from rest
    where mid_dollars is null
    group by ticker, observed_at
),

rest_priced as (
    select r.ticker, r.observed_at
    from rest as r
    anti join rest_unpriced as u
        on u.ticker = r.ticker and u.observed_at = r.observed_at and u.source_rank < r.source_rank
    where r.mid_dollars is not null
),

ws as (
    select ticker, observed_at, case when quote_known then mid_dollars end as mid_dollars
    from int_market_mids
    where source = 'ws_book'
    qualify row_number() over (partition by ticker, observed_at order by quote_known, mid_dollars nulls first) = 1
),

first_seen as (
    select m.ticker, min(x.at) as first_at
    from markets as m
    join (
        select ticker, created_time as at from trades
        union all
        select ticker, observed_at from rest_priced
        union all
        select ticker, observed_at from ws where mid_dollars is not null
    ) as x on x.ticker = m.ticker and x.at >= m.open_time and x.at < m.close_time
    group by m.ticker
),

horizons as (
    select * from (values ('open', cast(null as bigint)), ('7d', 604800), ('24h', 86400), ('1h', 3600))
        as h(horizon, horizon_seconds)
),

grid as (
    select
        m.*,
        h.horizon,
        h.horizon_seconds,
        case
            when h.horizon = 'open' then f.first_at
            when m.close_time - to_seconds(h.horizon_seconds) >= coalesce(m.open_time, m.close_time - to_seconds(h.horizon_seconds))
                then m.close_time - to_seconds(h.horizon_seconds)
        end as as_of
    from markets as m
    cross join horizons as h
    left join first_seen as f on f.ticker = m.ticker
),

-- the last trade at or before as_of, without sorting every trade: each trade is put in the bucket of the first
-- as_of of its market at or after it (a trade after the market's last as_of is never looked up), each bucket keeps
-- its last trade, and a grid row reads the latest bucket at or before its as_of. The last trade is the latest
-- instant's; among trades at that instant the highest trade_id with a price (none with a price: no price, as when
-- the trades of an instant were grouped first). A bucket's latest instant first, then only the trades at it (#20:
-- ranking every trade by (instant, priced, trade_id) cost twice as much); trades at one instant share a bucket.
lookups as (
    select
        ticker,
        max(as_of) filter (where horizon = 'open') as at_open,
        max(as_of) filter (where horizon = '7d') as at_7d,
        max(as_of) filter (where horizon = '24h') as at_24h,
        max(as_of) filter (where horizon = '1h') as at_1h
    from grid
    where as_of is not null
    group by ticker
),

bucket_ends as (
    select
        t.ticker,
        next_lookup_at(t.created_time, l.at_open, l.at_7d, l.at_24h, l.at_1h) as bucket,
        max(t.created_time) as trade_at
    from trades as t
    join lookups as l on l.ticker = t.ticker
    group by all
    having bucket is not null
),

buckets as (
    select
        e.ticker,
        e.bucket,
        e.trade_at,
        arg_max_null(t.yes_price_dollars, (t.yes_price_dollars is not null, t.trade_id)) as price
    from bucket_ends as e
    join trades as t on t.ticker = e.ticker and t.created_time = e.trade_at
    group by all
),

with_trade as (
    select g.*, b.trade_at, b.price as trade_price
    from grid as g
    asof left join buckets as b on b.ticker = g.ticker and b.bucket <= g.as_of
),

-- the latest REST quote at or before as_of, the same way: each quote in the bucket of its market's first as_of at
-- or after it, each bucket keeps its latest instant's best-ranked quote
rest_buckets as (
    select
        r.ticker,
        next_lookup_at(r.observed_at, l.at_open, l.at_7d, l.at_24h, l.at_1h) as bucket,
        max(r.observed_at) as rest_at,
        arg_max(r.source, quote_recency_key(r.observed_at, r.source)) as rest_source,
        arg_max_null(r.mid_dollars, quote_recency_key(r.observed_at, r.source)) as rest_mid
    from rest as r
    join lookups as l on l.ticker = r.ticker
    group by all
    having bucket is not null
),

with_rest as (
    select g.*, r.rest_at, r.rest_source, r.rest_mid
    from with_trade as g
    asof left join rest_buckets as r on r.ticker = g.ticker and r.bucket <= g.as_of
),

with_ws as (
    select g.*, w.observed_at as ws_at, w.mid_dollars as ws_mid
    from with_rest as g
    asof left join ws as w on w.ticker = g.ticker and w.observed_at <= g.as_of
),

chosen as (
    select
        *,
        case
            when ws_mid is not null then 'ws'
            when rest_mid is not null and epoch(as_of) - epoch(rest_at) <= max_mid_age_seconds() then 'rest'
            when trade_price is not null then 'trade'
        end as pick
    from with_ws
),

final as (
    select
        ticker,
        horizon,
        horizon_seconds,
        event_ticker,
        series_ticker,
        category,
        market_type,
        market_class,
        open_time,
        close_time,
        as_of,
        case pick when 'ws' then 'mid' when 'rest' then 'mid' when 'trade' then 'trade' else 'none' end
            as price_source,
        case pick when 'ws' then 'ws_book' when 'rest' then rest_source when 'trade' then 'trade' end
            as quote_source,
        case pick when 'ws' then ws_at when 'rest' then rest_at when 'trade' then trade_at end
            as price_observed_at,
        cast(epoch(as_of) - epoch(case pick when 'ws' then ws_at when 'rest' then rest_at when 'trade' then trade_at end)
            as decimal(18,3)) as price_age_seconds,
        cast(case pick when 'ws' then ws_mid when 'rest' then rest_mid when 'trade' then trade_price end
            as decimal(18,6)) as implied_probability,
        max_mid_age_seconds() as max_mid_age_seconds
    from chosen
)

select * from final
