-- grain: one row per (ticker, observed_at): every change of a market's recorded top of book
-- purpose: best YES bid and best NO bid (as the YES ask = 1 - best NO bid) with their sizes, replayed from the
--   recorded book (int_book_events, applied rows of each epoch in seq order), only where the book is known whole
--   (int_book_whole, same connection). book_known = false rows mark where the top stops being known (a gap, a
--   lost connection, the recorder stopping or dying, or a newer snapshot not yet whole): an ASOF lookup that lands
--   on one must not fall back to an older quote of this source. observed_at is the recorder's receive clock;
--   exchange_ts the delta's own exchange time (null for snapshots, which carry none).
--   Method: the running quantity of each (epoch, side, price) level gives spans of seq during which the level is
--   non-empty; the best price of a side at an event is the max price among spans covering it (a range join over a
--   global event ordinal, blocked, recomputed only at events touching that side and carried forward to the
--   others). A snapshot is one event (its levels share a seq); consecutive deltas with the same exchange ts
--   are one event (the top after the last of them).
with events as (
    select
        epoch_id, seq, received_at, ts, kind = 'snapshot' as is_snapshot, side, price_dollars, quantity_fp,
        dense_rank() over (order by epoch_id, seq) as ord
    from int_book_events
    where status = 'applied'
),

points as (
    select
        ord,
        any_value(epoch_id) as epoch_id,
        any_value(seq) as seq,
        min(received_at) as observed_at,
        max(ts) as exchange_ts,
        bool_or(is_snapshot) as is_snapshot,
        bool_or(side = 'yes') as touches_yes,
        bool_or(side = 'no') as touches_no
    from events
    group by ord
),

epoch_last as (
    select epoch_id, max(ord) + 1 as end_ord from points group by epoch_id
),

level_spans as (
    select
        ev.side,
        ev.price_dollars,
        sum(ev.quantity_fp) over w as quantity,
        ev.ord as from_ord,
        coalesce(lead(ev.ord) over w, l.end_ord) as to_ord
    from events as ev
    join epoch_last as l on l.epoch_id = ev.epoch_id
    where ev.side is not null
    window w as (partition by ev.epoch_id, ev.side, ev.price_dollars order by ev.ord rows unbounded preceding)
),

-- the best level of a side at each event that touches it: the max price among its non-empty spans covering the
-- event. Blocked range join (blocks of 32 events): a span covering a whole block lifts that block's floor; only
-- spans starting or ending inside a block, priced at or above its floor, are compared event by event
spans as (
    select
        side, price_dollars, quantity, from_ord, to_ord,
        from_ord // 32 as first_block,
        (to_ord - 1) // 32 as last_block
    from level_spans
    where quantity > 0
),

full_blocks as (
    select s.side, b.block, max(s.price_dollars) as floor_price, arg_max(s.quantity, s.price_dollars) as floor_qty
    from spans as s,
        lateral (
            select unnest(generate_series((s.from_ord + 31) // 32, s.to_ord // 32 - 1)) as block
        ) as b
    where s.to_ord // 32 - 1 >= (s.from_ord + 31) // 32
    group by s.side, b.block
),

edge_spans as (
    select side, price_dollars, quantity, from_ord, to_ord, first_block as block from spans
    union
    select side, price_dollars, quantity, from_ord, to_ord, last_block as block from spans
),

edge_candidates as (
    select e.*
    from edge_spans as e
    left join full_blocks as f on f.side = e.side and f.block = e.block
    where f.floor_price is null or e.price_dollars >= f.floor_price
),

touch_points as (
    select ord, 'yes' as side, ord // 32 as block from points where touches_yes or is_snapshot
    union all
    select ord, 'no' as side, ord // 32 as block from points where touches_no or is_snapshot
),

candidates as (
    select p.ord, p.side, e.price_dollars as price, e.quantity
    from touch_points as p
    join edge_candidates as e
        on e.side = p.side and e.block = p.block and e.from_ord <= p.ord and p.ord < e.to_ord
    union all
    select p.ord, p.side, f.floor_price, f.floor_qty
    from touch_points as p
    join full_blocks as f on f.side = p.side and f.block = p.block
),

-- both sides' best in one aggregate (one row per event): yes_best and no_best as two filters of one grouped
-- result would be computed twice, side by side, in memory
best as (
    select
        ord,
        max(price) filter (where side = 'yes') as yes_price,
        arg_max(quantity, price) filter (where side = 'yes') as yes_quantity,
        max(price) filter (where side = 'no') as no_price,
        arg_max(quantity, price) filter (where side = 'no') as no_quantity
    from candidates
    group by ord
),

-- at an event touching a side, that side's best (a struct with null fields when the side is now empty);
-- carried forward within the epoch to events that do not touch it
sides as (
    select
        p.*,
        case when p.touches_yes or p.is_snapshot then {'price': b.yes_price, 'quantity': b.yes_quantity} end
            as yes_at,
        case when p.touches_no or p.is_snapshot then {'price': b.no_price, 'quantity': b.no_quantity} end
            as no_at
    from points as p
    left join best as b on b.ord = p.ord
),

replayed as (
    select
        observed_at, exchange_ts, seq, epoch_id, ord,
        last_value(yes_at ignore nulls) over w as yes_top,
        last_value(no_at ignore nulls) over w as no_top,
        lead(exchange_ts) over (partition by epoch_id order by ord) as next_exchange_ts
    from sides
    window w as (partition by epoch_id order by ord rows unbounded preceding)
),

-- one exchange event (an order matching against several levels, say) arrives as several deltas with the same
-- exchange ts; the states between them never existed on the exchange (they can even look crossed), so a burst
-- counts once, at its last delta. Ticker, connection and sid are the epoch's (every applied event shares them)
tops as (
    select e.ticker, e.connection_id, e.sid, r.* exclude (next_exchange_ts)
    from replayed as r
    join int_book_epochs as e on e.epoch_id = r.epoch_id
    where r.exchange_ts is null or r.next_exchange_ts is null or r.next_exchange_ts <> r.exchange_ts
),

wholes as (
    select * from int_book_whole where whole_until > whole_from
),

-- a top change counts only while its book is whole on its own connection
known_changes as (
    select t.*
    from tops as t
    asof join wholes as w
        on w.ticker = t.ticker and w.connection_id = t.connection_id
        and t.observed_at >= w.whole_from
    where t.observed_at < w.whole_until
),

-- the top as it stands when a book becomes whole (its snapshot may have arrived a moment earlier)
at_whole_start as (
    select
        t.ticker, w.whole_from as observed_at, t.exchange_ts, t.connection_id, t.sid, t.seq, t.epoch_id, t.ord,
        t.yes_top, t.no_top
    from wholes as w
    asof join tops as t
        on t.ticker = w.ticker and t.connection_id = w.connection_id
        and w.whole_from >= t.observed_at
),

epochs as (
    select * from int_book_epochs
),

unknown_from as (
    select ticker, whole_until as observed_at, connection_id, sid from wholes
    union all
    select ticker, ended_at, connection_id, sid from epochs where ended_at is not null
),

stacked as (
    select *, true as book_known, 1 as known_first from known_changes
    union all by name
    select *, true as book_known, 1 as known_first from at_whole_start
    union all by name
    select *, false as book_known, 0 as known_first from unknown_from
),

-- one state per instant: a known top beats "unknown" at the same instant (a seamless re-snapshot), the latest
-- event wins among known ones
per_instant as (
    select *
    from stacked
    qualify row_number() over (
        partition by ticker, observed_at order by known_first desc, ord desc nulls last
    ) = 1
),

states as (
    select
        ticker,
        observed_at,
        exchange_ts,
        connection_id,
        sid,
        seq,
        epoch_id,
        book_known,
        case when book_known then yes_top.price end as yes_bid_dollars,
        case when book_known then yes_top.quantity end as yes_bid_size_fp,
        case when book_known then cast(1 - no_top.price as decimal(18,6)) end as yes_ask_dollars,
        case when book_known then no_top.quantity end as yes_ask_size_fp
    from per_instant
),

changes as (
    select *
    from states
    qualify lag({'k': book_known, 'b': yes_bid_dollars, 'bs': yes_bid_size_fp, 'a': yes_ask_dollars,
            'as': yes_ask_size_fp}) over (partition by ticker order by observed_at)
        is distinct from {'k': book_known, 'b': yes_bid_dollars, 'bs': yes_bid_size_fp, 'a': yes_ask_dollars,
            'as': yes_ask_size_fp}
),

final as (
    select
        ticker,
        observed_at,
        exchange_ts,
        connection_id,
        sid,
        seq,
        epoch_id,
        book_known,
        cast(yes_bid_dollars as decimal(18,6)) as yes_bid_dollars,
        cast(yes_bid_size_fp as decimal(18,2)) as yes_bid_size_fp,
        cast(yes_ask_dollars as decimal(18,6)) as yes_ask_dollars,
        cast(yes_ask_size_fp as decimal(18,2)) as yes_ask_size_fp
    from changes
)

select * from final
