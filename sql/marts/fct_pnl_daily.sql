-- grain: one row per (account, pnl_date): EVERY UTC calendar day from the account's first activity (fill, lot
-- closing, settlement, balance snapshot) to its last activity, or later while it holds an open position: to the
-- last day the lake has a quote or trade of a market it holds (an equity curve, Sharpe or drawdown needs every day).
-- purpose: daily P&L and equity curve. realized = FIFO lots closed that day (at the later fill) plus open lots
-- settled that day (at the settlement value; void: at cost, 0); fees = fee_cost of that day's fills (split as
-- fct_fees_daily: maker, taker, other); net = realized - fees; the cumulative columns run over all days.
-- Settlement-only markets (see fct_pnl) count on their settlement day. unrealized = the lots open at the end of
-- the day (opened before midnight UTC, not closed or settled by then; a closed lot is long when its buy came
-- first) marked at midnight: the recorded WebSocket top when it is fresh at
-- midnight (the latest ws_book row before it is known and two-sided; age 0), else the NEWER of the latest REST mid
-- and the latest priced trade before midnight (the highest trade_id at its instant; the mid at a tie); no quote or
-- trade yet: not marked (unmarked_lots counts them). A market seen resolved void (stg_market_history result 'void')
-- whose open lots are not yet settled is marked at cost from that observation on (mark_source 'void_at_cost', unrealized 0; its age counts from the
-- observation): it will be paid back what the lots cost, not the last quote. mark_sources lists the sources used
-- that day; max_mark_age_seconds is the oldest mark's age at midnight.
-- mtm_pnl_dollars = cumulative net + unrealized.
-- balance/equity come from the last balance snapshot of the day (integer cents / 100; equity = balance +
-- portfolio_value); null on days without one (not carried forward).
-- incremental: day = pnl_date, runs (account), never null
-- incremental: int_pnl_lots whole
-- incremental: int_pnl_settlements diff (account, ticker, settled, is_void, settlement_value_dollars, settled_time) at coalesce(utc_date(settled_time), date '9999-12-31')
-- incremental: fct_pnl diff (account, pnl_source, settled_time, realized_pnl_dollars, fees_dollars) at coalesce(utc_date(settled_time), date '9999-12-31')
-- incremental: fct_fees_daily diff (*) at fee_date
-- incremental: stg_balance whole
-- incremental: stg_market_history whole
-- incremental: int_market_mids by observed_at, carry (ticker, source = 'ws_book', mid_dollars is null)
-- incremental: stg_trades by created_time, carry (ticker, yes_price_dollars is null)
with lots as (
    select * from int_pnl_lots
),

settle as (
    select * from int_pnl_settlements where settled
),

settlement_only as (
    select account, utc_date(settled_time) as pnl_date, realized_pnl_dollars, fees_dollars
    from fct_pnl
    where pnl_source = 'settlement'
),

realized_events as (
    select account, utc_date(closed_time) as pnl_date, closed_pnl_dollars as realized
    from lots
    where lot_state = 'closed'
    union all
    select
        l.account,
        utc_date(s.settled_time) as pnl_date,
        case
            when s.is_void then 0
            when l.lot_state = 'open_long' then l.quantity_fp * (s.settlement_value_dollars - l.buy_price_dollars)
            else l.quantity_fp * (l.sell_price_dollars - s.settlement_value_dollars)
        end as realized
    from lots as l
    join settle as s on s.account = l.account and s.ticker = l.ticker
    where l.lot_state <> 'closed'
    union all
    select account, pnl_date, realized_pnl_dollars from settlement_only
),

realized_daily as (
    select account, pnl_date, sum(realized) as realized from realized_events group by account, pnl_date
),

fees_daily as (
    select
        account,
        fee_date as pnl_date,
        sum(fees_dollars) as fees,
        sum(maker_fees_dollars) as maker_fees,
        sum(taker_fees_dollars) as taker_fees,
        sum(other_fees_dollars) as other_fees,
        sum(fill_count) as fills
    from fct_fees_daily
    group by account, fee_date
),

balance_daily as (
    select
        _account as account,
        utc_date(snapshot_ts) as pnl_date,
        arg_max(balance, snapshot_ts) as balance_cents,
        arg_max(portfolio_value, snapshot_ts) as portfolio_value_cents
    from stg_balance
    where subaccount_number = 0  -- the primary account's balance (as before subaccounts were pulled)
    group by _account, utc_date(snapshot_ts)
),

lot_spans as (
    select
        l.account,
        l.ticker,
        l.quantity_fp,
        case
            when l.lot_state = 'open_long' or (l.lot_state = 'closed' and l.buy_time <= l.sell_time) then 1
            else -1
        end as direction,
        case
            when l.lot_state = 'open_long' or (l.lot_state = 'closed' and l.buy_time <= l.sell_time)
                then l.buy_price_dollars
            else l.sell_price_dollars
        end as entry_price,
        case when l.lot_state = 'closed' then least(l.buy_time, l.sell_time)
            when l.lot_state = 'open_long' then l.buy_time else l.sell_time end as opened_at,
        case when l.lot_state = 'closed' then l.closed_time else s.settled_time end as closed_at
    from lots as l
    left join settle as s on s.account = l.account and s.ticker = l.ticker
),

mids as (
    -- the last REST mid of each market and UTC day (a midnight mark reads the last one before it, i.e. the last of
    -- the latest day with mids before it); one quote per instant (order book over market snapshot over candle, as
    -- int_market_marks), the lower mid at a tie, so the ASOF join below never picks any of them at random
    select
        ticker,
        max(observed_at) as observed_at,
        arg_min(mid_dollars, (-epoch_us(observed_at), quote_source_rank(source), mid_dollars)) as mid_dollars
    from int_market_mids
    where mid_dollars is not null and source <> 'ws_book'
    group by ticker, utc_date(observed_at)
),

ws_tops as (
    select ticker, observed_at, case when quote_known then mid_dollars end as mid_dollars
    from int_market_mids
    where source = 'ws_book'
),

-- the last priced trade of each market and UTC day: the last trade before a midnight is the last one of the latest
-- day with priced trades before it, so the ASOF join below sorts one row per market-day instead of every trade. The
-- latest instant with a price, then the highest trade_id among the trades at it (as int_market_marks: a trade
-- without a price or a time never marks a position)
last_instants as (
    select ticker, max(created_time) as created_time
    from stg_trades
    where yes_price_dollars is not null
    group by ticker, utc_date(created_time)
),

trades as (
    select l.ticker, l.created_time, arg_max(t.yes_price_dollars, t.trade_id) as yes_price_dollars
    from last_instants as l
    join stg_trades as t on t.ticker = l.ticker and t.created_time = l.created_time
    group by all
),

-- the first observation of each market resolved void (a void market is paid back at cost, whenever its settlement
-- record arrives): from then on its open lots are marked at cost, not at a quote
void_known as (
    select ticker, min(_loaded_at) as void_at
    from stg_market_history
    where result = 'void'
    group by ticker
),

activity_days as (
    select account, pnl_date from realized_daily
    union
    select account, pnl_date from fees_daily
    union
    select account, pnl_date from balance_daily
),

-- the last day with a quote or trade of a market the account still holds open at the end of its lots
open_markets as (
    select distinct account, ticker from lot_spans where closed_at is null
),

market_last_seen as (
    select ticker, utc_date(max(observed_at)) as last_day from int_market_mids group by ticker
    union all
    select ticker, utc_date(max(created_time)) from stg_trades group by ticker
),

spans as (
    select a.account, min(a.pnl_date) as first_day, greatest(max(a.pnl_date), max(o.last_day)) as last_day
    from activity_days as a
    left join (
        select om.account, max(ls.last_day) as last_day
        from open_markets as om
        join market_last_seen as ls on ls.ticker = om.ticker
        group by om.account
    ) as o on o.account = a.account
    group by a.account
),

days as (
    select s.account, cast(d.day as date) as pnl_date
    from spans as s,
        lateral (select unnest(generate_series(s.first_day, s.last_day, interval 1 day)) as day) as d
),

day_ends as (
    select account, pnl_date, cast(pnl_date + interval 1 day as timestamptz) as day_end from days
),

open_at_day_end as (
    select d.account, d.pnl_date, d.day_end, l.ticker, l.quantity_fp, l.direction, l.entry_price
    from day_ends as d
    join lot_spans as l
        on l.account = d.account and l.opened_at < d.day_end and (l.closed_at is null or l.closed_at >= d.day_end)
),

looked_up as (
    select
        o.*,
        w.mid_dollars as ws_mid,
        m.mid_dollars as rest_mid,
        m.observed_at as rest_at,
        t.yes_price_dollars as trade_price,
        t.created_time as trade_at
    from open_at_day_end as o
    asof left join mids as m on m.ticker = o.ticker and o.day_end > m.observed_at
    asof left join ws_tops as w on w.ticker = o.ticker and o.day_end > w.observed_at
    asof left join trades as t on t.ticker = o.ticker and o.day_end > t.created_time
),

looked_up_void as (
    select l.*, v.void_at
    from looked_up as l
    left join void_known as v on v.ticker = l.ticker and v.void_at < l.day_end
),

marked as (
    select
        *,
        case
            when void_at is not null then 'void_at_cost'
            when ws_mid is not null then 'ws_book'
            when rest_mid is not null and (trade_at is null or rest_at >= trade_at) then 'mid'
            when trade_at is not null then 'last_trade'
        end as mark_source,
        case
            when void_at is not null then entry_price
            when ws_mid is not null then ws_mid
            when rest_mid is not null and (trade_at is null or rest_at >= trade_at) then rest_mid
            else trade_price
        end as mark_dollars,
        case
            when void_at is not null then void_at
            when ws_mid is not null then day_end
            when rest_mid is not null and (trade_at is null or rest_at >= trade_at) then rest_at
            else trade_at
        end as mark_as_of
    from looked_up_void
),

unrealized_daily as (
    select
        account,
        pnl_date,
        sum(case when mark_dollars is null then 0
            else quantity_fp * direction * (mark_dollars - entry_price) end) as unrealized,
        sum(quantity_fp * direction) as open_position,
        count(*) filter (where mark_dollars is null) as unmarked_lots,
        string_agg(distinct mark_source, ',' order by mark_source) as mark_sources,
        max(date_diff('second', mark_as_of, day_end)) as max_mark_age_seconds
    from marked
    group by account, pnl_date
),

-- the running sums over every day first, the day-end marks joined after them: a recompute of the last days (its
-- filter on pnl_date reaches unrealized_daily through the join, not through the window) marks only those days
joined as (
    select
        d.account,
        d.pnl_date,
        coalesce(f.fills, 0) as fill_count,
        cast(coalesce(r.realized, 0) as decimal(18,6)) as realized_pnl_dollars,
        cast(coalesce(f.fees, 0) as decimal(18,6)) as fees_dollars,
        cast(coalesce(f.maker_fees, 0) as decimal(18,6)) as maker_fees_dollars,
        cast(coalesce(f.taker_fees, 0) as decimal(18,6)) as taker_fees_dollars,
        cast(coalesce(f.other_fees, 0) as decimal(18,6)) as other_fees_dollars,
        b.balance_cents,
        b.portfolio_value_cents
    from days as d
    left join realized_daily as r on r.account = d.account and r.pnl_date = d.pnl_date
    left join fees_daily as f on f.account = d.account and f.pnl_date = d.pnl_date
    left join balance_daily as b on b.account = d.account and b.pnl_date = d.pnl_date
),

running as (
    select
        *,
        sum(realized_pnl_dollars) over w as cumulative_realized,
        sum(fees_dollars) over w as cumulative_fees,
        sum(realized_pnl_dollars - fees_dollars) over w as cumulative_net
    from joined
    window w as (partition by account order by pnl_date rows between unbounded preceding and current row)
),

final as (
    select
        r.account,
        r.pnl_date,
        r.fill_count,
        r.realized_pnl_dollars,
        r.fees_dollars,
        r.maker_fees_dollars,
        r.taker_fees_dollars,
        r.other_fees_dollars,
        cast(r.realized_pnl_dollars - r.fees_dollars as decimal(18,6)) as net_pnl_dollars,
        cast(r.cumulative_realized as decimal(18,6)) as cumulative_realized_pnl_dollars,
        cast(r.cumulative_fees as decimal(18,6)) as cumulative_fees_dollars,
        cast(r.cumulative_net as decimal(18,6)) as cumulative_net_pnl_dollars,
        cast(coalesce(u.unrealized, 0) as decimal(18,6)) as unrealized_pnl_dollars,
        cast(r.cumulative_net + cast(coalesce(u.unrealized, 0) as decimal(18,6)) as decimal(18,6))
            as mtm_pnl_dollars,
        u.mark_sources,
        u.max_mark_age_seconds,
        coalesce(u.unmarked_lots, 0) as unmarked_lots,
        cast(cast(r.balance_cents as decimal(20,0)) * cast(0.01 as decimal(3,2)) as decimal(18,6))
            as balance_dollars,
        cast(cast(r.portfolio_value_cents as decimal(20,0)) * cast(0.01 as decimal(3,2)) as decimal(18,6))
            as portfolio_value_dollars,
        cast(cast(r.balance_cents + r.portfolio_value_cents as decimal(20,0)) * cast(0.01 as decimal(3,2))
            as decimal(18,6)) as equity_dollars
    from running as r
    left join unrealized_daily as u on u.account = r.account and u.pnl_date = r.pnl_date
)

select * from final
