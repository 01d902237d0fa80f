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
-- latest REST quote so far: `latest`), and each trade finds its four instants there with four ASOF joins
-- (macros.sql prevailing_mid() picks the mid); no per-instant rows, pivot or join back to the trades.
-- incremental: day = trade_date
-- incremental: stg_trades by created_time
-- incremental: int_market_mids by observed_at, ahead 1, carry (ticker, source = 'ws_book')
with trades as (
    select * from stg_trades
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
        last_value(rest ignore nulls) over w as rest
    from quotes
    window w as (partition by ticker order by observed_at rows between unbounded preceding and current row)
),

looked_up as (
    select
        t.*,
        prevailing_mid(q0.ws, q0.rest, t.created_time) as m0,
        prevailing_mid(q1.ws, q1.rest, t.created_time + to_seconds(60)) as m1,
        prevailing_mid(q2.ws, q2.rest, t.created_time + to_seconds(300)) as m2,
        prevailing_mid(q3.ws, q3.rest, t.created_time + to_seconds(3600)) as m3
    from trades as t
    asof left join latest as q0 on q0.ticker = t.ticker and t.created_time >= q0.observed_at
    asof left join latest as q1 on q1.ticker = t.ticker and t.created_time + to_seconds(60) >= q1.observed_at
    asof left join latest as q2 on q2.ticker = t.ticker and t.created_time + to_seconds(300) >= q2.observed_at
    asof left join latest as q3 on q3.ticker = t.ticker and t.created_time + to_seconds(3600) >= q3.observed_at
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
        m0.status as mid_status,
        m0.source as mid_source,
        m0.observed_at as mid_observed_at,
        date_diff('second', m0.observed_at, created_time) as mid_age_seconds,
        case when m0.status = 'matched' then m0.mid end as mid_dollars,
        max_mid_age_seconds() as max_mid_age_seconds,
        case when m1.status = 'matched' then m1.mid end as mid_1m_dollars,
        case when m1.status = 'matched' then m1.source end as mid_1m_source,
        case when m1.status = 'matched' then date_diff('second', m1.observed_at, created_time + to_seconds(60)) end
            as mid_1m_age_seconds,
        case when m2.status = 'matched' then m2.mid end as mid_5m_dollars,
        case when m2.status = 'matched' then m2.source end as mid_5m_source,
        case when m2.status = 'matched' then date_diff('second', m2.observed_at, created_time + to_seconds(300)) end
            as mid_5m_age_seconds,
        case when m3.status = 'matched' then m3.mid end as mid_1h_dollars,
        case when m3.status = 'matched' then m3.source end as mid_1h_source,
        case when m3.status = 'matched' then date_diff('second', m3.observed_at, created_time + to_seconds(3600)) end
            as mid_1h_age_seconds
    from looked_up
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
