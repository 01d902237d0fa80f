-- grain: one row per (account, ticker), the rows of fct_pnl
-- purpose: where a market's P&L came from. total_pnl_dollars = entry_edge_dollars + price_move_dollars +
-- unattributed_pnl_dollars - fees_dollars, exactly equal to fct_pnl.total_pnl_dollars (test_pnl_attribution_identity).
-- Method, per FIFO lot of int_pnl_lots (each lot has a buy leg and/or a sell leg, each leg one fill, whose mid is
-- the prevailing mid just before it: fct_fill_edges, WebSocket top first, REST quotes at most max_mid_age_seconds
-- old; mid_sources and max_mid_age_seconds say which were used and how old they were):
--   * entry edge: each leg's price against its mid, qty x (M_buy - P_buy) for the buy leg, qty x (P_sell - M_sell)
--     for the sell leg (opening and closing fills alike: every fill is a trade entered at a price vs the mid);
--   * price move: what the mid did while the lot was held: closed lot qty x (M_sell - M_buy); open lot from its
--     opening mid to the value it is held at: the settlement value once settled, else the mark of fct_pnl
--     (int_market_marks, value_source says which): long qty x (V - M_buy), short qty x (M_sell - V);
--   * a lot is attributed only when every leg it has had a fresh mid (mid_status 'matched'). Otherwise its whole
--     P&L is unattributed_pnl_dollars: conservative, never an edge of zero. A settlement record standing in for
--     fills the lake does not have (pnl_source 'settlement') is unattributed whole.
--   * open lots of a void market (returned at cost) and unsettled open lots without a mark carry no P&L in fct_pnl,
--     so none here (void_lots, unmarked_lots count them).
--   * fees_dollars = fct_pnl's fees (fct_fees_daily splits them maker / taker / other).
with lots as (
    select * from int_pnl_lots
),

edges as (
    select * from fct_fill_edges
),

settle as (
    select * from int_pnl_settlements
),

marks as (
    select * from int_market_marks
),

pnl as (
    select * from fct_pnl
),

lot_legs as (
    select
        l.account,
        l.ticker,
        l.lot_state,
        l.quantity_fp as qty,
        l.buy_price_dollars as pb,
        l.sell_price_dollars as ps,
        b.mid_dollars as mb,
        s.mid_dollars as ms,
        coalesce(st.settled, false) as settled,
        coalesce(st.is_void, false) as is_void,
        case
            when coalesce(st.settled, false) then st.settlement_value_dollars
            else mk.mark_price_dollars
        end as value_dollars
    from lots as l
    left join edges as b on b.account = l.account and b.fill_id = l.buy_fill_id
    left join edges as s on s.account = l.account and s.fill_id = l.sell_fill_id
    left join settle as st on st.account = l.account and st.ticker = l.ticker
    left join marks as mk on mk.ticker = l.ticker
),

classified as (
    select
        *,
        case
            when lot_state = 'closed' then 'closed'
            when is_void then 'void'
            when value_dollars is null then 'unmarked'
            else 'valued'
        end as lot_class
    from lot_legs
),

lot_parts as (
    select
        *,
        case lot_class
            when 'closed' then qty * (ps - pb)
            when 'valued' then case when lot_state = 'open_long' then qty * (value_dollars - pb)
                else qty * (ps - value_dollars) end
            else 0
        end as lot_pnl,
        case
            when lot_class = 'closed' then mb is not null and ms is not null
            when lot_class = 'valued' and lot_state = 'open_long' then mb is not null
            when lot_class = 'valued' then ms is not null
            else false
        end as attributed
    from classified
),

lot_attribution as (
    select
        *,
        case when not attributed then 0
            when lot_class = 'closed' then qty * (mb - pb) + qty * (ps - ms)
            when lot_state = 'open_long' then qty * (mb - pb)
            else qty * (ps - ms)
        end as edge,
        case when not attributed then 0
            when lot_class = 'closed' then qty * (ms - mb)
            when lot_state = 'open_long' then qty * (value_dollars - mb)
            else qty * (ms - value_dollars)
        end as move,
        case when attributed then 0 else lot_pnl end as unattributed
    from lot_parts
),

per_market as (
    select
        account,
        ticker,
        sum(edge) as edge,
        sum(move) as move,
        sum(unattributed) as unattributed,
        count(*) filter (where attributed) as attributed_lots,
        count(*) filter (where not attributed and lot_class in ('closed', 'valued')) as unattributed_lots,
        count(*) filter (where lot_class = 'void') as void_lots,
        count(*) filter (where lot_class = 'unmarked') as unmarked_lots,
        coalesce(sum(qty) filter (where attributed), 0) as attributed_contracts,
        coalesce(sum(qty) filter (where not attributed and lot_class in ('closed', 'valued')), 0)
            as unattributed_contracts
    from lot_attribution
    group by account, ticker
),

fill_mids as (
    select
        account,
        ticker,
        count(*) filter (where mid_status = 'matched') as fills_with_fresh_mid,
        count(*) filter (where mid_status <> 'matched') as fills_without_fresh_mid,
        array_to_string(quote_source_set(bit_or(quote_source_bit(mid_source)) filter (where mid_status = 'matched')), ',')
            as mid_sources,
        max(mid_age_seconds) filter (where mid_status = 'matched') as max_mid_age_seconds
    from edges
    group by account, ticker
),

final as (
    select
        p.account,
        p.ticker,
        p.pnl_source,
        p.settled,
        p.is_void,
        case
            when p.is_void then 'void'
            when p.settled then 'settlement_value'
            when mk.mark_price_dollars is not null then mk.mark_source
        end as value_source,
        case when p.settled and not p.is_void then p.settlement_value_dollars
            when not p.settled and not p.is_void then mk.mark_price_dollars end as value_dollars,
        cast(coalesce(a.edge, 0) as decimal(18,6)) as entry_edge_dollars,
        cast(coalesce(a.move, 0) as decimal(18,6)) as price_move_dollars,
        cast(case when p.pnl_source = 'settlement' then p.realized_pnl_dollars + p.unrealized_pnl_dollars
            else coalesce(a.unattributed, 0) end as decimal(18,6)) as unattributed_pnl_dollars,
        p.fees_dollars,
        cast(coalesce(a.edge, 0) + coalesce(a.move, 0)
            + case when p.pnl_source = 'settlement' then p.realized_pnl_dollars + p.unrealized_pnl_dollars
                else coalesce(a.unattributed, 0) end
            - p.fees_dollars as decimal(18,6)) as total_pnl_dollars,
        coalesce(a.attributed_lots, 0) as attributed_lots,
        coalesce(a.unattributed_lots, 0) as unattributed_lots,
        coalesce(a.void_lots, 0) as void_lots,
        coalesce(a.unmarked_lots, 0) as unmarked_lots,
        cast(coalesce(a.attributed_contracts, 0) as decimal(18,2)) as attributed_contracts_fp,
        cast(coalesce(a.unattributed_contracts, 0) as decimal(18,2)) as unattributed_contracts_fp,
        coalesce(fm.fills_with_fresh_mid, 0) as fills_with_fresh_mid,
        coalesce(fm.fills_without_fresh_mid, 0) as fills_without_fresh_mid,
        fm.mid_sources,
        fm.max_mid_age_seconds,
        max_mid_age_seconds() as max_mid_age_limit_seconds
    from pnl as p
    left join per_market as a on a.account = p.account and a.ticker = p.ticker
    left join fill_mids as fm on fm.account = p.account and fm.ticker = p.ticker
    left join marks as mk on mk.ticker = p.ticker
)

select * from final
