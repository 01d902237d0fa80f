-- grain: one row per stg_ws_book row (a snapshot level, or a delta)
-- purpose: every recorded book message with the epoch (int_book_epochs) it applies to and whether it applies:
--   status = applied | no_snapshot (a delta with no earlier snapshot of its market on its connection and sid:
--   nothing to apply it to) | after_newer_snapshot (a delta received after the market's next snapshot, e.g. a late
--   delta of an old connection: the newer snapshot already replaced the book). A delta belongs to the latest
--   snapshot of the same (ticker, connection_id, sid) with a lower seq. Kept in (epoch_id, seq) order so
--   book_at reads one epoch's rows from a few row groups.
with book as (
    select * from stg_ws_book
),

epochs as (
    select * from int_book_epochs
),

snapshot_rows as (
    select b.*, e.epoch_id, e.started_at, e.ended_at
    from book as b
    join epochs as e
        on e.ticker = b.ticker and e.connection_id = b.connection_id and e.sid = b.sid and e.snapshot_seq = b.seq
    where b.kind = 'snapshot'
),

delta_rows as (
    select b.*, e.epoch_id, e.started_at, e.ended_at
    from (select * from book where kind <> 'snapshot') as b
    asof left join epochs as e
        on e.ticker = b.ticker and e.connection_id = b.connection_id and e.sid = b.sid and b.seq > e.snapshot_seq
),

joined as (
    select * from snapshot_rows
    union all
    select * from delta_rows
),

final as (
    select
        epoch_id,
        ticker,
        kind,
        side,
        price_dollars,
        quantity_fp,
        seq,
        ts,
        received_at,
        connection_id,
        sid,
        case
            when epoch_id is null then 'no_snapshot'
            when ended_at is not null and received_at >= ended_at then 'after_newer_snapshot'
            else 'applied'
        end as status
    from joined
    order by epoch_id nulls last, seq
)

select * from final
