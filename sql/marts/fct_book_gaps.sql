-- grain: one row per (ticker, detected_at): each time a market's recorded book stopped being known whole
-- purpose: the gaps of the recording, from the coverage log (via int_book_whole): a sequence gap or duplicate, a
--   slow consumer, a lost connection, the recorder stopping, or the recorder dying (an `alive` with no `stopped`
--   before the next `started`: from its last alive, for every market whose book it held whole). detected_at is
--   when the book stopped being whole (recorder's clock); whole_again_at the market's next `whole` (null if
--   never); reason as logged (seq_gap, duplicate, slow_consumer, disconnected: <reason>, recorder_stopped,
--   recorder_died). A gap reported while the book is already not whole extends the open gap (no second row).
--   Not gaps: a fresh snapshot replacing a whole book, a market removed from the recording, and the end of a
--   recording still running (or dead without a restart: the log cannot tell; book_at still stops at its last alive).
with whole as (
    select * from int_book_whole
),

ends as (
    select
        ticker,
        connection_id,
        sid,
        whole_until as detected_at,
        case end_kind when 'stopped' then 'recorder_stopped' else end_reason end as reason,
        end_kind,
        expected_seq,
        got_seq
    from whole
    where end_kind in ('gap', 'disconnected', 'stopped', 'recorder_died')
),

next_whole as (
    select e.ticker, e.detected_at, min(w.whole_from) as whole_again_at
    from ends as e
    join whole as w on w.ticker = e.ticker and w.whole_from >= e.detected_at
    group by e.ticker, e.detected_at
),

final as (
    select
        e.ticker,
        e.detected_at,
        n.whole_again_at,
        e.reason,
        e.end_kind as gap_kind,
        e.connection_id,
        e.sid,
        e.expected_seq,
        e.got_seq,
        n.whole_again_at - e.detected_at as gap_duration
    from ends as e
    left join next_whole as n on n.ticker = e.ticker and n.detected_at = e.detected_at
)

select * from final
