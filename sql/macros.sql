-- Macros shared by the models. Created by the warehouse before any model.

-- dec_units12(x): x (any DECIMAL or integer, |x| < 10^26) as a HUGEINT count of 10^-12 units, exactly. The whole
-- part is scaled in HUGEINT (a DECIMAL(38,12) times 10^12 overflows from |x| = 10^14, e.g. a $-microsecond sum).
create or replace macro dec_units12(x) as (
  cast(trunc(cast(x as decimal(38,12))) as hugeint) * cast(1000000000000 as hugeint)
    + cast((cast(x as decimal(38,12)) - trunc(cast(x as decimal(38,12)))) * 1000000000000 as hugeint)
);

-- micros_quotient(s, num, den): the rounding every exact division below shares: round(|num| / |den|), half away
-- from zero, with sign s, read as 10^-6 units and returned as DECIMAL(38,6) (num, den integers scaled so that
-- num / den is the quotient in 10^-6 units).
create or replace macro micros_quotient(s, num, den) as
  cast(s * ((abs(num) * 2 // abs(den) + 1) // 2) as decimal(38,0)) * cast(0.000001 as decimal(38,6));

-- dec_div(a, b): exact decimal division rounded half away from zero to 6 dp, returned as DECIMAL(38,6).
-- DuckDB's `/` and `avg` turn DECIMAL into DOUBLE; money must stay DECIMAL, so averages, VWAPs and
-- time-weighted means divide through this macro (operands scaled to integers, integer division in HUGEINT;
-- exact for |a| < 8.5 x 10^19).
create or replace macro dec_div(a, b) as (
  case when b = 0 then null
  else micros_quotient(sign(a) * sign(b), dec_units12(a) * 1000000, dec_units12(b))
  end
);

-- utc_date(ts): the UTC calendar day of a timestamptz (independent of the session time zone). Integer day
-- arithmetic on the epoch (floored for instants before 1970), several times faster than a per-row timezone() conversion.
create or replace macro utc_date(ts) as
  date '1970-01-01' + cast(
    (epoch_us(cast(ts as timestamptz))
      - (epoch_us(cast(ts as timestamptz)) % 86400000000 + 86400000000) % 86400000000) // 86400000000
    as integer
  );

-- max_mid_age_seconds(): how old a REST quote may be (seconds before the instant it is used) and still count as
-- the prevailing mid for effective / realized spreads (fct_effective_spreads). Default 60; set it for a build with
-- `SET VARIABLE max_mid_age_seconds = 300` on the connection before `warehouse.build_on(con, lake_root)` (every
-- row records the value it was built with). A recorded WebSocket top (ws_book) that is known whole and two-sided
-- at that instant is current whatever its age.
create or replace macro max_mid_age_seconds() as
  cast(coalesce(getvariable('max_mid_age_seconds'), 60) as bigint);

-- quote_source_rank(source): which quote wins when several are seen at one instant — the recorded WebSocket book,
-- then a REST order book, then a market snapshot's bid/ask, then a candle (lower first); every model that picks one
-- quote per instant orders by it.
create or replace macro quote_source_rank(source) as
  case source when 'ws_book' then 0 when 'orderbook' then 1 when 'market' then 2 else 3 end;

-- quote_recency_key(instant, source): one BIGINT that orders quotes by instant, then by quote_source_rank (0-3, the
-- better source larger): arg_max(q, quote_recency_key(instant, source)) is the latest quote, the best-ranked at one
-- instant (#20: a window, or a struct key, over every mid cost ~0.3 s at 1.7M mids).
create or replace macro quote_recency_key(instant, source) as epoch_us(instant) * 4 + 3 - quote_source_rank(source);

-- quote_sources(): every quote source a mid can come from, in code order (the one list of them).
create or replace macro quote_sources() as ['ws_book', 'orderbook', 'market', 'candle'];

-- quote_source_code(source) / quote_source_name(code): a quote source as a small integer and back (fct_effective_spreads
-- carries the code through its four lookups: a string gathered per trade and lookup cost ~10% of the model's CPU at
-- 10M trades). Null stays null; an unknown source is an error, never a silent null.
create or replace macro quote_source_code(source) as
  case when source is not null then
    coalesce(list_position(quote_sources(), source), error('unknown quote source: ' || source))
  end;

create or replace macro quote_source_name(code) as quote_sources()[code];

-- quote_source_bit(source) / quote_source_set(mask): the distinct sources of a group of rows as bit_or(quote_source_bit(
-- source)), and that mask as the sorted list of their names (null: no source), what list(distinct source order by
-- source) gives. #20: a DISTINCT aggregate regroups every row by its source (~0.2 s a model over 10M trades).
create or replace macro quote_source_bit(source) as cast(1 as bigint) << quote_source_code(source);

create or replace macro quote_source_set(mask) as
  case when mask is not null then
    list_sort([quote_source_name(c) for c in range(1, len(quote_sources()) + 1) if (mask >> c) & 1 = 1])
  end;

-- prevailing_mid(ws, rest, point_at): the mid prevailing at point_at (fct_effective_spreads) from ws = {mid, at}, the
-- latest ws_book row at or before point_at (mid null when its book is not known whole or not two-sided), and rest =
-- {mid, at, source}, the latest REST quote at or before it (either null when there is none). Returns {status,
-- source, observed_at, mid}: status 'matched' (the ws_book mid, or a REST mid at most max_mid_age_seconds() old),
-- 'stale', 'one_sided' or 'no_quote' (mid and source then describe the latest quote regardless).
create or replace macro prevailing_mid(ws, rest, point_at) as {
  'status': case
      when ws.mid is not null then 'matched'
      when rest.at is null then 'no_quote'
      when rest.mid is null then 'one_sided'
      when date_diff('microsecond', rest.at, point_at) > max_mid_age_seconds() * 1000000 then 'stale'
      else 'matched'
    end,
  'source': case when ws.mid is not null then 'ws_book' else rest.source end,
  'observed_at': case when ws.mid is not null then ws.at else rest.at end,
  'mid': case when ws.mid is not null then ws.mid else rest.mid end
};

-- close_buckets(): the time-to-close buckets of the spread marts (fct_spreads_by_close,
-- fct_effective_spreads_by_close). An instant t is in a bucket when close_time - hi_seconds <= t < close_time -
-- lo_seconds (hi null: no lower bound on t; lo null with hi 0: at or after the close). They partition the timeline
-- of a market with a close_time; a market without one has the single bucket 'no_close_time'.
create or replace macro close_buckets() as table
  select * from (values
    (1, '7d+', cast(7 * 86400 as bigint), cast(null as bigint)),
    (2, '1d-7d', 86400, 7 * 86400),
    (3, '6h-1d', 21600, 86400),
    (4, '1h-6h', 3600, 21600),
    (5, '15m-1h', 900, 3600),
    (6, '0-15m', 0, 900),
    (7, 'after_close', null, 0)
  ) as b(bucket_order, close_bucket, lo_seconds, hi_seconds);

-- close_bucket_bounds(): one row, lo1 ... lo6 = close_buckets()' lower bounds in microseconds, in bucket order, so
-- a time to close d (µs) falls in the first bucket k with d > lo_k (7 = after_close when none); buckets run in
-- time order, each lo the next one's hi.
create or replace macro close_bucket_bounds() as table
  select
    max(lo_seconds * 1000000) filter (where bucket_order = 1) as lo1,
    max(lo_seconds * 1000000) filter (where bucket_order = 2) as lo2,
    max(lo_seconds * 1000000) filter (where bucket_order = 3) as lo3,
    max(lo_seconds * 1000000) filter (where bucket_order = 4) as lo4,
    max(lo_seconds * 1000000) filter (where bucket_order = 5) as lo5,
    max(lo_seconds * 1000000) filter (where bucket_order = 6) as lo6
  from close_buckets();

-- close_bucket_order(d, lo1, ..., lo6): the bucket_order of a time to close d (µs) from close_bucket_bounds()' row:
-- the first k with d > lo_k, else 7 (after_close; also when d is null: callers place null times first).
create or replace macro close_bucket_order(d, lo1, lo2, lo3, lo4, lo5, lo6) as
  case when d > lo1 then 1 when d > lo2 then 2 when d > lo3 then 3 when d > lo4 then 4 when d > lo5 then 5
    when d > lo6 then 6 else 7 end;

-- units_6dp(x) (#20): x, a DECIMAL of at most 6 decimal places with |x| < 10^12 (or an integer), as a BIGINT count
-- of 10^-6 units, exactly: the whole part and the fraction apart, each in BIGINT arithmetic (`cast(x * 1000000 as
-- bigint)` on a DECIMAL(38,6) divides a HUGEINT by 10^6 on the way, ~4x slower per value). More decimal places
-- would be rounded to 6.
create or replace macro units_6dp(x) as
  cast(trunc(cast(x as decimal(18,6))) as bigint) * 1000000
    + cast(cast(cast(x as decimal(18,6)) % 1 as decimal(7,6)) * 1000000 as bigint);

-- dec_div_6dp(a, b) (#20, fct_spreads): dec_div for operands of at most 6 decimal places (DECIMAL(18,6) prices,
-- spreads, mids): the same exact result, rounded half away from zero to 6 dp, as DECIMAL(38,6), but computed on
-- the operands' 10^-6 units (BIGINT when both are below 1,000,000, else HUGEINT), ~5x cheaper per row. An operand
-- with more than 6 decimal places would be rounded first: use dec_div for those.
create or replace macro dec_div_6dp(a, b) as (
  case when b = 0 then null
  when a > -1000000 and a < 1000000 and b > -1000000 and b < 1000000 then
    micros_quotient(sign(a) * sign(b), units_6dp(a) * 1000000, units_6dp(b))
  else
    micros_quotient(
      sign(a) * sign(b),
      cast(cast(a as decimal(38,6)) * 1000000 as hugeint) * 1000000,
      cast(cast(b as decimal(38,6)) * 1000000 as hugeint)
    )
  end
);

-- dec_div_n(a, n) (#20): dec_div of a DECIMAL of at most 6 decimal places (a sum of DECIMAL(18,6) spreads, a
-- $ x microseconds sum) by an integer n (a count, microseconds): the same exact result, rounded half away from
-- zero to 6 dp, as DECIMAL(38,6), computed on a's 10^-6 units (round(units / n)), in BIGINT while they fit (|a| <
-- 10^12: units_6dp), else HUGEINT; ~8x cheaper per row than dec_div (a time-weighted mean per bucket). Exact for
-- |a| < 10^26. A numerator with more than 6 decimal places would be rounded first: use dec_div for those.
create or replace macro dec_div_n(a, n) as (
  case when n = 0 then null
  when a > -1000000000000 and a < 1000000000000 and n > -4000000000000000000 and n < 4000000000000000000 then
    micros_quotient(sign(a) * sign(n), units_6dp(a), cast(n as bigint))
  else
    micros_quotient(sign(a) * sign(n), cast(cast(a as decimal(38,6)) * 1000000 as hugeint), cast(n as hugeint))
  end
);

-- mid_status(is_ws, quote_at, mid, point_us): prevailing_mid()'s status for a quote already picked (fct_effective_spreads'
-- timeline: is_ws = the ws_book mid was picked; else the latest REST quote, quote_at its instant, null when none) and
-- looked up at point_us (epoch microseconds): 'matched', 'no_quote', 'one_sided' or 'stale' (older than
-- max_mid_age_seconds()).
create or replace macro mid_status(is_ws, quote_at, mid, point_us) as case
    when is_ws then 'matched'
    when quote_at is null then 'no_quote'
    when mid is null then 'one_sided'
    when point_us - epoch_us(quote_at) > max_mid_age_seconds() * 1000000 then 'stale'
    else 'matched'
  end;

-- next_lookup_at(t, a1, a2, a3, a4) (fct_calibration_prices): the earliest of a market's lookup instants at or
-- after t (null ones and those before t ignored); null when every one is before t.
create or replace macro next_lookup_at(t, a1, a2, a3, a4) as
  least(
    case when a1 >= t then a1 end, case when a2 >= t then a2 end,
    case when a3 >= t then a3 end, case when a4 >= t then a4 end
  );

-- Bucketed lookups (fct_effective_spreads): "the latest quote of a market at or before instant p" as a hash join
-- instead of an ASOF join (#20: DuckDB's ASOF sorts every probe row with its whole payload, ~2x the cost at 10M
-- trades). Each quote holds over [from_us, until_us) (until the market's next quote). A market's time is cut into
-- regions (whole hours, a power of two, about 16 of its quotes in each), a region into buckets (about four quotes
-- starting in each: a busy stretch of a recorded book gets narrow buckets, a quiet region one), and a quote is
-- listed in every bucket of its region its interval touches, plus, in each later region up to the market's last
-- lookup, the quote current at the region's start. A lookup at p joins on (market, the bucket of p) and keeps the
-- one listed quote with from_us <= p < until_us.
-- lookup_region(n, first_us, last_us): the region length (µs) of a market whose n quotes start between first_us
-- and last_us (epoch µs): 1 hour times the power of two nearest below 16 quotes a region, at most 1,024 hours.
create or replace macro lookup_region(n, first_us, last_us) as
  3600000000 * (cast(1 as bigint) << least(10, greatest(0,
    cast(floor(log2(16.0 * ((last_us - first_us) // 3600000000 + 1) / n)) as integer))));

-- lookup_width(n, region_us): the bucket width (µs) of a region in which n quotes start (n = 0: one bucket).
create or replace macro lookup_width(n, region_us) as region_us // greatest(1, n // 4) + 1;

-- lookup_bucket(p, region, region_us, width): the start (epoch µs) of the bucket of region `region` (epoch µs //
-- region_us) holding instant p (epoch µs, inside that region).
create or replace macro lookup_bucket(p, region, region_us, width) as
  region * region_us + (p - region * region_us) // width * width;

-- probe_bucket(p, region, region_us, width, next_width): the bucket of p when p lies in `region` (width) or in the
-- next one (next_width): a lookup at most an hour after a trade, and a region at least an hour.
create or replace macro probe_bucket(p, region, region_us, width, next_width) as
  case when p // region_us = region then lookup_bucket(p, region, region_us, width)
  else lookup_bucket(p, region + 1, region_us, next_width) end;

-- spreads_by_close_fold(t) / effective_spreads_by_close_fold(t) (#20): rows of fct_spreads_by_close_daily /
-- fct_effective_spreads_by_close_daily (in table or CTE t) folded to one row per (ticker, source, bucket_order) /
-- (ticker, bucket_order) with the same columns: counts, times and DECIMAL sums summed, maxima maxed, the day the
-- latest folded, the sources' sorted union and the age histograms merged; a (ticker, source)'s last quote (last_*,
-- set on one row of its history) kept. The by-close marts sum such rows, so they sum folded ones to the same values:
-- a top-up re-sums a market's days before the recompute's window from one folded row per bucket (kept for the day's
-- next builds: `fold` in incremental.py) instead of every day of its history.
create or replace macro spreads_by_close_fold(t) as table
  select
    ticker,
    source,
    bucket_order,
    max(piece_date) as piece_date,
    cast(sum(observations) as bigint) as observations,
    cast(sum(two_sided_observations) as bigint) as two_sided_observations,
    sum(held_us) as held_us,
    sum(two_sided_us) as two_sided_us,
    sum(spread_x_us) as spread_x_us,
    sum(rel_x_us) as rel_x_us,
    sum(sized_us) as sized_us,
    sum(bid_size_x_us) as bid_size_x_us,
    sum(ask_size_x_us) as ask_size_x_us,
    max(max_quote_age_seconds) as max_quote_age_seconds,
    any_value(last_observed_at) filter (where last_observed_at is not null) as last_observed_at,
    any_value(last_book_state) filter (where last_observed_at is not null) as last_book_state,
    any_value(last_spread_dollars) filter (where last_observed_at is not null) as last_spread_dollars,
    any_value(last_relative_spread) filter (where last_observed_at is not null) as last_relative_spread,
    any_value(last_yes_bid_size_fp) filter (where last_observed_at is not null) as last_yes_bid_size_fp,
    any_value(last_yes_ask_size_fp) filter (where last_observed_at is not null) as last_yes_ask_size_fp
  from query_table(t)
  group by ticker, source, bucket_order;

create or replace macro effective_spreads_by_close_fold(t) as table
  with rows as (
    select * from query_table(t)
  ),
  sums as (
    select
      ticker,
      bucket_order,
      max(trade_date) as trade_date,
      cast(sum(trade_count) as bigint) as trade_count,
      cast(sum(trades_with_mid) as bigint) as trades_with_mid,
      cast(sum(trades_without_fresh_mid) as bigint) as trades_without_fresh_mid,
      sum(volume_fp) as volume_fp,
      sum(signed_sum) as signed_sum,
      cast(sum(signed_n) as bigint) as signed_n,
      sum(rel_sum) as rel_sum,
      cast(sum(rel_n) as bigint) as rel_n,
      sum(rs1m) as rs1m, cast(sum(n1m) as bigint) as n1m, sum(pi1m) as pi1m,
      sum(rs5m) as rs5m, cast(sum(n5m) as bigint) as n5m, sum(pi5m) as pi5m,
      sum(rs1h) as rs1h, cast(sum(n1h) as bigint) as n1h, sum(pi1h) as pi1h,
      nullif(list_sort(list_distinct(flatten(list(mid_sources)))), []) as mid_sources,
      max(max_mid_age_seconds) as max_mid_age_seconds
    from rows
    group by ticker, bucket_order
  ),
  ages as (
    select ticker, bucket_order, list({'age': age, 'n': n} order by age) as mid_ages
    from (
      select ticker, bucket_order, h.age as age, cast(sum(h.n) as bigint) as n
      from (select ticker, bucket_order, unnest(mid_ages) as h from rows where mid_ages is not null)
      group by all
    )
    group by all
  )
  select s.* exclude (max_mid_age_seconds), a.mid_ages, s.max_mid_age_seconds
  from sums as s
  left join ages as a using (ticker, bucket_order);
