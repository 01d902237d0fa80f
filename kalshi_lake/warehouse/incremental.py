"""Incremental builds: a build after a top-up recomputes only the days the pull touched (dbt's microbatch idea).

What a build remembers (tables written in the build's own transaction, so a killed build leaves the old ones):
`_kalshi_build_files` (stream, file, size, mtime_ns) = the lake snapshot the warehouse was built from, and
`_kalshi_build_state` = the lake root, a digest of the model files (`.sql`, `sources.toml`) and a digest of the
connection's DuckDB variables (`max_mid_age_seconds`...). A build whose lake root, models or variables differ, a
first build and `full_refresh=True` rebuild everything.

Dirty days. Each source view `src_<stream>` is dirty from the oldest `date=` partition holding a file added or
removed since the last build (a compaction removes and adds files of one partition: that partition is recomputed
from the snapshot's files, so no row is doubled or lost), +inf when none changed, -inf when a changed file has no
`date=` partition. A model is then, in build order:
- unchanged (+inf) when every table or view it reads is unchanged: its table is kept as it is;
- incremental (from day X) when it declares `-- incremental:` lines (below) and every input is +inf or finite:
  X = min over inputs of (input's dirty day - its `ahead`); rows with day >= X are deleted and recomputed (when
  they are `REWRITE_ROWS` or more, only those that came out different are deleted and written; when none did, the
  model is unchanged, +inf, for its readers);
- otherwise rebuilt whole (-inf for the models that read it).

Declaring a model incremental (lines of its header comment; every table or view it reads must be declared):
    -- incremental: day = <expr>                       the UTC day (DATE) of an output row, from its columns
    -- incremental: day = <expr>, runs (<key exprs>)   the same, rows of a key being a run of consecutive days
    -- incremental: day = <expr>, never null             the same, and no output row has a null day (see below)
    -- incremental: day = all                          no day: every row is recomputed, from the inputs' windows
    -- incremental: key = <expr>                       an output row of a key reads only input rows of that key
    -- incremental: instant = <expr>                   the output row's instant (its day is that instant's UTC day)
    (`day = all` and `key =` together: keyed rows, below)
    -- incremental: <input> by <expr>[, ahead N[ hours]][, before N[ hours]][, carry (<group exprs>)[, held]]
    -- incremental: <input> whole[, ahead N]
    -- incremental: <input> diff (<columns>) at <expr>   (`at` is left out with keyed rows)
    -- incremental: <input> rebuild
`by <expr>`: the input's day (DATE) of a row; an output row of day d reads only input rows of days
[d - before, d + ahead], so recomputing from X reads the input's rows of days >= X - before (for `src_` views:
`date` = the lake's partition, whose files are then the only ones read). `whole`: an output row of day d may read
any input row of a day <= d + ahead (an ASOF lookback), so the input is read whole. `by <ts>, carry (<groups>)` is
the cheaper exact form of an ASOF lookback: recomputing from X reads the rows from X - before on plus, per group,
the rows at the group's latest `<ts>` before that (what an ASOF join at the window's start finds). `rebuild`: no such bound (a
`lead()` reaching the next row whenever it comes): a change of that input rebuilds the model whole. Output rows whose day is null
cannot be placed: a model with such rows is rebuilt whole.

`ahead N hours`, `before N hours`: the same bounds in hours (N / 24 of a day). A model without `instant` rounds the window down to
whole days; with `instant = <ts>` (a per-row model such as one row per trade, whose rows look ahead by a fixed
time) it is recomputed from the instant X itself: its rows at `<ts>` >= X, reading the inputs whose `by` is a
timestamp from X - before on (their `carry` rows at X), and the others by whole days (a lake stream: below). Promised: an output row at
instant t reads only rows of those inputs at instants >= t - before (plus the carried ones) and its day is the UTC
day of `<ts>`. Its readers with an `instant` see X itself; the others floor it to X's day.

Dirty instants. A `src_` input of an `instant` model is dirty not from its partition day but from the least new
instant: the least value, among the rows of the files added since the last build, of the source column named as
the model's `instant` (`NewFiles.least_instant`: floored to the second; an added file lacking that column or with a
null in it counts from its partition day, a removed file from its partition day). So a 15-minute pull at noon
recomputes the staging rows from noon, not from midnight, and the `instant` models reading them (the mids, the
effective spreads) from there too. Promised by such a staging model: an output row's `<ts>` is the value of that
column in the source rows it comes from (a deduplication keeps one of the rows of one instant), and an output row
at instant t depends only on source rows at instants >= t - `before` (`before N hours`: a trade's REST and
WebSocket rows, whose times may be cut to different precision, are compared with their twin): such a source is
read from the window's partition days and, within them, from that instant on (or with a null `<ts>`).

Data-dependent bounds (for rows not bounded by day alone):
- `carry (...), held`: a carried row's own output changes too (it holds until the next row of its group, a `lead()`):
  the model is dirty from the day of the earliest carried row among the groups that have rows in the input's dirty
  days, or from its dirty instant on when the input has an `instant` and a timestamp `by` (a quote held across
  days: only the groups that moved reach back, each to its last row before them).
- `day = all`: the model has no day (one row per ticker: its latest mark); every row is deleted and recomputed, but
  the `by` inputs are read from the least dirty day of the model's inputs on (with their `carry` rows: a latest-row
  model reads, per group, the new rows and the last row before them). Its `whole` inputs may be rebuilt whole.
- `diff (<columns>) at <expr>`: for a small input rebuilt whole on every pull (`int_market_states`, `dim_markets`:
  every market is observed again, `observed_at` moves): the runner keeps its previous table aside (`old_table`) and
  the model is dirty from the least `<expr>` (the output day that input row lands on) over the rows whose `<columns>`
  differ between the previous and the new table, either side; unchanged when none differ; whole when such a row has
  no day, or when the input was not rebuilt whole (no previous table to compare). The input is read whole.
- `day = <expr>, runs (<keys>)`: the output rows of a key are consecutive days up to a last day that new input
  rows can push later (an equity curve runs to the last quote of a market the account holds): the model is dirty
  from no later than the day after the earliest of the keys' last rows.
- `key = <expr>` (a column every input has): recomputing from X reads only the input rows of the keys of the
  output's rows of days >= X, of the `diff` inputs' rows placed on days >= X (`at`) and of the `by` inputs' dirty
  rows (their windows). Promise: a `whole` input alone never creates an output key (a price at close reads every
  trade of its market, but only the markets closing on a dirty day are read).
- keyed rows, `day = all` with `key = <expr>`: the rows have no day, but a key's rows read only that key's input
  rows, however old (a market's spread by time to close sums its whole history). Recomputed: the keys of the `by`
  inputs' rows of days >= their dirty day - `before` and of the `diff` inputs' rows that differ, either side
  (`<expr>` over the `diff` columns); only those keys' output rows are deleted, and inserted again from those
  keys' input rows read whole. A changed `whole` input names no key: the model is rebuilt whole; an output row
  with a null key is never deleted: rebuilt whole too. `ahead` widens the window; `carry`/`held` add nothing.
  `<input> by <expr>, fold <macro>` (keyed rows only): the input's rows before the window are read folded by the
  table macro `<macro>(<table name>)` (one row per group, the input's columns: sums summed...), from a table made
  once a day over every key (rolled forward from the day before's: the macro folds its own rows too) and kept for
  the day's next builds as the carry tables are (`_folded`), then its rows
  of the window: a market trading for a year is re-summed from one folded row per bucket and a day's rows, not
  from every day of its history. Promised: the model's rows are the same over folded rows as over the rows folded.
`never null` (a promise, checked after every full build, which fails when a row has a null day): a recompute inserts
the model's rows filtered on `<day> >= X` alone, a filter DuckDB pushes into the model's joins on the day, so only
those days are computed (without it the filter must also keep the rows without a day, which stops the pushdown).
Assumed (the lake only adds rows): a recompute never removes every row of a carry group from the input's dirty days;
`held` looks at the groups present there after the input's own recompute.
These declarations are promises about the SQL; `tests/warehouse/test_incremental.py` checks them by comparing
every column of every model after random top-ups (late rows, duplicates, compaction) with a full rebuild.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .sources import file_list, parquet_reader, quote_ident

if TYPE_CHECKING:  # stamped.py (which carries.py uses) reads BUILD_TABLE from here
    from .carries import Carries

NEG = float("-inf")  # dirty from the beginning: rebuilt whole
POS = float("inf")  # unchanged
REBUILD = float("inf")  # `ahead` of an input whose every change rebuilds the model whole
BUILD_TABLE = "_kalshi_build"  # the last build: its fingerprint, built_at, tests_ok (runner.py)
FILES_TABLE = "_kalshi_build_files"
STATE_TABLE = "_kalshi_build_state"
COLUMNS_TABLE = "_kalshi_build_columns"
_LINE = re.compile(r"^--\s*incremental:\s*(.+?)\s*$", re.M)
_OPTION = re.compile(r",\s*(ahead|before)\s+(\d+)(\s+hours?)?\s*$")
_CARRY = re.compile(r",\s*carry\s*\((.+)\)\s*$")
_HELD = re.compile(r",\s*held\s*$")
_FOLD = re.compile(r",\s*fold\s+([A-Za-z_][A-Za-z0-9_]*)\s*$")
_RUNS = re.compile(r",\s*runs\s*\((.+)\)\s*$")
_NEVER_NULL = re.compile(r",\s*never null\s*$")
_DIFF = re.compile(r"^diff\s*\((.+?)\)(?:\s+at\s+(.+))?$")
ALL_DAYS = "all"  # `day = all`: the model has no day; every row is recomputed from the inputs' windows
LAST_DAY = float(
    dt.date.max.toordinal()
)  # the window of a `day = all` model none of whose `by` inputs changed
_PARTITION = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


class SpecError(ValueError):
    """A malformed `-- incremental:` header."""


@dataclass(frozen=True)
class InputRule:
    day: str | None  # the input's day expression; None = read whole
    # in days (`ahead N hours`: N / 24); REBUILD: any change of the input rebuilds the model whole
    ahead: float = 0
    before: float = 0  # in days (`before N hours`: N / 24)
    carry: str | None = None  # also read each group's rows at its latest `day` value before the window
    held: bool = False  # the carried rows' own output changes too: dirty from their day
    diff: str | None = (
        None  # read whole; dirty from the least `at` over the rows whose `diff` columns changed
    )
    at: str | None = None
    fold: str | None = None  # keyed rows: the table macro folding the rows before the window


@dataclass(frozen=True)
class Spec:
    day: str  # ALL_DAYS: no day
    inputs: dict[str, InputRule]
    key: str | None = None  # an output row of a key reads only input rows of that key
    runs: str | None = None  # the keys whose rows are runs of consecutive days that new input can lengthen
    never_null: bool = False  # promised: no output row has a null day (checked after every full build)
    instant: str | None = None  # the output row's instant (day = its UTC day): recompute from an instant

    @property
    def all_rows(self) -> bool:
        return self.day == ALL_DAYS

    @property
    def keyed_rows(self) -> bool:
        """`day = all` with a `key`: only the dirty keys' rows are recomputed, from their input rows read whole."""
        return self.all_rows and self.key is not None


def parse_spec(sql: str) -> Spec | None:
    """The `-- incremental:` declaration of a model's SQL, or None when it has none."""
    lines = _LINE.findall(sql)
    if not lines:
        return None
    day, key, runs, never_null, instant, inputs = None, None, None, False, None, {}
    for line in lines:
        if line.startswith("day ="):
            day = line.removeprefix("day =").strip()
            while (r := _RUNS.search(day)) or (n := _NEVER_NULL.search(day)):
                if r:
                    runs, day = r.group(1).strip(), day[: r.start()].strip()
                else:
                    never_null, day = True, day[: n.start()].strip()
            continue
        if line.startswith("key ="):
            key = line.removeprefix("key =").strip()
            continue
        if line.startswith("instant ="):
            instant = line.removeprefix("instant =").strip()
            continue
        opts: dict[str, float] = {}
        carry, held, fold = None, False, None
        while (
            (m := _OPTION.search(line))
            or (c := _CARRY.search(line))
            or (h := _HELD.search(line))
            or (f := _FOLD.search(line))
        ):
            if m:
                opts[m.group(1)] = int(m.group(2)) / 24 if m.group(3) else int(m.group(2))
                line = line[: m.start()]
            elif c:
                carry = c.group(1).strip()
                line = line[: c.start()]
            elif h:
                held = True
                line = line[: h.start()]
            else:
                fold = f.group(1)
                line = line[: f.start()]
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if held and not carry:
            raise SpecError(f"'-- incremental: {line}': 'held' needs a 'carry (...)'")
        if fold and not rest.startswith("by "):
            raise SpecError(f"'-- incremental: {line}': 'fold' needs '<input> by <expr>'")
        if d := _DIFF.match(rest):
            rule = InputRule(None, diff=d.group(1).strip(), at=d.group(2) and d.group(2).strip())
        elif rest == "whole":
            rule = InputRule(None, opts.get("ahead", 0))
        elif rest == "rebuild":
            rule = InputRule(None, REBUILD)
        elif rest.startswith("by "):
            expr, *unknown = split_top(rest[3:])
            if unknown:
                raise SpecError(f"'-- incremental: {line}': cannot read the option(s) {', '.join(unknown)}")
            rule = InputRule(expr, opts.get("ahead", 0), opts.get("before", 0), carry, held, fold=fold)
        else:
            raise SpecError(
                f"cannot read '-- incremental: {line}': expected '<input> by <expr>', '<input> whole', "
                "'<input> rebuild' or '<input> diff (<columns>) at <expr>'"
            )
        inputs[name] = rule
    if not day:
        raise SpecError("an incremental model needs '-- incremental: day = <expr>' (or 'day = all')")
    if instant and (day == ALL_DAYS or key or runs):
        raise SpecError(
            "'-- incremental: instant = ...' needs a 'day = <expr>' model without 'key' or 'runs'"
        )
    spec = Spec(day, inputs, key, runs, never_null, instant)
    if not spec.keyed_rows and any(r.fold for r in inputs.values()):
        raise SpecError("'<input> by <expr>, fold <macro>' needs a 'day = all' model with a 'key'")
    if not spec.keyed_rows and any(r.diff is not None and r.at is None for r in inputs.values()):
        raise SpecError(
            "'<input> diff (<columns>)' needs 'at <expr>' unless the model is 'day = all' with a 'key'"
        )
    return spec


def partition_day(path: str) -> float:
    m = _PARTITION.search(path)
    return float(dt.date.fromisoformat(m.group(1)).toordinal()) if m else NEG


def _ordinal(value) -> float:
    """The UTC day of a DATE or TIMESTAMP(TZ) value, as a day ordinal."""
    if isinstance(value, dt.datetime):
        return float((value.astimezone(dt.UTC) if value.tzinfo else value).date().toordinal())
    return float(value.toordinal())


def instant_ordinal(value: dt.datetime | dt.date) -> float:
    """A TIMESTAMP(TZ) value as a fractional day ordinal, floored to the second (instant_literal() reads it back
    exactly; never later than the value); a DATE as its day."""
    if not isinstance(value, dt.datetime):
        return float(value.toordinal())
    t = (value.astimezone(dt.UTC) if value.tzinfo else value).replace(microsecond=0)
    return t.date().toordinal() + (t.hour * 3600 + t.minute * 60 + t.second) / 86_400


@dataclass(frozen=True)
class NewFiles:
    """What changed in one stream since the last build: the files added, and the least partition day of the files
    removed (POS: none). A source's dirt (`source_dirt`) is the least partition day of both."""

    added: tuple[str, ...]
    removed_day: float = POS

    def least_instant(self, con, column: str) -> float:
        """The earliest value of `column` among the added files' rows (fractional day, floored to the second), and
        no later than the removed files' days: where an `instant` model's rows can change. When an added file lacks
        the column, or a row's value is null (the lake dated it by another column), the added files count from
        their least partition day instead."""
        least = self.removed_day
        if not self.added:
            return least
        reader = parquet_reader(file_list(self.added))
        present = {r[0] for r in con.execute(f"describe select * from {reader}").fetchall()}
        lo, nulls = (
            con.execute(
                f'select min("{column}"), count(*) filter (where "{column}" is null) from {reader}'
            ).fetchone()
            if column in present
            else (None, 1)
        )
        if nulls:
            return min(least, *(partition_day(f) for f in self.added))
        return least if lo is None else min(least, instant_ordinal(lo))


def day_literal(day: float) -> str:
    return f"date '{dt.date.fromordinal(int(day)).isoformat()}'"


_UTC_DATE = re.compile(r"^\s*utc_date\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


def since_predicate(day_expr: str, day: float) -> str:
    """`(<day_expr>) >= <day>`: the rows of days >= `day`. For `utc_date(<column>)` the same condition on the column
    is added (`<column> >= <day> 00:00 UTC`, equivalent: utc_date floors the UTC instant), which DuckDB can test
    against each row group's min/max: a delete or a check of the last days then skips the older row groups."""
    pred = f"({day_expr}) >= {day_literal(day)}"
    if m := _UTC_DATE.match(day_expr):
        pred += f" and {m.group(1)} >= timestamptz '{dt.date.fromordinal(int(day)).isoformat()} 00:00:00+00'"
    return pred


def instant_literal(day: float) -> str:
    """The instant a fractional day ordinal stands for (`ahead N hours` moves a day by N / 24), to the second."""
    whole = int(day // 1)
    t = dt.datetime.fromordinal(whole) + dt.timedelta(seconds=round((day - whole) * 86_400))
    return f"timestamptz '{t.isoformat(sep=' ')}+00'"


def rows_since(spec: Spec, day: float) -> str:
    """The model's rows recomputed from `day`: those of days >= it, or with an `instant`, those at instants >= it
    (a fractional day: `ahead N hours`)."""
    if spec.instant:
        return f"({spec.instant}) >= {instant_literal(day)}"
    return since_predicate(spec.day, day)


_STRING = re.compile(r"'(?:[^']|'')*'")
_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\()?")
_NOT_COLUMNS = {
    "date",
    "timestamp",
    "timestamptz",
    "interval",
    "and",
    "or",
    "not",
    "is",
    "null",
    "true",
    "false",
}


def predicate_columns(predicate: str) -> set[str]:
    """The column names a recompute predicate (`rows_since`: `(utc_date(created_time)) >= date '...'`) reads: its
    words outside string literals that are neither called as functions nor SQL keywords."""
    text = _STRING.sub("''", predicate).lower()
    return {m.group(1) for m in _WORD.finditer(text) if not m.group(2) and m.group(1) not in _NOT_COLUMNS}


def file_rows(snap) -> list[tuple[str, str, int, int]]:
    """Each file of the snapshot: (stream, file, size, mtime_ns), in the snapshot's order; size and mtime -1 on a
    remote store."""
    local = "://" not in snap.lake_root
    rows = []
    for stream, files in snap.files.items():
        for f in files:
            st = os.stat(f) if local else None
            rows.append((stream, f, st.st_size if st else -1, st.st_mtime_ns if st else -1))
    return rows


def sql_key(sql_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(sql_dir).rglob("*")):
        if p.is_file() and p.suffix in (".sql", ".toml"):
            h.update(f"\n{p.relative_to(sql_dir)}\n".encode() + p.read_bytes())
    return h.hexdigest()


def variables_key(con) -> str:
    rows = con.execute("select name, cast(value as varchar) from duckdb_variables() order by name").fetchall()
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _state(con) -> tuple[str, str, str] | None:
    known = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'main' and table_name in (?, ?, ?)",
        [STATE_TABLE, FILES_TABLE, COLUMNS_TABLE],
    ).fetchone()[0]
    if known < 3:  # never built with recorded state (a failed query here would abort the build's transaction)
        return None
    return con.execute(f"select lake_root, sql_key, vars_key from {STATE_TABLE}").fetchone()


def source_types(con) -> dict[str, dict[str, str]]:
    """Per `src_` view, its columns' types in column order (the catalog read once: `source_columns`, `Probes`)."""
    types: dict[str, dict[str, str]] = {}
    for view, column, kind in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() where schema_name = 'main' "
        "and table_name like 'src\\_%' escape '\\' order by table_name, column_index"
    ).fetchall():
        types.setdefault(view, {})[column] = kind
    return types


def source_columns(types: dict[str, dict[str, str]], streams) -> dict[str, str]:
    """Per stream, the names and types of its `src_` view's columns (a file with a new column changes them)."""
    return {s: ", ".join(f"{c} {t}" for c, t in types.get(f"src_{s}", {}).items()) for s in streams}


def source_dirt(
    con,
    snap,
    sql_dir: Path,
    full_refresh: bool,
    columns: dict[str, str],
    rows: list[tuple[str, str, int, int]],
) -> tuple[dict, dict[str, NewFiles], bool]:
    """Per stream, the oldest day to recompute (NEG = everything, POS = unchanged) and its changed files, and
    whether everything is rebuilt (a first build, `full_refresh`, changed models, lake root or
    variables). A stream whose columns changed (a file with a new column) is rebuilt whole: its tables gain the
    column."""
    state = (snap.lake_root, sql_key(sql_dir), variables_key(con))
    if full_refresh or _state(con) != state:
        return {s: NEG for s in snap.files}, {}, True
    old = set(map(tuple, con.execute(f"select stream, file, size, mtime_ns from {FILES_TABLE}").fetchall()))
    new = set(rows)
    old_columns = dict(con.execute(f"select stream, columns from {COLUMNS_TABLE}").fetchall())
    dirt = {s: POS if old_columns.get(s) == columns.get(s) else NEG for s in snap.files}
    added: dict[str, list[str]] = {}
    removed: dict[str, float] = {}  # a file rewritten in place is both removed (its old rows) and added
    for stream, file, _, _ in new - old:
        if stream in dirt:
            dirt[stream] = min(dirt[stream], partition_day(file))
            added.setdefault(stream, []).append(file)
    for stream, file, _, _ in old - new:
        if stream in dirt:
            dirt[stream] = min(dirt[stream], partition_day(file))
            removed[stream] = min(removed.get(stream, POS), partition_day(file))
    changes = {
        s: NewFiles(tuple(sorted(added.get(s, ()))), removed.get(s, POS)) for s in added.keys() | removed
    }
    return dirt, changes, False


def record(con, snap, sql_dir: Path, rows, columns: dict[str, str]) -> None:
    """Remember the snapshot and the keys this build used (inside the build's transaction)."""
    con.execute(f"create or replace table {COLUMNS_TABLE} (stream varchar, columns varchar)")
    con.execute(
        f"insert into {COLUMNS_TABLE} select unnest(?), unnest(?)", [list(columns), list(columns.values())]
    )
    con.execute(
        f"create or replace table {FILES_TABLE} (stream varchar, file varchar, size bigint, mtime_ns bigint)"
    )
    if rows:
        cols = list(zip(*rows, strict=True))
        con.execute(
            f"insert into {FILES_TABLE} select unnest(?), unnest(?), unnest(?), unnest(?)",
            [list(c) for c in cols],
        )
    con.execute(
        f"create or replace table {STATE_TABLE} as select ?::varchar as lake_root, ?::varchar as sql_key, "
        "?::varchar as vars_key",
        [snap.lake_root, sql_key(sql_dir), variables_key(con)],
    )


def old_table(name: str) -> str:
    """Where the runner keeps the previous table of a model some model reads with `diff`, while it is rebuilt."""
    return f"_inc_old_{name}"


def plan(
    con,
    spec: Spec | None,
    deps: set[str],
    dirt: dict[str, float],
    olds: set[str] = frozenset(),
    model: str = "",
    new_files: dict[str, NewFiles] | None = None,
    probes: Probes | None = None,
    carries: Carries | None = None,
) -> float:
    """The model's dirty day: POS keep, NEG rebuild whole, else recompute days >= it. `olds`: the inputs whose
    previous table is kept aside (`old_table`) for a `diff`; `model`: the model's table (for `runs`); `new_files`:
    the changed files of each source view, from which a model with an `instant` (a column of its source) takes
    the least new instant instead of the partition day; `probes`: the build's (else asked here); `carries`: the
    build's kept carry tables (a `held` bound reads the day's, `_held_day`)."""
    if all(dirt.get(d, NEG) == POS for d in deps):
        return POS
    if spec is None:
        return NEG
    probes = probes or Probes(con, {}, set())
    x = POS
    for d in deps:
        v, rule = dirt.get(d, NEG), spec.inputs[d]
        if v == POS:
            continue
        if rule.diff is not None:
            v = _diff_day(con, d, rule, spec.keyed_rows) if d in olds else NEG
        elif spec.keyed_rows and rule.day is None:
            v = NEG  # a changed input read whole names no key: every key may have changed
        elif spec.all_rows and rule.day is None and rule.ahead != REBUILD:
            continue  # read whole, and every row is recomputed anyway
        else:
            if spec.instant and v != NEG and d in (new_files or {}):
                v = new_files[d].least_instant(con, spec.instant)
            v -= rule.ahead
            if rule.held and v not in (NEG, POS):
                v = min(v, _held_day(con, d, rule, v, probes, carries))
        x = min(x, v)
    if spec.runs and x not in (NEG, POS):  # a run may grow from the day after its last row on
        last = con.execute(
            f"select min(_last) from (select max({spec.day}) as _last from {model} group by {spec.runs})"
        ).fetchone()[0]
        if last is not None:
            x = min(x, _ordinal(last) + 1)
    return LAST_DAY if x == POS and spec.all_rows and not spec.keyed_rows else x


def _diff_day(con, d: str, rule: InputRule, keyed: bool = False) -> float:
    """The least `at` over the rows of `d` whose `diff` columns differ between its previous and its new table (both
    sides): POS when none differ, NEG when such a row has no day. Without a kept previous table (`d` was recomputed
    by days, not rebuilt): NEG. `keyed` (a `day = all` model with a `key`): LAST_DAY when rows differ (their keys
    are recomputed, whatever their day)."""
    if not _kept_aside(con, d):
        return NEG
    cols, at = rule.diff, rule.at
    if keyed:
        n = con.execute(f"select count(*) from ({_diff_rows(d, cols)})").fetchone()[0]
        return POS if n == 0 else LAST_DAY
    n, nulls, least = con.execute(
        f"select count(*), count(*) filter (where ({at}) is null), min({at}) from ({_diff_rows(d, cols)})"
    ).fetchone()
    return POS if n == 0 else NEG if nulls else _ordinal(least)


def _kept_aside(con, d: str) -> bool:
    """Whether `d`'s previous table is kept aside (`old_table`): it was rebuilt whole by this build."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where table_name = ? and schema_name = 'main'",
            [old_table(d)],
        ).fetchone()[0]
    )


def _diff_rows(d: str, cols: str) -> str:
    """The rows of `d`'s `cols` that differ between its previous (`old_table`) and its new table, either side."""
    return differing_rows(old_table(d), d, cols)


def differing_rows(a: str, b: str, cols: str = "*") -> str:
    """The distinct rows of `cols` that tables `a` and `b` hold a different number of times (either side), each with
    its count in one of them (`_inc_n`): none exactly when the two are equal as multisets. A set EXCEPT of the
    counted rows (null equal to null, as in every set operation): DuckDB's EXCEPT ALL numbers each row with a window,
    2-3x the cost on tables of a few thousand rows."""

    return (
        f"with _inc_a as materialized (select {cols}, count(*) as _inc_n from {a} group by all), "
        f"_inc_b as materialized (select {cols}, count(*) as _inc_n from {b} group by all) "
        "(select * from _inc_a except select * from _inc_b) union all (select * from _inc_b except select * from _inc_a)"
    )


def _held_day(
    con, d: str, rule: InputRule, day: float, probes: Probes, carries: Carries | None = None
) -> float:
    """The day of the earliest carried row (each group's latest before `day`) among the carry groups that have rows
    from `day` on: what such a row holds (until the next row of its group) changed. A fractional `day` (an `instant`
    input's dirt) of an input whose `by` is a timestamp counts from that instant, not its day: a pull at 03:30 moves
    what the quotes of the pull before hold, not those of the day before. Each group's latest row before `day` comes
    from `_last_instants` (from the day's kept table, not a GROUP BY over the input's whole history every pull)."""
    timed = day != int(day) and (probes.type_of(d, rule.day) or "").startswith("TIMESTAMP")
    src = f'"{probes.db}".main.{d}'  # as a recompute names it (its temp view shadows `d`): the same tables
    last = _last_instants(con, d, src, rule, day, not timed, "true", carries)
    parts = split_top(rule.carry)
    groups = ", ".join(f"{p} as _inc_g{i}" for i, p in enumerate(parts))
    same = " and ".join(f"_l._inc_g{i} is not distinct from _r._inc_g{i}" for i in range(len(parts)))
    least = probes.ask(
        f"select min(_l._inc_t) from {last} as _l semi join (select distinct {groups} from {d} "
        f"where ({rule.day}) >= {start_literal(day, not timed)}) as _r on {same}"
    )
    return POS if least is None else _ordinal(least)


def start_literal(start: float, whole_day: bool) -> str:
    """A window's start as a SQL literal: the day `start` (floored), or the instant it stands for."""
    return day_literal(start) if whole_day else instant_literal(start)


CARRIED = "_inc_last_"  # the prefix of the temp tables of each carry group's last instant (`_last_instants`)


def _last_instants(
    con,
    d: str,
    src: str,
    rule: InputRule,
    start: float,
    whole_day: bool,
    keyed: str,
    carries: Carries | None,
) -> str:
    """The table of each carry group's last instant (`_inc_t`) in `src` (input `d`) before `start` (a day, or an
    instant when not `whole_day`), over the rows where `keyed`; made once and named after the input, groups, `day`
    and start, so the models of a build reading one input with the same carry from the same start share it. Over
    every key with the build's `carries`: a day's table is kept for that day's next builds (`carries.py`), made from
    an earlier day's kept table and the rows since that day (rolled forward), or without one by a GROUP BY over the
    group and `day` columns of every older row; an instant's comes from its day's table and the rows since that
    midnight (a 15-minute pull's windows start at instants: without the day's table each would group the
    input's whole history). Otherwise a temp table grouped from the rows (`drop_carried` drops the shared ones after
    the models; a `keyed` one is the caller's to drop)."""
    if whole_day:
        start = float(math.floor(start))
    lo = start_literal(start, whole_day)
    shared = keyed == "true"  # else restricted to the recomputed keys of this model
    family = hashlib.sha256(f"{src}\n{rule.carry}\n{rule.day}".encode()).hexdigest()[:12]
    digest = hashlib.sha256(f"{src}\n{rule.carry}\n{rule.day}\n{lo}".encode()).hexdigest()[:12]
    kept = shared and whole_day and carries is not None
    last = carries.table_name(d, digest) if kept else f"{CARRIED}{d}_{digest}{'' if shared else '_keyed'}"
    if kept and carries.find(last, d, start):
        return last
    parts = split_top(rule.carry)
    # grouped by the carry expressions themselves, not a row() of them (hashing a struct costs ~3x per row)
    groups = ", ".join(f"{p} as _inc_g{i}" for i, p in enumerate(parts))
    if shared and not whole_day and carries is not None:  # the day's table, and the rows since midnight
        base: tuple[str, float] | None = (
            _last_instants(con, d, src, rule, math.floor(start), True, keyed, carries),
            float(math.floor(start)),
        )
    else:  # rolled forward from an earlier start's table (carries.py), if one is kept
        base = carries.earlier(family, d, start) if kept else None
    if base:
        rows = (
            f"select * exclude (_inc_t), max(_inc_t) as _inc_t from (select * from {base[0]} union all "
            f"select {groups}, {rule.day} as _inc_t from {src} "
            f"where {since_predicate(rule.day, base[1])} and ({rule.day}) < {lo}) group by all"
        )
    else:
        rows = f"select {groups}, max({rule.day}) as _inc_t from {src} where ({rule.day}) < {lo} and {keyed} group by all"
    make = f"create or replace {'' if kept else 'temp '}table {last} as {rows}"
    if kept:
        con.execute(make)
        carries.made(last, d, start, family)
        return last
    if not (
        shared
        and con.execute(
            "select count(*) from duckdb_tables() where temporary and table_name = ?", [last]
        ).fetchone()[0]
    ):
        con.execute(make)
    return f"temp.{last}"


def _carried(
    con,
    d: str,
    src: str,
    rule: InputRule,
    start: float,
    whole_day: bool,
    keyed: str,
    carries: Carries | None,
) -> tuple[str, str | None]:
    """A query of the rows of `src` (input `d`) at each carry group's last instant before `start` (what an ASOF join
    at the window's start finds), and the temp table to drop once the model is recomputed (None: kept for the
    build's other models or its next builds). The last instants come from `_last_instants`; the rows are then read
    only where they can be: the groups last seen within the day before the start from that day's rows, the others
    (markets quiet for longer) from their oldest last instant on. Exact: a group's rows at its last instant are in
    exactly one of the two ranges."""
    table = _last_instants(con, d, src, rule, start, whole_day, keyed, carries)
    lo = start_literal(start, whole_day)
    parts = split_top(rule.carry)
    same = " and ".join(f"({p}) is not distinct from _l._inc_g{i}" for i, p in enumerate(parts))
    recent = f"({lo} - interval 1 day)"
    oldest = con.execute(f"select min(_inc_t) filter (where _inc_t < {recent}) from {table}").fetchone()[0]

    def rows(where: str, groups: str) -> str:
        return (
            f"select * from {src} semi join (select * from {table} where {groups}) as _l "
            f"on {same} and ({rule.day}) = _l._inc_t where {where} and {keyed}"
        )

    within = rows(f"({rule.day}) >= {recent} and ({rule.day}) < {lo}", f"_inc_t >= {recent}")
    own = table.removeprefix("temp.") if keyed != "true" else None
    if oldest is None:
        return within, own
    older = f"({rule.day}) >= {_literal(oldest)} and ({rule.day}) < {recent}"
    return f"{within} union all {rows(older, f'_inc_t < {recent}')}", own


def _folded(con, d: str, src: str, rule: InputRule, lo_day: float, carries: Carries | None) -> str:
    """The table of `src`'s (input `d`'s) rows before the whole day `lo_day` (outside a recompute's window from it:
    a row without a day too) folded by the input's `fold` table macro: every key, so one table serves the day's next
    builds (`carries.py`, as the carry tables do), rolled forward from an earlier start's table when one is kept
    (the macro folds its own rows: they have the input's columns); without `carries`, a temp table `drop_carried`
    drops. The macro's rows must have the input's columns (inserted by name, cast to the input's types)."""

    def since(day: float) -> str:  # the rows of days >= `day` (a row without a day is before every day)
        return f"coalesce({since_predicate(rule.day, day)}, false)"

    family = hashlib.sha256(f"{src}\n{rule.fold}\n{rule.day}".encode()).hexdigest()[:12]
    digest = hashlib.sha256(f"{family}\n{lo_day}".encode()).hexdigest()[:12]
    kept = carries is not None
    name = carries.table_name(d, digest) if kept else f"{CARRIED}{d}_{digest}_fold"
    if kept and carries.find(name, d, lo_day):
        return name
    base = carries.earlier(family, d, lo_day) if kept else None
    rows = f"select * from {src} where not {since(lo_day)}"
    if base:  # the earlier start's folded rows, and the rows since that start
        rows = (
            f"select * from {base[0]} union all by name "
            f"select * from {src} where {since(base[1])} and not {since(lo_day)}"
        )
    con.execute(f"create or replace temp view _inc_fold_rows as {rows}")
    try:
        folded = f"select * from {rule.fold}('_inc_fold_rows')"
        got = {r[0] for r in con.execute(f"{folded} limit 0").description}
        want = {r[0] for r in con.execute(f"select * from {src} limit 0").description}
        if got != want:
            raise ValueError(
                f"fold {rule.fold} of {d}: its rows must have {d}'s columns "
                f"(missing {sorted(want - got)}, unknown {sorted(got - want)})"
            )
        con.execute(f"create or replace {'' if kept else 'temp '}table {name} as select * from {src} limit 0")
        con.execute(f"insert into {name} by name {folded}")
    finally:
        con.execute("drop view if exists temp._inc_fold_rows")
    if kept:
        carries.made(name, d, lo_day, family)
        return name
    return f"temp.{name}"


def drop_carried(con) -> None:
    """Drop the carry tables `_carried` kept for the build's models (after the last model)."""
    names = con.execute(
        "select table_name from duckdb_tables() where temporary and starts_with(table_name, ?)", [CARRIED]
    ).fetchall()
    for (name,) in names:
        con.execute(f"drop table temp.{name}")


def split_top(text: str) -> list[str]:
    """`text` split at the commas outside parentheses, each part stripped."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [*parts, cur.strip()]


def _literal(value) -> str:
    """A DATE or TIMESTAMP(TZ) value as a SQL literal of its type."""
    if isinstance(value, dt.datetime):
        kind = "timestamptz" if value.tzinfo else "timestamp"
        return f"{kind} '{value.isoformat()}'"
    return f"date '{value.isoformat()}'"


class Probes:
    """What recomputes ask about their inputs, each asked once a build: the database's name and the type of an
    expression over an input's rows (None when it has none). A source view answers for its plain columns from the
    catalog read once (`source_types`; a question to the view itself opens a Parquet file: ~8 ms); a model's table is
    final once built, so one answer serves every model reading it."""

    def __init__(self, con, source_types: dict[str, dict[str, str]], empty: set[str]):
        self._con = con
        self.db = con.execute("select current_database()").fetchone()[0]
        # src_ view -> column -> type; None: the stream has no file (an empty view)
        self._sources = {v: None if v in empty else cols for v, cols in source_types.items()}
        self._types: dict[tuple[str, str], str | None] = {}
        self._answers: dict[str, object] = {}

    def source_column(self, d: str, column: str) -> bool:
        """Whether `d` is a `src_` view with a file and a column named `column`."""
        return column in (self._sources.get(d) or {})

    def ask(self, query: str):
        """The first value of `query`, a question about inputs already built (asked again by another model: the
        same answer)."""
        if query not in self._answers:
            self._answers[query] = self._con.execute(query).fetchone()[0]
        return self._answers[query]

    def type_of(self, d: str, expr: str) -> str | None:
        """The type of `expr` over the rows of input `d`; None when it has no row."""
        if d in self._sources and (self._sources[d] is None or expr in self._sources[d]):
            return self._sources[d] and self._sources[d][expr]
        if (d, expr) not in self._types:
            row = self._con.execute(f"select typeof({expr}) from {d} limit 1").fetchone()
            self._types[d, expr] = row and row[0]
        return self._types[d, expr]


def _window(
    d: str, spec: Spec, rule: InputRule, day: float, kind: str, source: bool
) -> tuple[str, float, bool]:
    """The rows of input `d` a recompute from `day` reads, and where they start (the instant its `carry` rows stand
    at): of days >= day - before, or for a model with an `instant` and a TIMESTAMP `by` (`kind`: its type), at
    instants >= it (what `instant` promises the model needs; a DATE compared with a later instant of its own day
    would lose that day). A lake stream (`source`: a `src_` view with the `instant` column) read by its partition
    day by such a model, without a `carry`: its rows of those days at instants >= day - before too, or without one
    (Parquet row groups outside are skipped by their min/max). The start is returned as a day ordinal (fractional:
    an instant) and whether it is a whole day (`start_literal`)."""
    if spec.instant and kind.startswith("TIMESTAMP"):
        return f"({rule.day}) >= {instant_literal(day - rule.before)}", day - rule.before, False
    window = since_predicate(rule.day, day - rule.before)
    if spec.instant and source and not rule.carry:  # a carry stands at the window's start: a whole day here
        lo = instant_literal(day - rule.before)
        window += f" and (({spec.instant}) >= {lo} or ({spec.instant}) is null)"
    return window, float(int(day - rule.before)), True


def recompute(
    con, model, spec: Spec, deps: set[str], day: float, probes: Probes, carries: Carries | None = None
) -> tuple[int, bool]:
    """Recompute the model's rows of days >= `day` (every row: `day = all`) from its SQL over the inputs' rows that
    can matter (temp views shadow the filtered inputs; with a `key`, only the rows of the keys recomputed); a large
    window writes only the rows that changed (`replace_rows`). Returns the rows of the table, or -1 when
    rows without a day showed up (the caller rebuilds the model whole), and whether any row may have changed (False
    only when a large window came out as it was)."""
    db = probes.db
    x = day_literal(day)
    keyed = f"{spec.key} in (select k from temp._inc_keys)" if spec.key else "true"
    mine = keyed if spec.keyed_rows else "true" if spec.all_rows else f"({rows_since(spec, day)})"
    shadows, temps = [], []
    try:
        windows, starts = {}, {}
        for d in sorted(deps):
            rule = spec.inputs[d]
            kind = None if rule.day is None else probes.type_of(d, rule.day)
            if kind is None:
                continue  # read whole (an empty src_ view may lack the `date` column)
            source = bool(spec.instant) and probes.source_column(d, spec.instant)
            window, start, whole_day = _window(d, spec, rule, day, kind, source)
            starts[d] = (start, whole_day)
            windows[d] = f"({window})"
        if (
            spec.keyed_rows
        ):  # the keys of the windows' rows and of the `diff` inputs' changed rows, either side
            parts = [f"select {spec.key} as k from {d} where {w}" for d, w in windows.items()]
            parts += [
                f"select {spec.key} from ({_diff_rows(d, r.diff)})"
                for d, r in spec.inputs.items()
                if r.diff
                and d in deps
                and _kept_aside(con, d)  # not kept aside: unchanged (else plan said NEG)
            ]
            con.execute(
                "create or replace temp table _inc_keys as "
                + (" union ".join(parts) if parts else "select null as k limit 0")
            )
        elif (
            spec.key
        ):  # the keys of the rows recomputed: old rows, `diff` inputs' rows placed there, windows' rows
            parts = [f"select {spec.key} as k from {model.name} where {mine}"]
            parts += [
                f"select {spec.key} from {d} where ({r.at}) >= {x}" + (" or true" if spec.all_rows else "")
                for d, r in spec.inputs.items()
                if r.diff is not None
            ]
            parts += [f"select {spec.key} from {d} where {w}" for d, w in windows.items()]
            con.execute("create or replace temp table _inc_keys as " + " union ".join(parts))
        for d in sorted(deps):
            rule = spec.inputs[d]
            src = f'"{db}".main.{d}'
            if spec.keyed_rows and rule.fold and d in windows and day < LAST_DAY and starts[d][1]:
                # each recomputed key's rows before the window folded (kept for the day's next builds), its rows since
                folded = _folded(con, d, src, rule, starts[d][0], carries)
                body = f"select * from {folded} where {keyed} union all select * from {src} where {windows[d]} and {keyed}"
            elif d not in windows or spec.keyed_rows:  # keyed rows: each recomputed key's input rows, whole
                if not spec.key:
                    continue
                body = f"select * from {src} where {keyed}"
            else:
                body = f"select * from {src} where {windows[d]} and {keyed}"
                if (
                    rule.carry
                ):  # and what stands at the window's start: each group's rows at its last instant before
                    carried, own = _carried(con, d, src, rule, *starts[d], keyed, carries)
                    body += " union all " + carried
                    if own:
                        temps.append(own)
            con.execute(f"create or replace temp view {d} as {body}")
            shadows.append(d)
        # a day that can be null: the rows of days >= X and those without a day (the caller then rebuilds the model
        # whole); `never null`: a plain filter on the day, which DuckDB pushes into the model (through its joins on
        # the day, down to the inputs), so only the recomputed days are computed
        keep = mine if spec.never_null and not spec.all_rows else f"coalesce({mine}, true)"
        new_rows = f"select * from (\n{model.sql}\n) as _m where {keep}"
        changed = replace_rows(con, model.name, mine, new_rows)
    finally:
        for d in shadows:
            con.execute(f"drop view if exists temp.{d}")
        for t in temps:
            con.execute(f"drop table if exists temp.{t}")
        con.execute("drop table if exists temp._inc_keys")
    if spec.keyed_rows:  # a row without a key is never deleted: the model is rebuilt whole
        nulls, total = _count_where(con, model.name, f"({spec.key}) is null")
        return (-1 if nulls else total), changed
    if spec.all_rows:
        return con.execute(f"select count(*) from {model.name}").fetchone()[0], changed
    nulls, total = _count_where(con, model.name, null_day(spec.day))
    return (-1 if nulls else total), changed


def _count_where(con, table: str, condition: str) -> tuple[int, int]:
    """The rows of `table` where `condition` holds, and all its rows. Two counts, not one scan with a `filter`: a
    count of `<column> is null` skips every row group whose statistics say it has no null (0.5 ms instead of
    18 ms over 10M trades), and a plain count is the table's own."""
    return con.execute(
        f"select (select count(*) from {table} where {condition}), (select count(*) from {table})"
    ).fetchone()


REWRITE_ROWS = 10_000  # a recompute replacing this many rows or more writes only the rows that changed


def replace_rows(con, table: str, mine: str, new_rows: str) -> bool:
    """Make the rows of `table` where `mine` (the recomputed rows' old version) the rows of the query `new_rows`
    (their new version). Fewer than `REWRITE_ROWS` old rows: deleted, and the new ones inserted. More: only what
    differs is written (`_replace_changed_rows`). Returns whether any row may have changed."""
    if con.execute(f"select count(*) from {table} where {mine}").fetchone()[0] < REWRITE_ROWS:
        con.execute(f"delete from {table} where {mine}")
        con.execute(f"insert into {table} {new_rows}")
        return True
    try:
        con.execute(f"create or replace temp table _inc_new as {new_rows}")
        return _replace_changed_rows(con, table, mine)
    finally:
        for t in ("_inc_new", "_inc_changed"):
            con.execute(f"drop table if exists temp.{t}")


def _replace_changed_rows(con, table: str, mine: str) -> bool:
    """Make the rows of `table` where `mine` (the recomputed rows' old version) the rows of `temp._inc_new` (their
    new version), writing only what differs: every row of a value the two hold a different number of times is
    deleted, and the new version's rows of those values inserted (null-safe, as multisets). A recompute rewrites
    its whole window (an hour of trades); most of it comes out as it was, and deleting and inserting it again can
    make DuckDB rewrite the table's last row groups at the checkpoint (0.4-0.6 s a pull at 10M trades in one of two
    warehouses built the same way), and counts towards the commit's WAL (over 16 MB, the commit checkpoints). The
    comparison costs 10-40 ms, more than a small delete: used when the window holds `REWRITE_ROWS` rows or more.
    Returns whether any row changed."""
    cols = [r[0] for r in con.execute(f"select * from {table} limit 0").description]
    same = " and ".join(f"a.{quote_ident(c)} is not distinct from b.{quote_ident(c)}" for c in cols)
    old = f"(select * from {table} where {mine})"
    con.execute(
        "create or replace temp table _inc_changed as select * exclude (_inc_n) from "
        f"({differing_rows(old, 'temp._inc_new')})"
    )
    if con.execute("select count(*) from temp._inc_changed").fetchone()[0] == 0:
        return False
    con.execute(
        f"delete from {table} where rowid in (select a.rowid from (select rowid, * from {table} where {mine}) as a "
        f"semi join temp._inc_changed as b on {same})"
    )
    con.execute(
        f"insert into {table} select a.* from temp._inc_new as a semi join temp._inc_changed as b on {same}"
    )
    return True


def null_day(day_expr: str) -> str:
    """A test that a row's day is null; for `utc_date(<column>)` the column's own (null exactly when the day is,
    and cheaper than computing every row's day)."""
    m = _UTC_DATE.match(day_expr)
    return f"{m.group(1)} is null" if m else f"({day_expr}) is null"
