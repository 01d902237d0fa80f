-- grain: one row per (account, fill_id): every fill of stg_fills (none is dropped; mid_status says whether it was
--   measured)
-- purpose: the edge of each fill against the mid just before it: what the account gained (positive) or paid
-- (negative) relative to the prevailing mid, the first part of fct_pnl_attribution. The prevailing mid is looked up
-- exactly as fct_effective_spreads does for trades (the same prevailing_mid() of macros.sql picks it): the recorded
-- WebSocket top (int_market_mids source ws_book) when the latest ws_book row at or before the fill is known whole
-- and two-sided (current however long ago it last changed; age = time since that change); else the latest REST
-- quote at or before the fill (order book over market snapshot over candle at one instant) if two-sided and at
-- most max_mid_age_seconds old (macros.sql).
-- mid_status: 'matched', 'stale', 'one_sided', 'no_quote'; only a matched fill has mid_dollars and an edge: a fill
-- without a fresh mid is not given an edge of zero, its P&L is counted as unattributed by fct_pnl_attribution.
-- edge_per_contract_dollars = D (M - P) with D = +1 for a YES buy (book_side bid), -1 for a YES sell (ask), M the
-- mid, P the fill's yes price; edge_dollars = yes_qty_fp x (M - P) (= count x edge per contract).
-- Clocks: fills are on the exchange's clock, ws_book rows on the recorder's receive clock (the book change a fill
-- causes arrives after it, so the lookup at the fill sees the book it met).
-- incremental: day = fill_date
-- incremental: stg_fills by created_time
-- incremental: int_market_mids by observed_at, carry (ticker, source = 'ws_book')
with fills as (
    select
        _account as account,
        fill_id,
        ticker,
        created_time,
        book_side,
        is_taker,
        count_fp,
        yes_qty_fp,
        yes_price_dollars,
        fee_cost
    from stg_fills
),

-- only the quotes of the markets the account filled in are looked at (the lookups below are per ticker)
mids as (
    select * from int_market_mids
    where ticker in (select ticker from fills)
),

ws as (
    select ticker, observed_at, case when quote_known then mid_dollars end as mid_dollars
    from mids
    where source = 'ws_book'
),

rest as (
    select ticker, observed_at, mid_dollars, source
    from mids
    where source <> 'ws_book'
    qualify row_number() over (
        partition by ticker, observed_at order by quote_source_rank(source)
    ) = 1
),

looked_up as (
    select
        f.*,
        w.mid_dollars as ws_mid,
        w.observed_at as ws_at,
        r.mid_dollars as rest_mid,
        r.observed_at as rest_at,
        r.source as rest_source
    from fills as f
    asof left join ws as w on w.ticker = f.ticker and f.created_time >= w.observed_at
    asof left join rest as r on r.ticker = f.ticker and f.created_time >= r.observed_at
),

resolved as (
    select
        * exclude (m),
        m.status as mid_status,
        m.source as mid_source,
        m.observed_at as mid_observed_at,
        m.mid as mid_any
    from (
        select
            *,
            prevailing_mid(
                {'mid': ws_mid, 'at': ws_at},
                {'mid': rest_mid, 'at': rest_at, 'source': rest_source},
                created_time
            ) as m
        from looked_up
    )
),

final as (
    select
        account,
        fill_id,
        ticker,
        created_time,
        utc_date(created_time) as fill_date,
        book_side,
        is_taker,
        count_fp,
        yes_qty_fp,
        yes_price_dollars,
        fee_cost,
        mid_status,
        mid_source,
        mid_observed_at,
        date_diff('second', mid_observed_at, created_time) as mid_age_seconds,
        max_mid_age_seconds() as max_mid_age_seconds,
        case when mid_status = 'matched' then mid_any end as mid_dollars,
        cast(case when mid_status = 'matched' then sign(yes_qty_fp) * (mid_any - yes_price_dollars) end
            as decimal(18,6)) as edge_per_contract_dollars,
        cast(case when mid_status = 'matched' then yes_qty_fp * (mid_any - yes_price_dollars) end
            as decimal(18,6)) as edge_dollars
    from resolved
)

select * from final
