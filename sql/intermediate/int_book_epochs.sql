-- grain: one row per recorded order-book snapshot: (ticker, connection_id, sid, snapshot_seq)
-- purpose: the "epochs" of each market's recorded book. A snapshot starts an epoch (the book it carries replaces
--   whatever was known); the epoch runs until the market's next snapshot on ANY connection (ended_at, by receipt
--   time; null for the latest). Only deltas of the epoch's own connection and sid, after its seq and received
--   before ended_at, apply to it (int_book_events): a new connection's snapshot therefore replaces the book and
--   late deltas of an old connection never apply after it. Times are the recorder's clock (received_at): see
--   sql/README.md "Order books from the WebSocket" for why.
with snapshots as (
    select ticker, connection_id, sid, seq as snapshot_seq, min(received_at) as started_at
    from stg_ws_book
    where kind = 'snapshot'
    group by all
),

final as (
    select
        row_number() over (order by ticker, started_at, connection_id, sid, snapshot_seq) as epoch_id,
        ticker,
        connection_id,
        sid,
        snapshot_seq,
        started_at,
        lead(started_at) over (
            partition by ticker order by started_at, connection_id, sid, snapshot_seq
        ) as ended_at
    from snapshots
)

select * from final
