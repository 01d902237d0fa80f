-- grain: one row per trade_id
-- purpose: the public trade tape, each trade once whether it was pulled over REST (`trades`) or recorded from the
--   WebSocket `trade` channel (`ws_trades`, the same trade_id): the REST row wins when both exist (the exchange's
--   own record, re-pullable), else the first WebSocket receipt. trade_source = rest | ws says which; received_at
--   and connection_id are set for ws rows only. Within REST a trade loaded twice keeps its first load.
--   taker_book_side falls back to taker_outcome_side, then the legacy taker_side (yes = bid, no = ask).
-- incremental: day = utc_date(created_time)
-- incremental: src_trades by date
-- incremental: src_ws_trades by date, ahead 1, before 1
with rest as (
    select *, 'rest' as trade_source from src_trades
),

ws as (
    select *, 'ws' as trade_source from src_ws_trades
),

source as (
    select * from rest
    union all by name
    select * from ws
),

normalized as (
    select
        * replace (
            coalesce(
                taker_book_side,
                case coalesce(taker_outcome_side, taker_side) when 'yes' then 'bid' when 'no' then 'ask' end
            ) as taker_book_side
        )
    from source
),

ranked as (
    select *, row_number() over (
        partition by trade_id
        order by case trade_source when 'rest' then 0 else 1 end, received_at nulls first, _loaded_at, _run_id
    ) as _rn
    from normalized
    where trade_id is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
