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
-- incremental: day = trade_date
-- incremental: stg_trades by created_time
-- incremental: int_market_mids by observed_at, ahead 1, carry (ticker, source = 'ws_book')
with trades as (
    select * from stg_trades
),

ws as (
    select ticker, observed_at, case when quote_known then mid_dollars end as mid_dollars
    from int_market_mids
    where source = 'ws_book'
),

rest as (
    select ticker, observed_at, mid_dollars, source
    from int_market_mids
    where source <> 'ws_book'
    qualify row_number() over (
        partition by ticker, observed_at order by case source when 'orderbook' then 0 when 'market' then 1 else 2 end
    ) = 1
),

horizons as (
    select * from (values (0, 'trade'), (60, '1m'), (300, '5m'), (3600, '1h')) as h(seconds, label)
),

points as (
    select t.trade_id, t.ticker, h.label, t.created_time + to_seconds(h.seconds) as point_at
    from trades as t
    cross join horizons as h
),

looked_up as (
    select
        p.trade_id,
        p.label,
        p.point_at,
        w.mid_dollars as ws_mid,
        w.observed_at as ws_at,
        r.mid_dollars as rest_mid,
        r.observed_at as rest_at,
        r.source as rest_source
    from points as p
    asof left join ws as w on w.ticker = p.ticker and p.point_at >= w.observed_at
    asof left join rest as r on r.ticker = p.ticker and p.point_at >= r.observed_at
),

resolved as (
    select
        trade_id,
        label,
        case
            when ws_mid is not null then 'matched'
            when rest_at is null then 'no_quote'
            when rest_mid is null then 'one_sided'
            when date_diff('microsecond', rest_at, point_at) > max_mid_age_seconds() * 1000000 then 'stale'
            else 'matched'
        end as status,
        case when ws_mid is not null then 'ws_book' else rest_source end as source,
        case when ws_mid is not null then ws_at else rest_at end as observed_at,
        case when ws_mid is not null then ws_mid else rest_mid end as mid,
        point_at
    from looked_up
),

wide as (
    select
        trade_id,
        any_value(status) filter (where label = 'trade') as mid_status,
        any_value(source) filter (where label = 'trade') as mid_source,
        any_value(observed_at) filter (where label = 'trade') as mid_observed_at,
        any_value(mid) filter (where label = 'trade') as mid_any,
        any_value(case when status = 'matched' then mid end) filter (where label = '1m') as mid_1m_dollars,
        any_value(case when status = 'matched' then source end) filter (where label = '1m') as mid_1m_source,
        any_value(case when status = 'matched' then date_diff('second', observed_at, point_at) end)
            filter (where label = '1m') as mid_1m_age_seconds,
        any_value(case when status = 'matched' then mid end) filter (where label = '5m') as mid_5m_dollars,
        any_value(case when status = 'matched' then source end) filter (where label = '5m') as mid_5m_source,
        any_value(case when status = 'matched' then date_diff('second', observed_at, point_at) end)
            filter (where label = '5m') as mid_5m_age_seconds,
        any_value(case when status = 'matched' then mid end) filter (where label = '1h') as mid_1h_dollars,
        any_value(case when status = 'matched' then source end) filter (where label = '1h') as mid_1h_source,
        any_value(case when status = 'matched' then date_diff('second', observed_at, point_at) end)
            filter (where label = '1h') as mid_1h_age_seconds
    from resolved
    group by trade_id
),

joined as (
    select
        t.trade_id,
        t.ticker,
        t.created_time,
        utc_date(t.created_time) as trade_date,
        t.yes_price_dollars,
        t.count_fp,
        t.taker_outcome_side,
        t.taker_book_side,
        t.is_block_trade,
        case t.taker_book_side when 'bid' then 1 when 'ask' then -1 end as direction,
        w.mid_status,
        w.mid_source,
        w.mid_observed_at,
        date_diff('second', w.mid_observed_at, t.created_time) as mid_age_seconds,
        case when w.mid_status = 'matched' then w.mid_any end as mid_dollars,
        max_mid_age_seconds() as max_mid_age_seconds,
        w.* exclude (trade_id, mid_status, mid_source, mid_observed_at, mid_any)
    from trades as t
    join wide as w on w.trade_id = t.trade_id
),

final as (
    select
        * exclude (direction),
        cast(2 * abs(yes_price_dollars - mid_dollars) as decimal(18,6)) as effective_spread_dollars,
        cast(2 * direction * (yes_price_dollars - mid_dollars) as decimal(18,6)) as signed_effective_spread_dollars,
        cast(dec_div(2 * direction * (yes_price_dollars - mid_dollars), mid_dollars) as decimal(18,6))
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
