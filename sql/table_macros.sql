-- Table macros over the built models. Created by the warehouse after every model, in the same transaction, so
-- they are stored in kalshi.duckdb and every connection to it has them (`kalshi-lake sql`, notebooks,
-- warehouse.connect, build_in_memory). DuckDB binds a macro's tables when it is created: macros that read models
-- live here, scalar helpers the models use live in macros.sql.

-- book_at(ticker, at [, require_whole := true]): the recorded order book of `ticker` at instant `at`.
--   Columns: side ('yes' / 'no': the resting bids of each side, as Kalshi sends them; a NO bid at p is a YES ask
--   at 1 - p), price, quantity (DECIMAL); one row per non-empty level, best first.
--   Clock: `at` is on the recorder's clock (ws_book.received_at, the same clock as the coverage log), not the
--   exchange's: snapshots carry no exchange time, the exchange's ts is absent on some messages and the two clocks
--   can differ by network latency and skew; order within a book is always its connection's seq.
--   The book is the market's latest snapshot received at or before `at` (on any connection: a newer snapshot
--   replaces the book) plus the deltas of that snapshot's connection and sid with a higher seq received at or before
--   `at` (int_book_events). When the book is not known whole at `at` (no coverage, a gap, a lost connection, the
--   recorder stopped or dead, a newer connection's book not yet whole: int_book_whole) it returns NO rows, never a
--   stale book; book_status_at says which. require_whole := false replays the latest snapshot and its deltas
--   regardless (for inspecting a gap).
--   Reads the built tables: it sees the lake as of the last `kalshi-lake build`.
create or replace macro book_at(book_ticker, at_instant, require_whole := true) as table
with epoch as (
    select epoch_id, connection_id
    from int_book_epochs
    where ticker = book_ticker and started_at <= at_instant
    order by started_at desc, epoch_id desc
    limit 1
),

whole as (
    select count(*) > 0 as ok
    from int_book_whole as w, epoch as e
    where w.ticker = book_ticker and w.connection_id = e.connection_id
      and w.whole_from <= at_instant and at_instant < w.whole_until
),

levels as (
    select side, price_dollars as price, sum(quantity_fp) as quantity
    from int_book_events
    where epoch_id = (select epoch_id from epoch) and ticker = book_ticker and status = 'applied'
      and received_at <= at_instant and side is not null
    group by side, price_dollars
)

select side, price, cast(quantity as decimal(18,2)) as quantity
from levels
where quantity > 0 and (not require_whole or (select ok from whole))
order by side desc, price desc;

-- book_status_at(ticker, at): one row saying whether book_at(ticker, at) is a whole book and from what:
--   whole, the epoch's connection_id and sid, snapshot_at (its snapshot's receipt), last_update_at (the last
--   message applied at or before `at`), and why_not when not whole: no_recording (no snapshot of the market at
--   or before `at`) or not_whole (the coverage log does not vouch for this book at `at`; see fct_book_gaps).
create or replace macro book_status_at(book_ticker, at_instant) as table
with epoch as (
    select epoch_id, connection_id, sid, started_at
    from int_book_epochs
    where ticker = book_ticker and started_at <= at_instant
    order by started_at desc, epoch_id desc
    limit 1
),

whole as (
    select count(*) > 0 as ok
    from int_book_whole as w, epoch as e
    where w.ticker = book_ticker and w.connection_id = e.connection_id
      and w.whole_from <= at_instant and at_instant < w.whole_until
),

last_update as (
    select max(received_at) as at_
    from int_book_events
    where epoch_id = (select epoch_id from epoch) and ticker = book_ticker and status = 'applied'
      and received_at <= at_instant
)

select
    coalesce((select ok from whole), false) as whole,
    (select connection_id from epoch) as connection_id,
    (select sid from epoch) as sid,
    (select started_at from epoch) as snapshot_at,
    (select at_ from last_update) as last_update_at,
    case
        when (select epoch_id from epoch) is null then 'no_recording'
        when not (select ok from whole) then 'not_whole'
    end as why_not;
