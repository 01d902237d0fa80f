-- grain: one row per (connection_id, sid, seq, kind, side, price_dollars): a level of a recorded order-book
--   snapshot, or a delta (one per seq); an empty snapshot is one row with null side, price and quantity
-- purpose: the WebSocket order-book messages as recorded, deduplicated (a row written twice keeps its first load).
--   Rows repeat only if the same recording were landed twice: a recorder re-run after a crash opens a new
--   connection, so its rows never share a connection_id with the old one's. Book reconstruction: int_book_events.
with source as (
    select * from src_ws_book
),

ranked as (
    select *, row_number() over (
        partition by connection_id, sid, seq, kind, side, price_dollars order by _loaded_at, _run_id
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
