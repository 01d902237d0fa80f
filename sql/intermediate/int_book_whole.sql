-- grain: one row per `whole` entry of the coverage log: (ticker, whole_from, connection_id)
-- purpose: the intervals [whole_from, whole_until) during which each market's recorded book is known whole, from
--   the recorder's coverage log (stg_ws_coverage; times on the recorder's clock). An interval starts at a `whole`
--   (the market's snapshot arrived on connection_id) and ends at the first of:
--     gap           a `gap` of the market (or of its connection and sid when the entry names no market); gaps of
--                   other channels (trade, ticker ...) do not touch the book
--     disconnected  a `disconnected` of its connection
--     removed       the market left the recording
--     whole         a newer snapshot (the next interval takes over: no gap)
--     and the end of what the recorder vouched for: its `stopped` (stopped), else, when a later `started` shows
--     it died, its last `alive` (recorder_died: rows after the last alive may be missing), else its last `alive`
--     (recording: still running, or died without a restart; nothing after is vouched for).
--   end_kind and end_reason say which; expected_seq / got_seq come with sequence gaps. Sessions are told apart
--   by `started` in time order (one recorder per lake at a time). Conservative by construction: a book is whole
--   only where the log says so, so a lake without a coverage log has no whole books.
with coverage as (
    select * from stg_ws_coverage
),

ordered as (
    select
        *,
        sum(case when event = 'started' then 1 else 0 end) over (
            order by "at", case when event = 'started' then 0 else 1 end, event, ticker, connection_id
            rows unbounded preceding
        ) as session_no
    from coverage
),

sessions as (
    select
        session_no,
        min("at") filter (where event = 'stopped') as stopped_at,
        max("at") filter (where event = 'alive') as last_alive_at
    from ordered
    group by session_no
),

session_ends as (
    select
        session_no,
        coalesce(stopped_at, last_alive_at) as trusted_until,
        case
            when stopped_at is not null then 'stopped'
            when lead(session_no) over (order by session_no) is not null then 'recorder_died'
            else 'recording'
        end as session_end_kind
    from sessions
),

wholes as (
    select ticker, connection_id, sid, "at" as whole_from, session_no
    from ordered
    where event = 'whole' and ticker is not null
),

enders as (
    select "at", event, ticker, connection_id, sid, reason, expected_seq, got_seq
    from ordered
    where event in ('whole', 'removed', 'disconnected')
       or (event = 'gap' and coalesce(channel, 'orderbook_delta') = 'orderbook_delta')
),

first_end as (
    select
        w.ticker,
        w.whole_from,
        w.connection_id,
        arg_min(
            {'at': e."at", 'event': e.event, 'reason': e.reason, 'expected_seq': e.expected_seq,
             'got_seq': e.got_seq},
            e."at"
        ) as e
    from wholes as w
    join enders as e
        on (
            e.ticker = w.ticker
            or (
                e.ticker is null and e.event in ('gap', 'disconnected')
                and e.connection_id = w.connection_id and (e.sid is null or e.event = 'disconnected' or e.sid = w.sid)
            )
        )
        and (e."at" > w.whole_from or (e."at" = w.whole_from and e.event <> 'whole'))
    group by all
),

final as (
    select
        w.ticker,
        w.connection_id,
        w.sid,
        w.whole_from,
        case
            when s.trusted_until is null then w.whole_from  -- nothing of this session was vouched for
            else greatest(w.whole_from, least(coalesce(f.e."at", s.trusted_until), s.trusted_until))
        end as whole_until,
        case
            when f.e."at" is not null and f.e."at" <= s.trusted_until then f.e.event
            else s.session_end_kind
        end as end_kind,
        case
            when f.e."at" is not null and f.e."at" <= s.trusted_until then
                case f.e.event
                    when 'disconnected' then 'disconnected' || coalesce(': ' || f.e.reason, '')
                    when 'whole' then 'resnapshot'
                    else coalesce(f.e.reason, f.e.event)
                end
            else s.session_end_kind
        end as end_reason,
        case when f.e."at" <= s.trusted_until then f.e.expected_seq end as expected_seq,
        case when f.e."at" <= s.trusted_until then f.e.got_seq end as got_seq
    from wholes as w
    left join first_end as f
        on f.ticker = w.ticker and f.whole_from = w.whole_from and f.connection_id is not distinct from w.connection_id
    left join session_ends as s on s.session_no = w.session_no
)

select * from final
