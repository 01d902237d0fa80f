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
  X = min over inputs of (input's dirty day - its `ahead`); rows with day >= X are deleted and recomputed;
- otherwise rebuilt whole (-inf for the models that read it).

Declaring a model incremental (lines of its header comment; every table or view it reads must be declared):
    -- incremental: day = <expr>                       the UTC day (DATE) of an output row, from its columns
    -- incremental: <input> by <expr>[, ahead N][, before N][, carry (<group exprs>)]
    -- incremental: <input> whole[, ahead N]
    -- incremental: <input> rebuild
`by <expr>`: the input's day (DATE) of a row; an output row of day d reads only input rows of days
[d - before, d + ahead], so recomputing from X reads the input's rows of days >= X - before (for `src_` views:
`date` = the lake's partition, whose files are then the only ones read). `whole`: an output row of day d may read
any input row of a day <= d + ahead (an ASOF lookback), so the input is read whole. `by <ts>, carry (<groups>)` is
the cheaper exact form of an ASOF lookback: recomputing from X reads the rows from X - before on plus, per group,
the rows at the group's latest `<ts>` before that (what an ASOF join at the window's start finds). `rebuild`: no such bound (a
`lead()` reaching the next row whenever it comes): a change of that input rebuilds the model whole. Output rows whose day is null
cannot be placed: a model with such rows is rebuilt whole.
These declarations are promises about the SQL; `tests/warehouse/test_incremental.py` checks them by comparing
every column of every model after random top-ups (late rows, duplicates, compaction) with a full rebuild.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

NEG = float("-inf")  # dirty from the beginning: rebuilt whole
POS = float("inf")  # unchanged
REBUILD = float("inf")  # `ahead` of an input whose every change rebuilds the model whole
FILES_TABLE = "_kalshi_build_files"
STATE_TABLE = "_kalshi_build_state"
COLUMNS_TABLE = "_kalshi_build_columns"
_LINE = re.compile(r"^--\s*incremental:\s*(.+?)\s*$", re.M)
_OPTION = re.compile(r",\s*(ahead|before)\s+(\d+)\s*$")
_CARRY = re.compile(r",\s*carry\s*\((.+)\)\s*$")
_PARTITION = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


class SpecError(ValueError):
    """A malformed `-- incremental:` header."""


@dataclass(frozen=True)
class InputRule:
    day: str | None  # the input's day expression; None = read whole
    ahead: float = 0  # REBUILD: any change of the input rebuilds the model whole
    before: int = 0
    carry: str | None = None  # also read each group's rows at its latest `day` value before the window


@dataclass(frozen=True)
class Spec:
    day: str
    inputs: dict[str, InputRule]


def parse_spec(sql: str) -> Spec | None:
    """The `-- incremental:` declaration of a model's SQL, or None when it has none."""
    lines = _LINE.findall(sql)
    if not lines:
        return None
    day, inputs = None, {}
    for line in lines:
        if line.startswith("day ="):
            day = line.removeprefix("day =").strip()
            continue
        opts: dict[str, int] = {}
        carry = None
        while (m := _OPTION.search(line)) or (c := _CARRY.search(line)):
            if m:
                opts[m.group(1)] = int(m.group(2))
                line = line[: m.start()]
            else:
                carry = c.group(1).strip()
                line = line[: c.start()]
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest == "whole":
            rule = InputRule(None, opts.get("ahead", 0))
        elif rest == "rebuild":
            rule = InputRule(None, REBUILD)
        elif rest.startswith("by "):
            rule = InputRule(rest[3:].strip(), opts.get("ahead", 0), opts.get("before", 0), carry)
        else:
            raise SpecError(
                f"cannot read '-- incremental: {line}': expected '<input> by <expr>' or '<input> whole'"
            )
        inputs[name] = rule
    if not day:
        raise SpecError("an incremental model needs '-- incremental: day = <expr>'")
    return Spec(day, inputs)


def partition_day(path: str) -> float:
    m = _PARTITION.search(path)
    return float(dt.date.fromisoformat(m.group(1)).toordinal()) if m else NEG


def day_literal(day: float) -> str:
    return f"date '{dt.date.fromordinal(int(day)).isoformat()}'"


def _file_rows(snap) -> list[tuple[str, str, int, int]]:
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


def source_columns(con, streams) -> dict[str, str]:
    """Per stream, the names and types of its `src_` view's columns (a file with a new column changes them)."""
    got = dict(
        con.execute(
            "select table_name, string_agg(column_name || ' ' || data_type, ', ' order by column_index) "
            "from duckdb_columns() where schema_name = 'main' and table_name like 'src\\_%' escape '\\' "
            "group by table_name"
        ).fetchall()
    )
    return {s: got.get(f"src_{s}", "") for s in streams}


def source_dirt(con, snap, sql_dir: Path, full_refresh: bool, columns: dict[str, str]) -> tuple[dict, list]:
    """Per stream, the oldest day to recompute (NEG = everything, POS = unchanged), and the rows to record. A
    stream whose columns changed (a file with a new column) is rebuilt whole: its tables gain the column."""
    rows = _file_rows(snap)
    state = (snap.lake_root, sql_key(sql_dir), variables_key(con))
    if full_refresh or _state(con) != state:
        return {s: NEG for s in snap.files}, rows
    old = set(map(tuple, con.execute(f"select stream, file, size, mtime_ns from {FILES_TABLE}").fetchall()))
    changed = old.symmetric_difference(rows)
    old_columns = dict(con.execute(f"select stream, columns from {COLUMNS_TABLE}").fetchall())
    dirt = {s: POS if old_columns.get(s) == columns.get(s) else NEG for s in snap.files}
    for stream, file, _, _ in changed:
        if stream in dirt:
            dirt[stream] = min(dirt[stream], partition_day(file))
    return dirt, rows


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


def plan(spec: Spec | None, deps: set[str], dirt: dict[str, float]) -> float:
    """The model's dirty day: POS keep, NEG rebuild whole, else recompute days >= it."""
    if all(dirt.get(d, NEG) == POS for d in deps):
        return POS
    if spec is None:
        return NEG
    return min(dirt.get(d, NEG) - spec.inputs[d].ahead if dirt.get(d, NEG) != POS else POS for d in deps)


def recompute(con, model, spec: Spec, deps: set[str], day: float) -> int:
    """Delete the model's rows of days >= `day` and insert them again from its SQL over the inputs' rows that can
    matter (temp views shadow the filtered inputs). Returns the rows of the table, or -1 when rows without a day
    showed up (the caller rebuilds the model whole)."""
    db = con.execute("select current_database()").fetchone()[0]
    shadows = []
    try:
        for d in sorted(deps):
            rule = spec.inputs[d]
            if (
                rule.day is None
                or con.execute(f"select count(*) from (select 1 from {d} limit 1)").fetchone()[0] == 0
            ):
                continue  # read whole (an empty src_ view may lack the `date` column)
            lo = day_literal(day - rule.before)
            src = f'"{db}".main.{d}'
            body = f"select * from {src} where ({rule.day}) >= {lo}"
            if (
                rule.carry
            ):  # and what stands at the window's start: each group's rows at its last instant before
                body += (
                    f" union all select * exclude (_inc_last) from (select *, max({rule.day}) over (partition by "
                    f"{rule.carry}) as _inc_last from {src} where ({rule.day}) < {lo}) where ({rule.day}) = _inc_last"
                )
            con.execute(f"create or replace temp view {d} as {body}")
            shadows.append(d)
        x = day_literal(day)
        con.execute(f"delete from {model.name} where ({spec.day}) >= {x}")
        con.execute(
            f"insert into {model.name} select * from (\n{model.sql}\n) as _m where coalesce(({spec.day}) >= {x}, true)"
        )
    finally:
        for d in shadows:
            con.execute(f"drop view if exists temp.{d}")
    nulls, total = con.execute(
        f"select count(*) filter (where ({spec.day}) is null), count(*) from {model.name}"
    ).fetchone()
    return -1 if nulls else total
