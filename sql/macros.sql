-- Macros shared by the models. Created by the warehouse before any model.

-- dec_div(a, b): exact decimal division rounded half away from zero to 6 dp, returned as DECIMAL(38,6).
-- DuckDB's `/` and `avg` turn DECIMAL into DOUBLE; money must stay DECIMAL, so averages, VWAPs and
-- time-weighted means divide through this macro (operands scaled to integers, integer division in HUGEINT).
create or replace macro dec_div(a, b) as (
  case when b = 0 then null else
    cast(sign(a) * sign(b) *
      ((abs(cast(cast(a as decimal(38,12)) * 1000000000000 as hugeint)) * 2000000
        // abs(cast(cast(b as decimal(38,12)) * 1000000000000 as hugeint)) + 1) // 2)
    as decimal(38,0)) * cast(0.000001 as decimal(38,6))
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
