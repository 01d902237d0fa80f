-- grain: one row per trade_id (every trade: none is dropped; mid_status says whether it was measured)
-- purpose: what a taker paid against the mid just before the trade, and what happened to the mid after.
-- The prevailing mid at an instant t (the trade, and t + 1 min / 5 min / 1 h):
--   * the recorded WebSocket top (int_market_mids source ws_book) when the latest ws_book row at or before t is
--     known whole and two-sided: it is current at t however long ago it last changed;
--   * else the latest REST quote at or before t (order book over market snapshot over candle at one instant), if
--     it is two-sided and at most max_mid_age_seconds old (macros.sql: default 60 s, settable per build with
--     `SET VARIABLE max_mid_age_seconds = ...`; the value used is in every row).
--   mid_status: 'matched' (a fresh mid), 'stale' (the latest quote is older than the maximum), 'one_sided' (the
--   latest quote is not two-sided), 'no_quote' (none before the trade). Only matched trades carry spreads; the
--   others are counted (fct_effective_spreads_daily), never measured against a stale mid (#15: hourly candle
--   closes had made the "effective spread" a measure of how stale the mid was).
-- Measures (D = +1 when the taker bought YES, taker_book_side 'bid'; -1 when the taker sold YES; M = mid at t, M_h
-- = mid at t + h, P = yes price):
--   signed_effective_spread_dollars = 2 D (P - M) (what the taker paid over the mid; negative = price improvement)
--   effective_spread_dollars = 2 |P - M| (kept for reference; the signed measure is the cost)
--   relative_effective_spread = signed / M
--   realized_spread_<h>_dollars = 2 D (P - M_h): what the maker kept after the mid moved (only for matched trades)
--   price_impact_<h>_dollars = 2 D (M_h - M): adverse selection (realized = effective - impact)
--   each horizon's mid has its own source and age (mid_<h>_source, mid_<h>_age_seconds); null when not fresh.
-- Clocks: ws_book rows are on the recorder's receive clock, trades on the exchange's: the book change a trade
-- causes arrives after the trade, so the lookup at the trade sees the book it met.
-- How: the quotes are folded into one timeline per market (at each observed instant, the latest ws_book row and the
-- latest REST quote so far: `latest`), flattened to the quote a lookup there would pick (`timeline`: the ws_book mid
-- when known and two-sided, else the latest REST quote; mid_status() in macros.sql applies prevailing_mid()'s
-- rules), and each trade finds its four instants there with four hash joins on a dense integer market id and a time
-- bucket: the quotes are listed per bucket of their market's time regions and a lookup keeps the one whose interval
-- holds its instant (macros.sql lookup_region(): the answer of an ASOF join without sorting every trade with its
-- payload four times). A quote's source travels through the lookups as quote_source_code() and is named again at
-- the end.
-- No per-instant rows, pivot or join back to the trades; a ticker no quote names rides along as unquoted_ticker.
-- Incremental from an instant: a trade reads its own row and the mids up to an hour after it (the +1 h lookup), so
-- new mids from instant t change only the trades from t - 1 h on (not the whole day before).
-- incremental: day = trade_date
-- incremental: instant = created_time
-- incremental: stg_trades by created_time
-- incremental: int_market_mids by observed_at, ahead 1 hour, carry (ticker, source = 'ws_book')
with trades as (
    select
        trade_id, ticker, created_time, yes_price_dollars, count_fp, taker_outcome_side, taker_book_side,
        is_block_trade
    from stg_trades
),

quotes as (
    select
        ticker,
        observed_at,
        any_value({'mid': case when quote_known then mid_dollars end, 'at': observed_at})
            filter (where source = 'ws_book') as ws,
        arg_min(
            {'mid': mid_dollars, 'at': observed_at, 'source': source},
            quote_source_rank(source)
        ) filter (where source <> 'ws_book') as rest
    from int_market_mids
    group by ticker, observed_at
),

latest as (
    select
        ticker,
        observed_at,
        last_value(ws ignore nulls) over w as ws,
        last_value(rest ignore nulls) over w as rest,
        lead(observed_at) over w as next_at
    from quotes
    window w as (partition by ticker order by observed_at rows between unbounded preceding and current row)
),

-- each market's quotes: its dense integer id, and the length of its regions (whole hours, a power of two: about
-- 16 of its quotes start in one; macros.sql lookup_region())
markets as (
    select
        ticker,
        row_number() over () as market_id,
        first_us,
        lookup_region(n, first_us, last_us) as region_us
    from (
        select ticker, count(*) as n, epoch_us(min(observed_at)) as first_us, epoch_us(max(observed_at)) as last_us
        from latest
        group by ticker
    )
),

timeline as (
    select
        m.market_id,
        m.region_us,
        epoch_us(l.observed_at) as from_us,
        coalesce(epoch_us(l.next_at), 9223372036854775807) as until_us,
        case when l.ws.mid is not null then l.ws.mid else l.rest.mid end as mid,
        case when l.ws.mid is not null then l.ws.at else l.rest.at end as quote_at,
        case when l.ws.mid is not null then quote_source_code('ws_book') else quote_source_code(l.rest.source) end as kind
    from latest as l
    join markets as m using (ticker)
),

probes as (
    select
        t.* exclude (ticker),
        m.market_id,
        m.region_us,
        case when m.market_id is null then t.ticker end as unquoted_ticker,
        epoch_us(t.created_time) as t_us
    from trades as t
    left join markets as m using (ticker)
),

-- the bucket width of every (market, region) a quote starts in (a region without one: lookup_width(0, ...))
widths as (
    select market_id, from_us // region_us as region, lookup_width(count(*), any_value(region_us)) as width
    from timeline
    group by all
),

-- each quote of the timeline with its region and that region's bucket width. A left join although every quote has
-- its region's row: DuckDB estimates a two-key inner join by its first key alone (~250x here), and that estimate
-- made two of the lookups below build their hash table on the trades instead of these quotes (+7 s at 10M)
spans as (
    select t.*, w.region, w.width
    from timeline as t
    left join widths as w on w.market_id = t.market_id and w.region = t.from_us // t.region_us
),

-- a trade's four instants lie in its region or the next one (a region is at least an hour)
probe_regions as (
    select
        p.*,
        p.t_us // p.region_us as region,
        coalesce(w0.width, lookup_width(0, p.region_us)) as width,
        coalesce(w1.width, lookup_width(0, p.region_us)) as next_width
    from probes as p
    left join widths as w0 on w0.market_id = p.market_id and w0.region = p.t_us // p.region_us
    left join widths as w1 on w1.market_id = p.market_id and w1.region = p.t_us // p.region_us + 1
),

-- every region of a market after its first quote's, up to its last lookup's
regions as (
    select
        m.market_id,
        m.region_us,
        unnest(range(m.first_us // m.region_us + 1, l.last_us // m.region_us + 1)) as region
    from markets as m
    join (
        select market_id, max(t_us) + 3600000000 as last_us from probes where market_id is not null group by all
    ) as l using (market_id)
),

-- each quote in every bucket of its region that its interval touches, and in every later region the quote current
-- at the region's start (listed in its buckets up to the next quote)
cands as (
    select
        market_id,
        unnest(range(
            lookup_bucket(from_us, region, region_us, width), least(until_us, (region + 1) * region_us), width
        )) as bucket,
        from_us, until_us, mid, quote_at, kind
    from spans
    union all
    select
        g.market_id,
        unnest(range(g.region * g.region_us, least(s.until_us, (g.region + 1) * g.region_us), g.width)) as bucket,
        s.from_us, s.until_us, s.mid, s.quote_at, s.kind
    from (
        select g.market_id, g.region, g.region_us, coalesce(w.width, lookup_width(0, g.region_us)) as width
        from regions as g
        left join widths as w using (market_id, region)
    ) as g
    asof join spans as s on s.market_id = g.market_id and g.region * g.region_us > s.from_us
),

keyed_probes as (
    select
        p.* exclude (region_us, region, width, next_width),
        probe_bucket(p.t_us, p.region, p.region_us, p.width, p.next_width) as b0,
        probe_bucket(p.t_us + 60000000, p.region, p.region_us, p.width, p.next_width) as b1,
        probe_bucket(p.t_us + 300000000, p.region, p.region_us, p.width, p.next_width) as b2,
        probe_bucket(p.t_us + 3600000000, p.region, p.region_us, p.width, p.next_width) as b3
    from probe_regions as p
),

-- a trade finds each of its four instants among the quotes listed in that instant's bucket: the one whose
-- interval holds it (none before the market's first quote)
looked_up as (
    select
        p.* exclude (b0, b1, b2, b3),
        q0.mid as mid0, q0.quote_at as at0, q0.kind as kind0,
        q1.mid as mid1, q1.quote_at as at1, q1.kind as kind1,
        q2.mid as mid2, q2.quote_at as at2, q2.kind as kind2,
        q3.mid as mid3, q3.quote_at as at3, q3.kind as kind3
    from keyed_probes as p
    left join cands as q0
        on q0.market_id = p.market_id and q0.bucket = p.b0 and q0.from_us <= p.t_us and p.t_us < q0.until_us
    left join cands as q1
        on q1.market_id = p.market_id and q1.bucket = p.b1
        and q1.from_us <= p.t_us + 60000000 and p.t_us + 60000000 < q1.until_us
    left join cands as q2
        on q2.market_id = p.market_id and q2.bucket = p.b2
        and q2.from_us <= p.t_us + 300000000 and p.t_us + 300000000 < q2.until_us
    left join cands as q3
        on q3.market_id = p.market_id and q3.bucket = p.b3
        and q3.from_us <= p.t_us + 3600000000 and p.t_us + 3600000000 < q3.until_us
),

statused as (
    select
        s.*,
        coalesce(m.ticker, s.unquoted_ticker) as ticker,
        mid_status(kind0 = quote_source_code('ws_book'), at0, mid0, t_us) as st0,
        mid_status(kind1 = quote_source_code('ws_book'), at1, mid1, t_us + 60000000) as st1,
        mid_status(kind2 = quote_source_code('ws_book'), at2, mid2, t_us + 300000000) as st2,
        mid_status(kind3 = quote_source_code('ws_book'), at3, mid3, t_us + 3600000000) as st3
    from looked_up as s
    left join markets as m using (market_id)
),

joined as (
    select
        trade_id,
        ticker,
        created_time,
        utc_date(created_time) as trade_date,
        yes_price_dollars,
        count_fp,
        taker_outcome_side,
        taker_book_side,
        is_block_trade,
        case taker_book_side when 'bid' then 1 when 'ask' then -1 end as direction,
        st0 as mid_status,
        quote_source_name(kind0) as mid_source,
        at0 as mid_observed_at,
        (t_us - epoch_us(at0)) // 1000000 as mid_age_seconds,
        case when st0 = 'matched' then mid0 end as mid_dollars,
        max_mid_age_seconds() as max_mid_age_seconds,
        case when st1 = 'matched' then mid1 end as mid_1m_dollars,
        case when st1 = 'matched' then quote_source_name(kind1) end as mid_1m_source,
        case when st1 = 'matched' then (t_us + 60000000 - epoch_us(at1)) // 1000000 end as mid_1m_age_seconds,
        case when st2 = 'matched' then mid2 end as mid_5m_dollars,
        case when st2 = 'matched' then quote_source_name(kind2) end as mid_5m_source,
        case when st2 = 'matched' then (t_us + 300000000 - epoch_us(at2)) // 1000000 end as mid_5m_age_seconds,
        case when st3 = 'matched' then mid3 end as mid_1h_dollars,
        case when st3 = 'matched' then quote_source_name(kind3) end as mid_1h_source,
        case when st3 = 'matched' then (t_us + 3600000000 - epoch_us(at3)) // 1000000 end as mid_1h_age_seconds
    from statused
),

final as (
    select
        * exclude (direction),
        cast(2 * abs(yes_price_dollars - mid_dollars) as decimal(18,6)) as effective_spread_dollars,
        cast(2 * direction * (yes_price_dollars - mid_dollars) as decimal(18,6)) as signed_effective_spread_dollars,
        cast(dec_div_6dp(2 * direction * (yes_price_dollars - mid_dollars), mid_dollars) as decimal(18,6))
            as relative_effective_spread,
        cast(case when mid_dollars is not null then 2 * direction * (yes_price_dollars - mid_1m_dollars) end
            as decimal(18,6)) as realized_spread_1m_dollars,
        cast(2 * direction * (mid_1m_dollars - mid_dollars) as decimal(18,6)) as price_impact_1m_dollars,
        cast(case when mid_dollars is not null then 2 * direction * (yes_price_dollars - mid_5m_dollars) end
            as decimal(18,6)) as realized_spread_5m_dollars,
        cast(2 * direction * (mid_5m_dollars - mid_dollars) as decimal(18,6)) as price_impact_5m_dollars,
        cast(case when mid_dollars is not null then 2 * direction * (yes_price_dollars - mid_1h_dollars) end
            as decimal(18,6)) as realized_spread_1h_dollars,
        cast(2 * direction * (mid_1h_dollars - mid_dollars) as decimal(18,6)) as price_impact_1h_dollars
    from joined
)

select * from final
