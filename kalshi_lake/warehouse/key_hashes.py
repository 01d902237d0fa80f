"""Key hashes: what lets a top-up's uniqueness check of a large table read 8-byte hashes instead of every key.

A standard uniqueness check (`runner.unique_check`) of a model recomputed from a day runs over the keys of the
recomputed rows (`runner.unique_check_sql`), but when the model's day is not a function of its key
(`runner.day_in_key`: one row per `trade_id`, recomputed by `created_time`) a duplicate can pair a recomputed row
with an old row anywhere in the table, so the check reads every key: 0.15-0.2 s a check at 10M trades, the two
largest items of a top-up's checks.

For each such model and check the build keeps a companion table `_kalshi_keys_<model>_<tag>`: per row of the model,
`hash(<key exprs>)` (`_key_hash`, UBIGINT) and the columns of the model's recompute predicate (`created_time`).
It mirrors the model's rows as a multiset, in the build's own transaction:
- the model rebuilt whole, or the companion not written by the previous build (see below): written whole from it;
- the model recomputed from a day: its rows matching the recompute predicate (`ModelResult.rows_where`, true of
  every row the build deleted or inserted; every other row is as the last build left it) become the model's rows
  matching it (`incremental.replace_rows`: of a large window only the values that differ are written), so the rows
  not matching mirror the model's untouched rows;
- the model kept: left as it is.
`<tag>` digests the key, the predicate's columns, the DuckDB version (`hash()` is DuckDB's) and `FORMAT`: another
key or another version is another table, and tables no model needs any more are dropped. `_kalshi_build_keys` lists
the companions, stamped as `stamped.py` says: a companion another build recorded (a kalshi-lake without key hashes
wrote the warehouse since) is not used by the checks and is written whole by the next build.

The check (`duplicate_hashes`): a duplicate of a recomputed row's key has that key's hash, so when no hash of a
recomputed key appears twice in the companion, no recomputed key appears twice in the model, and the uniqueness
part of the check has nothing to find (its null-key part still runs, over the recomputed rows). When some hash does
appear twice (a duplicate, or two keys with one hash), the exact check runs as before. A full check of a model this
build rebuilt whole (whose companion it has just written whole from it) groups the companion's hashes the same way
(at 10M trades 0.55 s against 1.05 s grouping the `trade_id`s; `find` names the companion from its columns); of any
other model it reads the model's keys: a table another build, or a user, may have changed is not read by its hashes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import stamped
from .incremental import predicate_columns, replace_rows

PREFIX = "_kalshi_keys_"
RECORD_TABLE = "_kalshi_build_keys"
FORMAT = "1"  # the companion's layout; a change makes every companion another table (rewritten whole)
HASH = "_key_hash"


@dataclass(frozen=True)
class KeyHashes:
    """The companion of `model`'s uniqueness check over `keys`, whose recompute predicate reads `columns`."""

    model: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def table(self) -> str:
        import duckdb

        tag = "\0".join([FORMAT, duckdb.__version__, *self.keys, "\0", *self.columns])
        return f"{PREFIX}{self.model}_{hashlib.sha256(tag.encode()).hexdigest()[:12]}"

    def rows_sql(self, where: str = "true") -> str:
        """The companion's rows for the model's rows matching `where`."""
        cols = ", ".join(self.columns)
        return f"select {cols}, hash({', '.join(self.keys)}) as {HASH} from {self.model} where {where}"


def for_check(model: str, keys: list[str], predicate: str) -> KeyHashes:
    """The companion a uniqueness check of `model` over `keys` reads when the model was recomputed where
    `predicate` holds."""
    return KeyHashes(model, tuple(keys), tuple(sorted(predicate_columns(predicate))))


def write(con, kh: KeyHashes, how: str, rows_where: str | None, trusted: bool) -> None:
    """Bring `kh` in line with its model after the model's build step (`how`: kept | incremental | full;
    `rows_where`: the recomputed rows' predicate). `trusted`: the companion exists and the previous build wrote it
    (else it is written whole)."""
    if trusted and how == "kept":
        return
    if trusted and how == "incremental" and rows_where is not None:
        replace_rows(con, kh.table, rows_where, kh.rows_sql(rows_where))
        return
    con.execute(f"create or replace table {kh.table} as {kh.rows_sql()}")


def written_by_last_build(con, existing: set[str]) -> set[str]:
    """The companions the last recorded build wrote (`stamped.last_build_rows`; `existing`: the main schema's
    tables)."""
    return {r[0] for r in stamped.last_build_rows(con, RECORD_TABLE, existing, "r.companion")}


def record(con, tables: set[str], existing: set[str]) -> None:
    """Drop the companions (of `existing`, the tables of the main schema) no model needs any more and record
    `tables` as written by this build."""
    stale = {t for t in existing if t.startswith(PREFIX) and t not in tables}
    stamped.restamp(con, RECORD_TABLE, stale, {"companion": ("varchar", sorted(tables))})


def find(con, model: str, keys: list[str], companions: set[str]) -> KeyHashes | None:
    """The companion of `model`'s uniqueness check over `keys` among `companions`, whatever its predicate columns
    (read from the table: its name digests them); None when there is none."""
    for table in sorted(c for c in companions if c.startswith(f"{PREFIX}{model}_")):
        columns = [d[0] for d in con.execute(f"select * from {table} limit 0").description if d[0] != HASH]
        kh = KeyHashes(model, tuple(keys), tuple(sorted(columns)))
        if kh.table == table:
            return kh
    return None


def duplicate_hashes(con, kh: KeyHashes, rows_where: str | None = None) -> int:
    """How many hashes of the keys of `kh.model`'s rows matching `rows_where` appear more than once in the
    companion (0: no recomputed key is duplicated); without `rows_where`, of all its rows (0: no key is)."""
    rows = kh.table
    if rows_where is not None:
        rows = (
            f"(select {HASH} from {kh.table} semi join "
            f"(select distinct hash({', '.join(kh.keys)}) as {HASH} from {kh.model} where {rows_where}) "
            f"using ({HASH}))"
        )
    return con.execute(
        f"select count(*) from (select {HASH} from {rows} group by {HASH} having count(*) > 1)"
    ).fetchone()[0]
