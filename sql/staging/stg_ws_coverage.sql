-- grain: one row per (at, event, ticker, channel, sid, connection_id): one entry of the recorder's coverage log
-- purpose: what the recorder saw whole (started / stopped, connected / disconnected, whole, gap, alive, added /
--   removed; see kalshi_extract/lake/schemas.py), deduplicated. int_book_whole turns it into the intervals when
--   each book was whole; fct_book_gaps into the gaps.
with source as (
    select * from src_ws_coverage
),

ranked as (
    select *, row_number() over (
        partition by "at", event, ticker, channel, sid, connection_id order by _loaded_at, _run_id
    ) as _rn
    from source
    where "at" is not null and event is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
