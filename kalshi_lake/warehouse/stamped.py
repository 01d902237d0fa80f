"""Tables a build keeps for the next one (key-hash companions, `key_hashes.py`; carry tables, `carries.py`), each
kind listed in a registry whose rows carry the `built_at` of the build that wrote them.

A kept table is trusted only when its registry row carries the `built_at` that `_kalshi_build` records for the last
build: any other writer since (an older kalshi-lake that knows nothing of these tables, a build that failed before
recording) may have changed what the table mirrors. A build rewrites each registry with what it keeps, stamped
`now()` (the build transaction's start, the `built_at` it records too), and drops the rest, in its own transaction."""

from __future__ import annotations

from .incremental import BUILD_TABLE


def last_build_rows(con, registry: str, existing: set[str], columns: str) -> list[tuple]:
    """`columns` (over `r`, the registry) of the rows of `registry` the last recorded build wrote; none when either
    table is missing from `existing` (the main schema's tables; asked, not tried: a failed statement would abort
    the build's transaction)."""
    if not {registry, BUILD_TABLE} <= existing:
        return []
    return con.execute(
        f"select {columns} from {registry} as r join {BUILD_TABLE} as b on r.built_at = b.built_at"
    ).fetchall()


def restamp(con, registry: str, drop: set[str], columns: dict[str, tuple[str, list]]) -> None:
    """Drop the tables `drop` and rewrite `registry` from `columns` (name -> (DuckDB type, one value per kept
    table)), stamped with this build's `built_at`."""
    for table in sorted(drop):
        con.execute(f"drop table if exists {table}")
    select = ", ".join(f"unnest(?::{kind}[]) as {name}" for name, (kind, _) in columns.items())
    con.execute(
        f"create or replace table {registry} as select {select}, now() as built_at",
        [values for _, values in columns.values()],
    )
